"""The bounded memo: it holds keys up to a number of characters, forgets the least recently used first (a lookup
counts as a use), and remembers a value that is empty."""

from __future__ import annotations

import random
from collections import OrderedDict

from slmscout.traces.memo import BoundedMemo


def test_keys_are_bounded_by_their_characters() -> None:
    """Past ``max_chars`` characters of keys, the oldest entries go; values' sizes do not count."""
    memo: BoundedMemo[str] = BoundedMemo(12)
    for key in ["aaaa", "bbbb", "cccc"]:
        memo.put(key, "v" * 1000)
    assert len(memo) == 3 and memo._chars == 12
    memo.put("dddd", "v")
    assert len(memo) == 3 and memo._chars == 12
    assert memo.get("aaaa") is None
    assert [memo.get(k) for k in ["bbbb", "cccc", "dddd"]] == ["v" * 1000, "v" * 1000, "v"]
    memo.put("f" * 10, "long")  # 10 characters: with any 4-character key beside it, 14 > 12, so it stays alone
    assert len(memo) == 1 and memo.get("f" * 10) == "long" and memo._chars == 10


def test_a_key_longer_than_the_bound_is_kept_alone() -> None:
    """A key over the bound by itself is still remembered (the memo never empties itself on a put)."""
    memo: BoundedMemo[int] = BoundedMemo(5)
    memo.put("ab", 1)
    memo.put("x" * 50, 2)
    assert len(memo) == 1 and memo.get("x" * 50) == 2 and memo.get("ab") is None


def test_a_lookup_makes_an_entry_recent() -> None:
    """The entry looked up last is kept; the one least recently used (put or got) goes first."""
    memo: BoundedMemo[int] = BoundedMemo(12)
    memo.put("aaaa", 1)
    memo.put("bbbb", 2)
    memo.put("cccc", 3)
    assert memo.get("aaaa") == 1  # a is now the most recent; b is the least
    memo.put("dddd", 4)
    assert memo.get("bbbb") is None
    assert [memo.get(k) for k in ["aaaa", "cccc", "dddd"]] == [1, 3, 4]
    memo.put("cccc", 30)  # putting again refreshes too, and replaces the value
    memo.put("eeee", 5)  # order now: a, d, c, e -> a goes
    assert memo.get("aaaa") is None
    assert [memo.get(k) for k in ["dddd", "cccc", "eeee"]] == [4, 30, 5]
    assert memo._chars == 12


def test_an_empty_value_is_remembered_and_refreshed() -> None:
    """An empty list (a text with nothing found in it) is a value like any other: it is found, and finding it makes
    it recent, so it is not evicted before entries used less recently."""
    memo: BoundedMemo[list[str]] = BoundedMemo(8)
    memo.put("aaaa", [])
    memo.put("bbbb", ["x"])
    found = memo.get("aaaa")
    assert found == [] and found is not None
    memo.put("cccc", ["y"])  # over the bound: b, used least recently, goes; the empty value stays
    assert memo.get("aaaa") == []
    assert memo.get("bbbb") is None
    assert memo.get("cccc") == ["y"]


def test_memo_matches_a_reference_lru() -> None:
    """Random puts and gets against a plain least-recently-used reference bounded the same way."""
    rnd = random.Random(0)
    keys = ["k" * n + str(n) for n in range(1, 30)]
    for bound in (1, 10, 40, 200):
        memo: BoundedMemo[list[int]] = BoundedMemo(bound)
        reference: OrderedDict[str, list[int]] = OrderedDict()
        for step in range(3000):
            key = rnd.choice(keys)
            if rnd.random() < 0.5:
                value = [] if rnd.random() < 0.3 else [step]
                memo.put(key, value)
                reference[key] = value
                reference.move_to_end(key)
                while sum(map(len, reference)) > bound and len(reference) > 1:
                    reference.popitem(last=False)
            else:
                expected = reference.get(key)
                if expected is not None:
                    reference.move_to_end(key)
                assert memo.get(key) == expected
            assert len(memo) == len(reference)
            assert memo._chars == sum(map(len, reference)) <= max(bound, max(map(len, reference), default=0))
