"""Task signatures and template mining, pinned on small constructed prompts."""

from __future__ import annotations

import random
import re

import pytest

from slmscout.analyzers.pieces import _DIGIT, _MASKS, call_pieces, is_prose, mask, pieces
from slmscout.analyzers.signature import build_signatures
from slmscout.traces.record import Caller, LLMCall, Message, SourceRef, ToolDefinition


def call(call_id: str, *turns: tuple[str, str], **fields: object) -> LLMCall:
    return LLMCall(
        call_id=call_id,
        source=SourceRef("mem.jsonl", call_id, "chat-messages"),
        messages=tuple(Message(role, text) for role, text in turns),
        **fields,  # type: ignore[arg-type]
    )


def test_mask_replaces_variable_tokens() -> None:
    line = "Read /home/ann/proj/main.py at 2024-05-01 (id 3f2a9c1d7e8b) from https://x.io/a?b=1 User 42"
    assert mask(line) == "read <path> at <n> - <n> - <n> (id <id> ) from <url> user <n>"
    assert mask("Edit utils.py then report.md") == "edit <file> then <file>"
    assert mask("ID 123e4567-e89b-12d3-a456-426614174000 ok") == "id <id> ok"
    assert mask("Evaluate if numbers reach 24 (sure/likely/impossible)") == (
        "evaluate if numbers reach <n> (sure/likely/impossible)"  # a slashed word list is not a path
    )


_FRAGMENTS = (
    "http://a.b/c", "HTTPS://X.Y", "WwW.example.org", "www.", "wWw.q", "file.py", "a.PY", "x.json", "main.c", ".h",
    "report.pdf,", "data:image/png;base64,iVBOR", "deadbeef12", "123e4567-e89b-12d3-a456-426614174000", "/usr/lib/x",
    "~/a/b", "../a/b/c", "3.14", "1,000", "A" * 45, "ab+/=_-" * 7, " ", "word", ".", ":", "-", "/", "\u0130", "\u017f",
    "\u212a", "\xe9", "\t", "\n",
)  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_mask_tests_never_turn_away_a_piece_their_pattern_matches(seed: int) -> None:
    """Each mask's test only saves running its pattern: wherever the pattern would match, the test lets it run."""
    rnd = random.Random(seed)
    for _ in range(20_000):
        piece = "".join(rnd.choice(_FRAGMENTS) for _ in range(rnd.randrange(1, 12)))
        digit = _DIGIT.search(piece) is not None
        for pattern, _replacement, may_match in _MASKS:
            if pattern.search(piece):
                assert may_match(piece, digit), (pattern.pattern, piece)


def test_prose_is_told_from_code_and_data() -> None:
    assert is_prose("Review the code and list the bugs.")
    assert not is_prose("x = compute(a, b) + 1")
    assert not is_prose("10 + 14 = 24")
    assert not is_prose("Hello")


_PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*[.,:;!?)]*")
_PROSE_CHARS = (
    "aZ'\u2019-.,:;!?)(x1_\xe9 \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2003\u2028\u2029\u202f\u3000\u200b"
)


@pytest.mark.parametrize("seed", range(3))
def test_prose_and_white_space_follow_their_token_by_token_definitions(seed: int) -> None:
    """``is_prose`` counts plain words in one regex pass and ``mask`` folds white space with ``str.split``: both
    agree with the definitions they stand for (tokens are what ``str.split`` cuts; a word is a whole token), on
    every kind of white space ``str.split`` knows, and on one it does not (U+200B)."""
    rnd = random.Random(seed)
    for _ in range(20_000):
        piece = "".join(rnd.choice(_PROSE_CHARS) for _ in range(rnd.randrange(0, 24)))
        tokens = piece.split()
        words = sum(1 for token in tokens if _PLAIN_WORD.fullmatch(token))
        assert is_prose(piece) == (words >= 2 and words >= 0.6 * len(tokens)), repr(piece)
        if not _DIGIT.search(piece) and len(piece) < 40 and "/" not in piece and "." not in piece:
            assert mask(piece) == re.sub(r"\s+", " ", piece).strip().lower(), repr(piece)


def test_pieces_drop_code_blocks_and_split_labelled_lines() -> None:
    text = (
        "You are a reviewer.\n"
        "Current task: Find the cheapest flight to Paris\n"
        "```python\nprint('this is code, not template')\nfor i in range(3): pass\n```\n"
        "Answer in JSON with the keys price and airline."
    )
    assert pieces(text) == [
        "you are a reviewer.",
        "current task:",
        "find the cheapest flight to paris",
        "answer in json with the keys price and airline.",
    ]


def test_long_flattened_line_is_cut_into_sentences() -> None:
    sentence = "Write the summary in three short paragraphs for a busy reader."
    long_line = " ".join([sentence, "Keep every figure exact and cite the source file.", "Do not invent facts."] * 3)
    assert len(long_line) > 200
    assert pieces(long_line)[:3] == [
        "write the summary in three short paragraphs for a busy reader.",
        "keep every figure exact and cite the source file.",
        "do not invent facts.",
    ]


def test_json_escaped_prompt_is_unescaped() -> None:
    escaped = 'Plan the task step by step.\\nUse the tools listed below.\\nReply with \\"done\\" at the end.\\n'
    assert pieces(escaped) == [
        "plan the task step by step.",
        "use the tools listed below.",
        'reply with "done" at the end.',
    ]


def test_tools_and_caller_are_part_of_the_signature() -> None:
    made = call(
        "a",
        ("user", "Route the ticket to a queue."),
        tools=(ToolDefinition("route"), ToolDefinition("escalate")),
        caller=Caller(agent="Alice", role="Support Agent", module="RouteTicket"),
    )
    assert call_pieces(made) == (
        "route the ticket to a queue.",
        "tool: escalate",
        "tool: route",
        "caller module: routeticket",
        "caller role: support agent",
    )


def test_recurring_pieces_are_template_and_the_rest_is_content() -> None:
    calls = [
        call(f"t{i}", ("system", "You translate documents into French."), ("user", f"Text: {text}"))
        for i, text in enumerate(["the cat sleeps on the mat", "our sales grew a lot", "please call me back soon"])
    ]
    signatures, index = build_signatures(calls)
    assert [s.pieces for s in signatures] == [("you translate documents into french.", "text:")] * 3
    assert not index.is_template("the cat sleeps on the mat")  # content: in one prompt only
    assert index.distinct_prompts == 3


def test_a_replayed_call_does_not_turn_its_content_into_template() -> None:
    replayed = [call(f"r{i}", ("user", "Summarise the quarterly report of the bakery chain.")) for i in range(5)]
    other = call("o", ("user", "Summarise the quarterly report of the bakery chain."), ("user", "Be brief and kind."))
    signatures, index = build_signatures([*replayed, other])
    assert index.distinct_prompts == 2  # five identical prompts count once
    assert index.prompt_counts["summarise the quarterly report of the bakery chain."] == 2
    assert signatures[0].pieces == ("summarise the quarterly report of the bakery chain.",)
    assert signatures[-1].pieces == ("summarise the quarterly report of the bakery chain.",)  # "be brief" is once
    alone, _ = build_signatures(replayed)
    assert alone[0].is_empty  # replays alone show no template: nothing recurs across distinct prompts


def test_numbers_ids_and_paths_do_not_split_a_template() -> None:
    calls = [
        call("a", ("user", "Open /srv/app/run_17.log and count the 404 errors since 2024-03-01.")),
        call("b", ("user", "Open /var/log/web/x.log and count the 500 errors since 2025-11-30.")),
    ]
    signatures, _ = build_signatures(calls)
    assert (
        signatures[0].pieces
        == signatures[1].pieces
        == ("open <path> and count the <n> errors since <n> - <n> - <n> .",)
    )
