"""Large labelled benchmark corpora, recombined from the real calls in ../shared/data/real.

    python benchmarks/generate_corpus.py --calls 100000 --out DIR [--seed 0] [--data FOLDER] [--corpus NAME ...]

Writes DIR/calls.jsonl (the chat "messages" layout of the source, ids ``gen-<corpus>-<n>``), DIR/labels.csv
(``id,label,corpus``, the label prefixed with its corpus so that labels never collide across corpora) and
DIR/generation.json (seed, sizes, duplicate share, seconds).

How a call is made:

1. The source calls are grouped by (corpus, label, agent): the agent is labels.csv's ``agent_role`` when the corpus
   has one, so that one agent's system prompt is never paired with another agent's task; the agents of a label with
   fewer than ``MIN_AGENT_PROMPTS`` distinct prompts (test fixtures replayed many times) share one group.
2. Within a group, a line of a prompt turn found (stripped) in at least ``TEMPLATE_SHARE`` of the group's distinct
   prompts (and in two at least) is a *template* line. A prompt turn is thus a sequence of template lines and
   *variable blocks*: the runs of other lines between two template lines, blank lines included. Every variable
   block goes into a pool keyed by (role, turn index, the template line before it, how many blocks came since that
   line), and into a coarser pool keyed by (role, the template line before it).
3. A new call takes a base call of its group and keeps the base's template lines verbatim; each variable block is
   replaced by a block drawn from its pool (the coarser pool when the exact one only holds the base's own block),
   that is from another call of the group at the same role and position.
4. The drawn blocks are perturbed: numbers of two digits or more and hex ids get random values of the same shape,
   and in every line that only one distinct source prompt of the group holds (the content that was unique to one
   call: a task, a file, an observation), one word in ``WORDS_PER_SWAP`` (at least one; never the first
   ``KEPT_WORDS`` words, which often name the slot) is replaced by a word drawn from those lines of the group. Such
   lines stay unique at scale, as real content would, instead of recurring in thousands of calls; lines that recur
   in the source (an agent's role, a shared history) recur in the output too.
5. The answer (the assistant turn) is the answer of a random donor call of the group, its numbers and ids perturbed;
   a donor without an answer gives a call without one, so the share of unanswered calls follows the source.
6. Each group gets its share of the calls in proportion to its number of source calls (largest remainders, and at
   least one call per group when there are at least as many calls as groups), in a seeded random order.
7. A prompt equal to a source prompt or to one already written is drawn again, from another base of the same
   group, up to ``MAX_ATTEMPTS`` times. Groups with little variable content need more than recombination, so
   redraws escalate: from ``SPLICE_FROM`` on, each drawn block is spliced with a second draw of its pool at a line
   (a word for one-line blocks) and single digits are perturbed too; from ``LOOSE_FROM`` on, only lines found in
   every prompt of the group are template, and one line of each spliced block is also spliced at a word. What is
   still a duplicate after the last draw is written and counted. generation.json reports the duplicates, the
   redraws and how many calls needed splicing.

Only the seed and the source decide the output. Calls are written as they are made: memory holds the source, one
64-bit hash per prompt written and the group order (a few bytes per call).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "real"

MIN_AGENT_PROMPTS = 5  # an agent of a label needs this many distinct prompts to be recombined on its own
TEMPLATE_SHARE = 0.3  # a line in at least this share of a group's prompts is template
MAX_ATTEMPTS = 8  # draws of a call whose prompt is a duplicate before it is written anyway
SPLICE_FROM = 2  # from this attempt on, drawn blocks are spliced with a second draw
LOOSE_FROM = 5  # from this attempt on, only lines found in every prompt of the group are template
REPLACEABLE_MAX_PROMPTS = 1  # lines found in at most this many distinct prompts of a group get words replaced
KEPT_WORDS = 2  # the first words of a line are never replaced (they often name the slot: "Current Task: ...")
WORDS_PER_SWAP = 8  # in a replaceable line, one word in this many is replaced (at least one)
WRITE_BUFFER = 1 << 20

# Perturbable tokens: hex ids (8+ hex characters with a digit and a letter) and numbers of two digits or more
# (single digits too in spliced redraws); replaceable words: three letters or more. The groups make re.split return
# the tokens between the literals.
_ID = r"\b(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"
_NUMBERS = re.compile(rf"({_ID}|\d{{2,}})")
_ALL_NUMBERS = re.compile(rf"({_ID}|\d+)")
_WORDS_AND_NUMBERS = re.compile(rf"({_ID}|\d{{2,}}|\b[A-Za-z]{{3,}}\b)")
_WITH_WORDS = {_NUMBERS: _WORDS_AND_NUMBERS, _ALL_NUMBERS: re.compile(rf"({_ID}|\d+|\b[A-Za-z]{{3,}}\b)")}

# A call's prompt, as written: (role, content) per turn.
Prompt = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SourceCall:
    corpus: str
    call_id: str
    label: str
    agent: str  # labels.csv's agent_role, "" when absent: calls of one label and agent share their templates
    model: str | None
    prompt: Prompt
    answer: str | None  # the last turn's text when the assistant spoke it; None when the call has no answer


@dataclass(frozen=True)
class Block:
    """A part of a prompt turn: template text kept as it is, or a variable block drawn from its pool."""

    text: str
    pool: tuple[str, str, int, int] | None = None  # (role, anchor, turn index, block index); None: template
    fallback: tuple[str, str] | None = None  # (role, anchor)


@dataclass(frozen=True)
class Variable:
    """A text ready to perturb: its pieces, which of them are numbers or ids, and which words may be replaced."""

    pieces: tuple[str, ...]
    numbers: tuple[int, ...] = ()  # positions in pieces
    words: tuple[tuple[int, ...], ...] = ()  # per line that only one source prompt holds: its replaceable words

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True)
class Layout:
    """A base call cut into blocks, one tuple of blocks per prompt turn."""

    model: str | None
    roles: tuple[str, ...]
    turns: tuple[tuple[Block, ...], ...]


@dataclass(frozen=True)
class Cut:
    """A group's calls cut at one template threshold: one layout per call, and the pools of variable blocks."""

    layouts: tuple[Layout, ...]
    pools: dict[Any, list[Variable]]


@dataclass(frozen=True)
class Group:
    corpus: str
    label: str
    agent: str
    cut: Cut  # template lines: in at least TEMPLATE_SHARE of the group's prompts
    loose_cut: Cut  # template lines: in every prompt of the group (more variable blocks, for redraws)
    answers: tuple[Variable | None, ...]  # one per source call of the group, None when it has no answer
    unique: frozenset[str]  # keys of the lines that only one distinct source prompt of the group holds
    vocabulary: tuple[str, ...]  # the words of those lines, lower-cased, as often as they occur

    @property
    def size(self) -> int:
        return len(self.answers)


@dataclass
class GenerationStats:
    calls: int
    seed: int
    labels: int
    groups: int  # (corpus, label, agent) recombination groups
    source_calls: int
    corpora: dict[str, int] = field(default_factory=dict)  # corpus -> calls generated
    duplicate_prompts: int = 0  # prompts equal to a source prompt or to an earlier generated one
    source_copies: int = 0  # of those, prompts equal to a source prompt
    redraws: int = 0  # draws thrown away because their prompt was a duplicate
    spliced: int = 0  # calls written from a redraw that spliced its blocks
    loose: int = 0  # of those, calls written from a redraw with the loose templates
    seconds: float = 0.0
    calls_bytes: int = 0
    generator_sha256: str = ""

    @property
    def duplicate_share(self) -> float:
        return self.duplicate_prompts / self.calls if self.calls else 0.0


# --------------------------------------------------------------------------------------------------- source


def text_of(content: Any) -> str:
    """A message content as text: a string, the text parts of a content-part list, or JSON of anything else."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return json.dumps(content, ensure_ascii=False)


def read_source_corpus(folder: Path) -> list[SourceCall]:
    """One corpus folder (calls.jsonl + labels.csv ``id,label,...``), in id order; every call must have a label."""
    with (folder / "labels.csv").open(encoding="utf-8", newline="") as handle:
        labels = {row["id"]: (row["label"], row.get("agent_role") or "") for row in csv.DictReader(handle)}
    calls = []
    with (folder / "calls.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            call_id = str(record["id"])
            if call_id not in labels:
                raise SystemExit(f"{folder.name}: call {call_id} has no row in labels.csv")
            turns = [(str(m.get("role", "")), text_of(m.get("content"))) for m in record.get("messages") or []]
            answer = None
            if turns and turns[-1][0] == "assistant":
                answer = turns.pop()[1]
            model = record.get("model")
            calls.append(
                SourceCall(
                    corpus=folder.name,
                    call_id=call_id,
                    label=labels[call_id][0],
                    agent=labels[call_id][1],
                    model=str(model) if model else None,
                    prompt=tuple(turns),
                    answer=answer,
                )
            )
    return sorted(calls, key=lambda c: c.call_id)


def read_source(data: Path, names: Sequence[str] = ()) -> list[SourceCall]:
    """Every corpus folder of ``data`` (or only ``names``), in name order."""
    folders = sorted(p for p in data.iterdir() if (p / "calls.jsonl").is_file() and (p / "labels.csv").is_file())
    if names:
        by_name = {p.name: p for p in folders}
        unknown = sorted(set(names) - set(by_name))
        if unknown:
            raise SystemExit(f"unknown corpus {', '.join(unknown)}; found: {', '.join(by_name) or 'none'} in {data}")
        folders = [by_name[n] for n in sorted(set(names))]
    if not folders:
        raise SystemExit(f"no corpus (a folder with calls.jsonl and labels.csv) in {data}")
    return [call for folder in folders for call in read_source_corpus(folder)]


# --------------------------------------------------------------------------------------------------- templates


def line_key(line: str) -> str:
    return line.strip()


def variable(text: str, unique: frozenset[str] = frozenset(), numbers: re.Pattern[str] = _NUMBERS) -> Variable:
    """``text`` cut at its numbers and ids, and, in its lines whose key is in ``unique``, at its words."""
    pieces: list[str] = []
    literal: list[str] = []
    positions: list[int] = []
    words: list[tuple[int, ...]] = []
    for n, line in enumerate(text.split("\n")):
        if n:
            literal.append("\n")
        slots: list[int] = []
        for i, part in enumerate((_WITH_WORDS[numbers] if line_key(line) in unique else numbers).split(line)):
            if i % 2 == 0:
                literal.append(part)
                continue
            if literal:
                pieces.append("".join(literal))
                literal.clear()
            (slots if part.isalpha() else positions).append(len(pieces))
            pieces.append(part)
        if len(slots) > KEPT_WORDS:
            words.append(tuple(slots[KEPT_WORDS:]))
    if literal or not pieces:
        pieces.append("".join(literal))
    return Variable(tuple(pieces), tuple(positions), tuple(words))


def line_counts(prompts: Sequence[Prompt]) -> Counter[str]:
    """In how many distinct prompts each non-blank line key occurs."""
    counts: Counter[str] = Counter()
    for prompt in set(prompts):
        counts.update({line_key(line) for _, content in prompt for line in content.split("\n")} - {""})
    return counts


def template_keys(counts: Counter[str], prompts: int, share: float) -> set[str]:
    """Line keys found in at least ``share`` of the ``prompts`` distinct prompts, and in two of them at least."""
    threshold = max(2, math.ceil(share * prompts))
    return {key for key, count in counts.items() if count >= threshold}


def cut_turn(role: str, turn: int, content: str, templates: set[str]) -> tuple[Block, ...]:
    """A prompt turn as template lines and variable blocks (blank lines stay inside the block around them)."""
    blocks: list[Block] = []
    run: list[str] = []
    anchor = ""
    since_anchor = 0

    def close_run() -> None:
        nonlocal since_anchor
        if not run:
            return
        text = "\n".join(run)
        if text.strip():
            blocks.append(Block(text, pool=(role, anchor, turn, since_anchor), fallback=(role, anchor)))
            since_anchor += 1
        else:
            blocks.append(Block(text))
        run.clear()

    for line in content.split("\n"):
        key = line_key(line)
        if key and key in templates:
            close_run()
            blocks.append(Block(line))
            anchor, since_anchor = key, 0
        else:
            run.append(line)
    close_run()
    return tuple(blocks)


def cut_group(calls: Sequence[SourceCall], templates: set[str], unique: frozenset[str]) -> Cut:
    pools: dict[Any, list[Variable]] = {}
    layouts = []
    for call in calls:
        turns = tuple(cut_turn(role, i, content, templates) for i, (role, content) in enumerate(call.prompt))
        for block in (b for blocks in turns for b in blocks if b.pool is not None):
            drawn = variable(block.text, unique)
            pools.setdefault(block.pool, []).append(drawn)
            pools.setdefault(block.fallback, []).append(drawn)
        layouts.append(Layout(model=call.model, roles=tuple(r for r, _ in call.prompt), turns=turns))
    return Cut(layouts=tuple(layouts), pools=pools)


def vocabulary(calls: Sequence[SourceCall], unique: frozenset[str]) -> tuple[str, ...]:
    canonical: dict[str, str] = {}
    words: list[str] = []
    for _, content in (turn for call in calls for turn in call.prompt):
        for line in content.split("\n"):
            if line_key(line) in unique:
                words += [canonical.setdefault(w, w) for w in _WORDS_AND_NUMBERS.findall(line.lower()) if w.isalpha()]
    return tuple(words)


def build_group(corpus: str, label: str, agent: str, calls: Sequence[SourceCall]) -> Group:
    counts = line_counts([c.prompt for c in calls])
    distinct = len({c.prompt for c in calls})
    unique = frozenset(key for key, count in counts.items() if count <= REPLACEABLE_MAX_PROMPTS)
    return Group(
        corpus=corpus,
        label=label,
        agent=agent,
        cut=cut_group(calls, template_keys(counts, distinct, TEMPLATE_SHARE), unique),
        loose_cut=cut_group(calls, template_keys(counts, distinct, 1.0), unique),
        answers=tuple(None if c.answer is None else variable(c.answer) for c in calls),
        unique=unique,
        vocabulary=vocabulary(calls, unique),
    )


def build_groups(source: Sequence[SourceCall]) -> list[Group]:
    """Source calls grouped by (corpus, label, agent), in that order, each call cut into blocks and pools filled.
    The agents of a label with fewer than MIN_AGENT_PROMPTS distinct prompts share one group (agent "*")."""
    members: dict[tuple[str, str, str], list[SourceCall]] = {}
    for call in source:
        members.setdefault((call.corpus, call.label, call.agent), []).append(call)
    groups: dict[tuple[str, str, str], list[SourceCall]] = {}
    for (corpus, label, agent), calls in sorted(members.items()):
        enough = len({c.prompt for c in calls}) >= MIN_AGENT_PROMPTS
        groups.setdefault((corpus, label, agent if enough else "*"), []).extend(calls)
    return [build_group(*key, calls) for key, calls in sorted(groups.items())]


# --------------------------------------------------------------------------------------------------- generation


def fresh_token(token: str, rng: random.Random) -> str:
    """A random token of the same shape: as many digits (no new leading zero) or hex characters (same case)."""
    size = len(token)
    if token.isdigit():
        if token[0] == "0":
            return f"{rng.randrange(10**size):0{size}d}"
        return str(rng.randrange(10 ** (size - 1), 10**size))
    text = f"{rng.getrandbits(4 * size):0{size}x}"
    return text.upper() if token.isupper() else text


def perturb(text: Variable, rng: random.Random, vocabulary: Sequence[str] = ()) -> str:
    """``text`` with fresh numbers and ids, and one word in WORDS_PER_SWAP of each of its replaceable lines drawn
    from ``vocabulary`` (capitalised like the word it replaces)."""
    if not text.numbers and not (text.words and vocabulary):
        return text.text
    out = list(text.pieces)
    for i in text.numbers:
        out[i] = fresh_token(out[i], rng)
    if vocabulary:
        for slots in text.words:
            for _ in range(1 + len(slots) // WORDS_PER_SWAP):
                i = slots[rng.randrange(len(slots))]
                word = vocabulary[rng.randrange(len(vocabulary))]
                out[i] = word[0].upper() + word[1:] if out[i][0].isupper() else word
    return "".join(out)


def splice(first: str, second: str, sep: str, rng: random.Random) -> str:
    """The head of ``first`` and the tail of ``second``, cut at ``sep``. With ``first == second`` and two different
    cuts, a part of the text is dropped or repeated."""
    head, tail = first.split(sep), second.split(sep)
    if len(head) < 2 or len(tail) < 2:
        return first
    return sep.join(head[: rng.randrange(1, len(head))] + tail[rng.randrange(1, len(tail)) :])


def splice_blocks(first: str, second: str, rng: random.Random, words: bool) -> str:
    """Two variable blocks spliced at a line (at a word when either is one line); with ``words``, one line of the
    result is also spliced at a word with a line of ``second``."""
    if "\n" not in first or "\n" not in second:
        return splice(first, second, " ", rng)
    lines = splice(first, second, "\n", rng).split("\n")
    if words:
        donors = second.split("\n")
        i = rng.randrange(len(lines))
        lines[i] = splice(lines[i], donors[rng.randrange(len(donors))], " ", rng)
    return "\n".join(lines)


def draw_block(block: Block, cut: Cut, group: Group, rng: random.Random, attempt: int) -> str:
    """A variable block from the pool of ``block``'s position, perturbed. Redraws (``attempt`` >= SPLICE_FROM)
    splice it with a second draw (at words too from LOOSE_FROM on) and perturb single digits too."""
    pool = cut.pools[block.pool]
    if len(pool) == 1:
        pool = cut.pools[block.fallback]
    drawn = pool[rng.randrange(len(pool))]
    if attempt >= SPLICE_FROM:
        other = pool[rng.randrange(len(pool))].text
        spliced = splice_blocks(drawn.text, other, rng, attempt >= LOOSE_FROM)
        if spliced.strip():  # a splice of blank lines alone would leave a turn with no text
            drawn = variable(spliced, group.unique, _ALL_NUMBERS)
    return perturb(drawn, rng, group.vocabulary)


def make_call(group: Group, rng: random.Random, attempt: int = 0) -> tuple[Layout, Prompt, str | None]:
    """A new call of ``group``: a base call's layout with its variable blocks drawn anew, and a donor's answer.
    Later redraws of a duplicate prompt splice the drawn blocks (SPLICE_FROM), then cut with loose templates too."""
    cut = group.loose_cut if attempt >= LOOSE_FROM else group.cut
    layout = cut.layouts[rng.randrange(group.size)]
    prompt = tuple(
        (role, "\n".join(b.text if b.pool is None else draw_block(b, cut, group, rng, attempt) for b in blocks))
        for role, blocks in zip(layout.roles, layout.turns, strict=True)
    )
    answer = group.answers[rng.randrange(group.size)]
    return layout, prompt, None if answer is None else perturb(answer, rng)


def prompt_hash(prompt: Prompt) -> int:
    digest = hashlib.blake2b(digest_size=8)
    for role, content in prompt:
        digest.update(role.encode("utf-8", "surrogatepass") + b"\x1f")
        digest.update(content.encode("utf-8", "surrogatepass") + b"\x1e")
    return int.from_bytes(digest.digest(), "big")


def quotas(sizes: Sequence[int], calls: int) -> list[int]:
    """Calls per group in proportion to its size (largest remainders); at least one each when calls allow."""
    total = sum(sizes)
    floor_each = 1 if calls >= len(sizes) else 0
    spare = calls - floor_each * len(sizes)
    exact = [spare * s / total for s in sizes]
    counts = [floor_each + int(x) for x in exact]
    by_remainder = sorted(range(len(sizes)), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in by_remainder[: calls - sum(counts)]:
        counts[i] += 1
    return counts


def group_order(groups: Sequence[Group], calls: int, rng: random.Random) -> list[int]:
    order = [i for i, count in enumerate(quotas([g.size for g in groups], calls)) for _ in range(count)]
    rng.shuffle(order)
    return order


def generated_records(
    groups: Sequence[Group], calls: int, seed: int, stats: GenerationStats, source_hashes: set[int]
) -> Iterator[tuple[str, dict[str, Any], Group]]:
    """(id, record, group) for every generated call, in order; counts duplicates and redraws into ``stats``."""
    rng = random.Random(seed)
    seen = set(source_hashes)
    for n, index in enumerate(group_order(groups, calls, rng)):
        group = groups[index]
        for attempt in range(MAX_ATTEMPTS):
            layout, prompt, answer = make_call(group, rng, attempt)
            key = prompt_hash(prompt)
            if key not in seen:
                break
        else:
            stats.duplicate_prompts += 1
            stats.source_copies += key in source_hashes
        stats.redraws += attempt
        stats.spliced += attempt >= SPLICE_FROM
        stats.loose += attempt >= LOOSE_FROM
        seen.add(key)
        call_id = f"gen-{group.corpus}-{n:07d}"
        messages = [{"role": role, "content": content} for role, content in prompt]
        if answer is not None:
            messages.append({"role": "assistant", "content": answer})
        record: dict[str, Any] = {"id": call_id, "messages": messages}
        if layout.model:
            record["model"] = layout.model
        yield call_id, record, group


def generator_sha256() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def generate(source: Sequence[SourceCall], calls: int, out: Path, seed: int = 0) -> GenerationStats:
    """Write ``calls`` recombined calls to out/calls.jsonl and their labels to out/labels.csv (files replaced at the
    end, so a folder never holds a half-written corpus); return the figures, also written to generation.json."""
    if calls < 1:
        raise SystemExit("--calls must be at least 1")
    started = time.perf_counter()
    groups = build_groups(source)
    stats = GenerationStats(
        calls=calls,
        seed=seed,
        labels=len({(g.corpus, g.label) for g in groups}),
        groups=len(groups),
        source_calls=len(source),
        generator_sha256=generator_sha256(),
    )
    out.mkdir(parents=True, exist_ok=True)
    calls_tmp, labels_tmp = out / "calls.jsonl.partial", out / "labels.csv.partial"
    per_corpus: Counter[str] = Counter()
    source_hashes = {prompt_hash(c.prompt) for c in source}
    with (
        calls_tmp.open("w", encoding="utf-8", buffering=WRITE_BUFFER) as calls_file,
        labels_tmp.open("w", encoding="utf-8", newline="", buffering=WRITE_BUFFER) as labels_file,
    ):
        labels = csv.writer(labels_file, lineterminator="\n")
        labels.writerow(["id", "label", "corpus"])
        for call_id, record, group in generated_records(groups, calls, seed, stats, source_hashes):
            calls_file.write(json.dumps(record, ensure_ascii=False))
            calls_file.write("\n")
            labels.writerow([call_id, f"{group.corpus}:{group.label}", group.corpus])
            per_corpus[group.corpus] += 1
    os.replace(calls_tmp, out / "calls.jsonl")
    os.replace(labels_tmp, out / "labels.csv")
    stats.corpora = dict(sorted(per_corpus.items()))
    stats.calls_bytes = (out / "calls.jsonl").stat().st_size
    stats.seconds = round(time.perf_counter() - started, 2)
    (out / "generation.json").write_text(
        json.dumps({**asdict(stats), "duplicate_share": stats.duplicate_share}, indent=2) + "\n", encoding="utf-8"
    )
    return stats


def summary(stats: GenerationStats) -> str:
    corpora = ", ".join(f"{name} {count:,}" for name, count in stats.corpora.items())
    return (
        f"{stats.calls:,} calls ({corpora}) from {stats.source_calls:,} source calls, {stats.labels} labels, "
        f"{stats.groups} recombination groups; "
        f"duplicate prompts {stats.duplicate_prompts:,} ({stats.duplicate_share:.3%}), "
        f"{stats.source_copies:,} of them copies of a source prompt; {stats.redraws:,} redraws, "
        f"{stats.spliced:,} calls with spliced blocks ({stats.loose:,} with loose templates); "
        f"calls.jsonl {stats.calls_bytes / 2**20:,.1f} MB; {stats.seconds:.1f}s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, required=True, help="number of calls to generate")
    parser.add_argument("--out", type=Path, required=True, help="output folder (calls.jsonl, labels.csv)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"source corpora (default: {DEFAULT_DATA})")
    parser.add_argument("--corpus", action="append", default=[], metavar="NAME", help="only this source corpus")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        raise SystemExit(f"no data folder {args.data}")
    stats = generate(read_source(args.data, args.corpus), args.calls, args.out, args.seed)
    print(summary(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
