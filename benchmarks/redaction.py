"""Redaction benchmark: recall and look-alikes on the constructed corpus, throughput on real prompts, and what each
detector and library earns.

    python benchmarks/redaction.py                 # everything
    python benchmarks/redaction.py --repeat 5      # best of 5 timings
    python benchmarks/redaction.py --skip-ablations

1. Corpus (tests/redaction/corpus.jsonl): recall (planted values no longer in the output) and the share of
   look-alikes redacted, overall and per kind, for slmscout's default ``Redactor``.
2. Throughput on the distinct message texts of the real corpora (../shared/data/real/*/calls.jsonl, read with
   slmscout's reader): MB/s of UTF-8 text through a fresh ``Redactor``, best of ``--repeat`` runs (texts are
   distinct, but their paragraphs repeat, and the redactor scans each distinct paragraph once); the same on the
   distinct paragraphs alone (the scan speed with nothing to skip); then the seconds each detector spends on the
   texts, and what it finds there (a finding in real agent prompts is either real PII left in a public test
   fixture or a false positive: the counts say where to look).
3. Ablations: the default set without one detector at a time, and two alternatives to the libraries: a plain
   regex phone detector instead of libphonenumber, and detect-secrets' KeywordDetector instead of the hand-written
   keyword rule. Recall, look-alike rate and MB/s for each, so every library is measured against going without.

A report, not a test: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from detect_secrets.plugins.keyword import KeywordDetector  # noqa: E402

from slmscout.traces import ReadSummary, read_traces  # noqa: E402
from slmscout.traces.redaction import Redactor  # noqa: E402
from slmscout.traces.redaction_patterns import (  # noqa: E402
    Detector,
    Finding,
    PhoneNumbers,
    Scan,
    default_detectors,
)
from tests.redaction.make_corpus import load, score  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "real"


def real_texts(data: Path) -> list[str]:
    """The distinct message texts of every corpus under ``data``, in a fixed order."""
    texts: set[str] = set()
    for calls in sorted(data.glob("*/calls.jsonl")):
        for call in read_traces([calls], ReadSummary(), None):
            texts.update(message.content for message in call.messages)
    if not texts:
        raise SystemExit(f"no calls.jsonl under {data}")
    return sorted(texts)


def throughput(texts: Sequence[str], make: Callable[[], Redactor], repeat: int) -> float:
    """MB/s of UTF-8 text through a fresh redactor, best of ``repeat`` runs."""
    size = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    best = float("inf")
    for _ in range(repeat):
        redactor = make()
        start = time.perf_counter()
        for text in texts:
            redactor.text(text)
        best = min(best, time.perf_counter() - start)
    return size / best


class RegexPhones:
    """The alternative to libphonenumber: a plain pattern for North American and ``+``-international numbers."""

    name = "regex phones"
    _pattern = re.compile(
        r"(?<![\w+.])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,5}){1,4}"
        r"|(?:\(\d{3}\)[ ]?|\d{3}[.-])\d{3}[.-]\d{4})(?![\w.])"
    )

    def find(self, scan: Scan) -> list[Finding]:
        found = []
        for match in self._pattern.finditer(scan.text):
            digits = re.sub(r"\D", "", match.group())
            if 7 <= len(digits) <= 15:
                found.append(Finding(match.start(), match.end(), "phone", digits))
        return found


class DetectSecretsKeywords:
    """The alternative to the hand-written keyword rule: detect-secrets' KeywordDetector, line by line, with the
    regexes it uses for quoted (code) and unquoted (config) files; each value it reports is replaced on its line."""

    name = "detect-secrets keyword"

    def __init__(self) -> None:
        from detect_secrets.plugins.keyword import (
            CONFIG_DENYLIST_REGEX_TO_GROUP,
            QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
        )

        self._detector = KeywordDetector()
        self._groups = (QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP, CONFIG_DENYLIST_REGEX_TO_GROUP)

    def find(self, scan: Scan) -> list[Finding]:
        found = []
        offset = 0
        for line in scan.text.split("\n"):
            for groups in self._groups:
                for value in self._detector.analyze_string(line, denylist_regex_to_group=groups):
                    at = line.find(value) if value else -1
                    if at >= 0:
                        found.append(Finding(offset + at, offset + at + len(value), "secret", value))
            offset += len(line) + 1
        return found


def detector_costs(texts: Sequence[str]) -> list[str]:
    """Seconds per detector over the real texts (text preparation shared), and what each finds there."""
    scans = [Scan(text) for text in texts]
    start = time.perf_counter()
    for scan in scans:
        _ = scan.lower, scan.numeric_runs
    lines = [f"  {'shared prep (lowercase, digit runs)':38s} {time.perf_counter() - start:6.3f} s"]
    for detector in default_detectors():
        found: Counter[str] = Counter()
        start = time.perf_counter()
        for scan in scans:
            found.update(f.kind for f in detector.find(scan))
        seconds = time.perf_counter() - start
        lines.append(f"  {detector.name:38s} {seconds:6.3f} s   finds {dict(found) or 'nothing'}")
    return lines


def variants() -> list[tuple[str, Callable[[], list[Detector]]]]:
    def without(name: str) -> Callable[[], list[Detector]]:
        return lambda: [d for d in default_detectors() if d.name != name]

    def replaced(name: str, other: Callable[[], Detector]) -> Callable[[], list[Detector]]:
        return lambda: [other() if d.name == name else d for d in default_detectors()]

    names = [d.name for d in default_detectors()]
    return [
        ("default", default_detectors),
        *((f"without {name}", without(name)) for name in names),
        ("regex phones instead of libphonenumber", replaced(PhoneNumbers.name, RegexPhones)),
        ("detect-secrets KeywordDetector instead of the keyword rule", replaced("secret", DetectSecretsKeywords)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-ablations", action="store_true")
    args = parser.parse_args()

    records = load()
    result = score(records, Redactor().text)
    print("== Corpus: tests/redaction/corpus.jsonl")
    print(f"{len(records)} records")
    print(*result.lines(), sep="\n")
    for example in result.examples[:15]:
        print("  ", example)

    texts = real_texts(args.data)
    size = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"\n== Throughput: {len(texts)} distinct message texts, {size:.2f} MB, from {args.data}")
    speed = throughput(texts, Redactor, args.repeat)
    print(f"{speed:.1f} MB/s (best of {args.repeat}, fresh Redactor each run, target >= 20 MB/s)")
    paragraphs = sorted({p for text in texts for p in text.split("\n\n")})
    raw = throughput(paragraphs, Redactor, args.repeat)
    raw_size = sum(len(p.encode("utf-8")) for p in paragraphs) / 1e6
    print(f"{raw:.1f} MB/s on their {len(paragraphs)} distinct paragraphs ({raw_size:.2f} MB): the scan itself,")
    print("  with no repeated paragraph to skip (a long text is scanned paragraph by paragraph, each once)")
    redactor = Redactor()
    for text in texts:
        redactor.text(text)
    print(f"distinct values replaced in the real texts: {redactor.counts or 'none'}")
    print("per detector:")
    print(*detector_costs(texts), sep="\n")

    if not args.skip_ablations:
        print("\n== Ablations (corpus recall / look-alikes redacted / MB/s on the real texts)")
        print(f"  {'variant':58s} {'recall':>7s} {'look-alk':>8s} {'MB/s':>6s}")
        for label, make in variants():
            variant = score(records, Redactor(make()).text)
            mbs = throughput(texts, lambda make=make: Redactor(make()), args.repeat)  # type: ignore[misc]
            print(f"  {label:58s} {variant.recall:7.4f} {variant.lookalike_rate:8.4f} {mbs:6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
