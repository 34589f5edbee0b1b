"""Naming at scale gives exactly what the simple implementation gave.

The reference below is a verbatim copy of ``slmscout/analyzers/naming.py`` as it was before naming was made to
tokenise each distinct template piece once (instead of every distinct signature text) and to count pieces per
cluster through sparse matrices. The new functions are compared with it on the three real corpora (clustered by
their ground-truth labels, with the untemplated calls of a label as a cluster of their own, named from prompt text)
and on a synthetic set of tens of thousands of signatures recombined from real pieces, which is also timed.

Set ``SLMSCOUT_NAMING_SCALE=full`` for the 100k-call size (44,000 signatures, 4,100 clusters); run with ``-s`` to
see the timings.
"""

from __future__ import annotations

import csv
import math
import os
import random
import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfTransformer

from slmscout.analyzers import naming
from slmscout.analyzers.naming import ClusterLabel, distinctive_piece, distinctive_terms, label_clusters, skeleton
from slmscout.analyzers.signature import TaskSignature, TemplateIndex, build_signatures
from slmscout.traces.ingest import ReadSummary, read_traces

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
CORPORA = sorted(p.parent.name for p in REAL.glob("*/calls.jsonl"))
FALLBACK_CHARS = 400  # as the pipeline cuts the prompt text that names untemplated clusters

# ---------------------------------------------------------------------------------------------------------------
# Reference: naming.py before the change, verbatim (renamed with a leading _ref_).

SKELETON_SHARE = 0.8
SKELETON_PIECES = 12
NAME_CHARS = 60
TERMS = 3
_TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z_-]{2,}\b"
_PLACEHOLDERS = {"blob", "url", "id", "path", "file"}
_WORDS = re.compile(r"[a-z]{2,}")
NAME_WORDS = 6


def _ref_skeleton(signatures: Sequence[TaskSignature], share: float = SKELETON_SHARE) -> tuple[str, ...]:
    counts: Counter[str] = Counter()
    order: dict[str, int] = {}
    for signature, calls in Counter(signatures).items():
        for position, piece in enumerate(signature.pieces):
            counts[piece] += calls
            order.setdefault(piece, position)
    needed = max(1, math.ceil(share * len(signatures)))
    shared = [piece for piece, count in counts.items() if count >= needed]
    return tuple(sorted(shared, key=lambda piece: (order[piece], piece))[:SKELETON_PIECES])


def _ref_distinctive_piece(signatures: Sequence[TaskSignature], index: TemplateIndex) -> str:
    counts: Counter[str] = Counter()
    for signature, calls in Counter(signatures).items():
        for piece in set(signature.pieces):
            counts[piece] += calls
    if not counts:
        return ""

    def score(piece: str) -> float:
        rarity = math.log((1 + index.distinct_prompts) / (1 + index.prompt_counts[piece]))
        wordiness = min(1.0, len(_WORDS.findall(piece)) / NAME_WORDS)
        return counts[piece] / len(signatures) * (rarity + 1e-3) * wordiness

    return min(counts, key=lambda piece: (-score(piece), piece))


def _ref_distinctive_terms(
    cluster_texts: Sequence[str | Counter[str]], per_cluster: int = TERMS
) -> list[tuple[str, ...]]:
    if not cluster_texts:
        return []
    groups = [Counter({text: 1}) if isinstance(text, str) else text for text in cluster_texts]
    documents: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    counts: list[int] = []
    for row, group in enumerate(groups):
        for text, repeats in group.items():
            rows.append(row)
            cols.append(documents.setdefault(text, len(documents)))
            counts.append(repeats)
    vectorizer = CountVectorizer(token_pattern=_TOKEN, stop_words=sorted(ENGLISH_STOP_WORDS | _PLACEHOLDERS))
    try:
        per_document = vectorizer.fit_transform(list(documents))
    except ValueError:  # no term in any text
        return [() for _ in cluster_texts]
    membership = csr_matrix((counts, (rows, cols)), shape=(len(groups), len(documents)), dtype=np.float64)
    matrix = csr_matrix(TfidfTransformer(sublinear_tf=True).fit_transform(membership @ per_document))
    vocabulary = np.asarray(vectorizer.get_feature_names_out())
    terms = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        scores = dict(zip(matrix.indices[start:end].tolist(), matrix.data[start:end].tolist(), strict=True))
        order = sorted((i for i, v in scores.items() if v), key=lambda i: (-scores[i], vocabulary[i]))
        terms.append(tuple(str(vocabulary[i]) for i in order[:per_cluster]))
    return terms


def _ref_shorten(text: str, limit: int = NAME_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _ref_label_clusters(
    members: Sequence[Sequence[TaskSignature]], index: TemplateIndex, fallback_texts: Sequence[str]
) -> list[ClusterLabel]:
    texts: list[str | Counter[str]] = [
        Counter(s.text for s in sigs if s.pieces) if any(s.pieces for s in sigs) else fallback
        for sigs, fallback in zip(members, fallback_texts, strict=True)
    ]
    all_terms = _ref_distinctive_terms(texts)
    labels = []
    for sigs, terms in zip(members, all_terms, strict=True):
        headline = _ref_distinctive_piece(sigs, index)
        if headline:
            name = _ref_shorten(headline)
        elif terms:
            name = "(no template) " + " / ".join(terms)
        else:
            name = "(no template)"
        labels.append(ClusterLabel(name=name, headline=headline, terms=terms, skeleton=_ref_skeleton(sigs)))
    return labels


# ---------------------------------------------------------------------------------------------------------------
# Cases.

Case = tuple[list[list[TaskSignature]], TemplateIndex, list[str]]


def _real_case(corpus: str) -> Case:
    """A real corpus clustered by its labels; each label's untemplated calls are a cluster named by prompt text."""
    calls = list(read_traces([REAL / corpus / "calls.jsonl"], ReadSummary()))
    signatures, index = build_signatures(calls)
    with (REAL / corpus / "labels.csv").open(encoding="utf-8") as handle:
        label_of = {row["id"]: row["label"] for row in csv.DictReader(handle)}
    groups: dict[tuple[str, bool], list[int]] = {}
    for i, call in enumerate(calls):
        groups.setdefault((label_of.get(call.call_id, "?"), signatures[i].is_empty), []).append(i)
    members, fallbacks = [], []
    for (_, untemplated), idx in sorted(groups.items()):
        members.append([signatures[i] for i in idx])
        fallbacks.append("\n".join(calls[i].prompt_text[:FALLBACK_CHARS] for i in idx) if untemplated else "")
    # a cluster mixing templated and untemplated calls, a cluster of one call, and one with no template piece
    members += [[signatures[i] for i in groups[min(groups)]] + [TaskSignature(())], [signatures[0]]]
    fallbacks += ["", ""]
    members.append([TaskSignature(())] * 3)
    fallbacks.append("\n".join(call.prompt_text[:FALLBACK_CHARS] for call in calls[-3:]))
    return members, index, fallbacks


def _synthetic_case(clusters: int, signatures: int, calls: int, seed: int = 0) -> Case:
    """Signatures recombined from real pieces and made-up sentences: a few common pieces shared by many clusters,
    a template per cluster whose signatures drop some of its pieces and add some of a shared pool; calls share
    signature objects (as mined signatures do) and sometimes carry equal copies (as build_signatures gives)."""
    rnd = random.Random(seed)
    real: set[str] = set()
    for corpus in CORPORA:
        found, _ = build_signatures(list(read_traces([REAL / corpus / "calls.jsonl"], ReadSummary())))
        real.update(p for s in set(found) for p in s.pieces)
    pool = sorted(real)
    words = sorted({w for p in pool for w in p.split() if w.isalpha()})
    words += ["<n>", "<path>", "<url>", "<file>", "re-run", "snake_case", "x-ray", "-flag", "__init__", "ok"]
    while len(pool) < 6 * clusters:
        pool.append(" ".join(rnd.choice(words) for _ in range(rnd.randint(1, 14))) + rnd.choice(["", ".", ":"]))
    common = pool[:40]
    members: list[list[TaskSignature]] = []
    fallbacks: list[str] = []
    per_cluster = round(2 * signatures / (clusters - clusters // 37))
    share = calls / signatures
    for c in range(clusters):
        if c % 37 == 5:  # no template piece at all: named from its prompt text
            members.append([TaskSignature(())] * rnd.randint(1, 6))
            fallbacks.append("\n".join(" ".join(rnd.choices(words, k=30)) for _ in range(3)))
            continue
        template = rnd.sample(common, rnd.randint(0, 4)) + rnd.sample(pool, rnd.randint(3, 60))
        extras = rnd.sample(pool, 20)
        distinct: set[tuple[str, ...]] = set()
        wanted = rnd.randint(1, per_cluster - 1)
        for _ in range(5 * wanted):
            if len(distinct) == wanted:
                break
            kept = [p for p in template if rnd.random() < 0.9]
            for _ in range(rnd.randint(0, 4)):
                kept.insert(rnd.randint(0, len(kept)), rnd.choice(extras))
            distinct.add(tuple(dict.fromkeys(kept)))
        shared = [TaskSignature(p) for p in sorted(distinct)]
        cluster = list(shared)
        cluster += [rnd.choice(shared) for _ in range(int(len(shared) * (share - 1.2) * 2 * rnd.random()))]
        cluster += [TaskSignature(rnd.choice(shared).pieces, "copy") for _ in range(len(shared) // 5)]
        if c % 53 == 7:
            cluster.append(TaskSignature(()))
        rnd.shuffle(cluster)
        members.append(cluster)
        fallbacks.append("")
    prompts: Counter[str] = Counter()
    for cluster in members:
        for signature in cluster:
            prompts.update(signature.pieces)
    return members, TemplateIndex(prompts, sum(map(len, members))), fallbacks


@pytest.fixture(scope="module", params=CORPORA)
def real_case(request: pytest.FixtureRequest) -> Case:
    return _real_case(request.param)


needs_real = pytest.mark.skipif(not CORPORA, reason="../shared/data/real is not beside the project")


# ---------------------------------------------------------------------------------------------------------------
# The claim the new counting rests on.


def _analyzer() -> CountVectorizer:
    return CountVectorizer(token_pattern=_TOKEN, stop_words=sorted(ENGLISH_STOP_WORDS | _PLACEHOLDERS))


def test_terms_of_joined_lines_are_the_terms_of_each_line() -> None:
    """No term crosses a newline: ``\\n`` is no token character, and it is a non-word character to ``\\b`` as the
    ends of a string are; lower-casing is per character but for a final sigma, which a newline ends as the end of a
    string does; stop words are dropped token by token."""
    analyze = _analyzer().build_analyzer()
    rnd = random.Random(1)
    alphabet = ["\n", " ", "-", "_", "--", "ab", "Abc", "WORD", "the", "and", "x1", "é", "Σ", "ΑΣ", "\u212a", "İ"]
    alphabet += ["<n>", "<path>", "file", "re-run", "snake_case", "'s", ".", "\t", "\r", "日本", "ß", "ǅ"]
    for _ in range(20000):
        lines = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12))) for _ in range(rnd.randint(1, 5))]
        assert analyze("\n".join(lines)) == [t for line in lines for t in analyze(line)], lines


@needs_real
def test_real_pieces_tokenise_alike_alone_and_joined(real_case: Case) -> None:
    analyze = _analyzer().build_analyzer()
    members, _, _ = real_case
    for signature in {s for cluster in members for s in cluster}:
        assert analyze(signature.text) == [t for p in signature.pieces for t in analyze(p)]


# ---------------------------------------------------------------------------------------------------------------
# Equality with the reference.


def _assert_same(members: list[list[TaskSignature]], index: TemplateIndex, fallbacks: list[str]) -> list[ClusterLabel]:
    labels = label_clusters(members, index, fallbacks)
    assert labels == _ref_label_clusters(members, index, fallbacks)
    return labels


@needs_real
def test_real_corpora_are_named_as_before(real_case: Case) -> None:
    members, index, fallbacks = real_case
    labels = _assert_same(members, index, fallbacks)
    assert any(label.terms for label in labels) and any(label.skeleton for label in labels)
    assert any(label.name.startswith("(no template)") for label in labels)  # the fallback path is exercised
    for sigs in members:
        for share in (0.0, 0.3, 0.8, 1.0):
            assert skeleton(sigs, share) == _ref_skeleton(sigs, share)
        assert distinctive_piece(sigs, index) == _ref_distinctive_piece(sigs, index)
    texts: list[str | Counter[str]] = [Counter(s.text for s in sigs if s.pieces) for sigs in members]
    texts += fallbacks
    for per_cluster in (-1, 0, 1, 3, 10, 10**6):
        assert distinctive_terms(texts, per_cluster) == _ref_distinctive_terms(texts, per_cluster)


@needs_real
def test_real_corpora_reordered_and_merged_are_named_as_before(real_case: Case) -> None:
    members, index, fallbacks = real_case
    rnd = random.Random(2)
    shuffled = [rnd.sample(sigs, len(sigs)) for sigs in members]
    _assert_same(shuffled, index, fallbacks)
    merged = [[s for sigs in members[i : i + 3] for s in sigs] for i in range(0, len(members), 3)]
    _assert_same(merged, index, [""] * len(merged))


def test_edge_cases_are_named_as_before() -> None:
    index = TemplateIndex(Counter({"write the parser code": 3, "review it": 1}), 5)
    cases: list[Case] = [
        ([], index, []),
        ([[TaskSignature(())]], index, [""]),  # nothing at all
        ([[TaskSignature(())]], index, ["the and of"]),  # stop words only
        ([[TaskSignature(("ok", "<n>"))], [TaskSignature(())]], index, ["", "plan a trip"]),
        ([[TaskSignature(("write the parser code", "write the parser code", "review it"))] * 3], index, [""]),
        ([[TaskSignature(("a\nb-c parser", "tool: search"))], [TaskSignature(("plan the parser",))]], index, ["", ""]),
    ]
    for members, idx, fallbacks in cases:
        _assert_same(members, idx, fallbacks)
    assert distinctive_terms([]) == _ref_distinctive_terms([]) == []
    groups: list[str | Counter[str]] = [Counter({"write the code\nfor a parser": 3, "review the parser": 1}), "plan"]
    assert distinctive_terms(groups) == _ref_distinctive_terms(groups)


def test_synthetic_signatures_are_named_as_before_and_faster() -> None:
    if not CORPORA:
        pytest.skip("../shared/data/real is not beside the project")
    full = os.environ.get("SLMSCOUT_NAMING_SCALE") == "full"
    clusters, signatures, calls = (4100, 44000, 100000) if full else (1000, 11000, 25000)
    members, index, fallbacks = _synthetic_case(clusters, signatures, calls)
    distinct = len({s for sigs in members for s in sigs})
    pieces = len({p for sigs in members for s in sigs for p in s.pieces})
    started = time.perf_counter()
    reference = _ref_label_clusters(members, index, fallbacks)
    old = time.perf_counter() - started
    started = time.perf_counter()
    labels = label_clusters(members, index, fallbacks)
    new = time.perf_counter() - started
    print(
        f"\nnaming {len(members)} clusters, {sum(map(len, members))} calls, {distinct} distinct signatures, "
        f"{pieces} distinct pieces: before {old:.2f} s, now {new:.2f} s ({old / new:.1f}x)"
    )
    assert labels == reference
    assert new < old
    assert naming.TERMS == TERMS and naming.SKELETON_SHARE == SKELETON_SHARE  # the reference's constants still hold
