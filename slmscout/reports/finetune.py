"""Fine-tuning data from chosen clusters: the calls in the chat "messages" layout, as JSON Lines and as a dataset.

    <out>/
      train.jsonl, eval.jsonl       one row a line, OpenAI / Hugging Face chat fine-tuning layout
      dataset/                      ``DatasetDict.save_to_disk`` with the splits ``train`` and ``eval``
      train.parquet, eval.parquet   the same rows and schema as ``dataset/``
      README.md                     dataset card: clusters, counts, split rule and seed, redaction, layout

A row: ``messages`` are the prompt messages, then one assistant message holding the response text (``content``,
null when the model only called tools) and its ``tool_calls`` (``{"id", "type": "function", "function": {"name",
"arguments"}}``, ``arguments`` the JSON text the model wrote); tool messages keep ``tool_call_id`` and ``name``.
``tools`` are the tool definitions offered, ``{"type": "function", "function": {"name", "description",
"parameters"}}``; ``metadata`` says where the row came from (call id, cluster id and name, model, source format,
session id, split).

The JSON Lines files hold ``parameters`` as the JSON-schema object and leave out the keys a message does not use,
as OpenAI's fine-tuning format does. The Arrow copies (``dataset/`` and Parquet) need one fixed schema for every row
(``dataset_features()``), and free-form JSON has none: there ``parameters`` and ``arguments`` are JSON *text*, every
message has every key (null when unused) and ``tools`` is null when none were offered. ``row_to_call`` reads either
form. Text Arrow and UTF-8 cannot hold (lone surrogates from JSON escapes in a log) is written as U+FFFD.

Only fixed file names are written, none built from a cluster name. Everything is written to a hidden sibling folder
that is renamed into place at the end, so an interrupted export leaves no partial folder under the chosen name.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import math
import os
import secrets
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slmscout.analyzers.analysis import Analysis
from slmscout.errors import InputError, OutputError, UsageError
from slmscout.traces.record import LLMCall, Message, ToolCall, ToolDefinition

TRAIN, EVAL = "train", "eval"
SPLITS = (TRAIN, EVAL)
DATASET_DIR = "dataset"
CARD = "README.md"
EXPORT_FILES = (f"{TRAIN}.jsonl", f"{EVAL}.jsonl", f"{TRAIN}.parquet", f"{EVAL}.parquet", DATASET_DIR, CARD)

Redact = Callable[[LLMCall], LLMCall]


def dataset_features() -> Any:
    """The one Arrow schema of every row (nested dicts are structs, one-item lists are lists)."""
    from datasets import Features, Value

    text = Value("string")
    tool_call = {"id": text, "type": text, "function": {"name": text, "arguments": text}}
    message = {"role": text, "content": text, "tool_calls": [tool_call], "name": text, "tool_call_id": text}
    tool = {"type": text, "function": {"name": text, "description": text, "parameters": text}}
    metadata = {
        "call_id": text,
        "cluster_id": Value("int64"),
        "cluster_name": text,
        "model": text,
        "source_format": text,
        "session_id": text,
        "split": text,
    }
    return Features({"messages": [message], "tools": [tool], "metadata": metadata})


@dataclass(frozen=True)
class ExportSummary:
    out_dir: Path
    clusters: tuple[int, ...]
    train_rows: int
    eval_rows: int
    files: tuple[str, ...]
    left_out: int = 0  # calls of the chosen clusters with nothing to learn from: no output, or marked failed


@dataclass(frozen=True, slots=True)
class ExportedCall:
    """What a row keeps of a call: compare ``row_to_call(row)`` with ``ExportedCall.of(call)``."""

    call_id: str
    messages: tuple[Message, ...]
    response: str | None
    response_tool_calls: tuple[ToolCall, ...]
    tools: tuple[ToolDefinition, ...]
    model: str | None
    session_id: str | None

    @classmethod
    def of(cls, call: LLMCall) -> ExportedCall:
        return cls(
            call.call_id,
            call.messages,
            call.response,
            call.response_tool_calls,
            call.tools,
            call.model,
            call.session_id,
        )


# --- rows ---------------------------------------------------------------------------------------------------


def _text(value: str) -> str:
    """Text Arrow and UTF-8 files can hold: lone surrogates (from JSON escapes in a log) become U+FFFD."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _opt(value: str | None) -> str | None:
    return None if value is None else _text(value)


def _schema_value(parameters: str) -> object:
    """The JSON-schema object for the JSON Lines files, or the text itself when it is not canonical object text
    (so ``row_to_call`` gives back exactly the text the call held)."""
    try:
        value = json.loads(parameters)
    except ValueError:
        return parameters
    if isinstance(value, dict) and json.dumps(value, sort_keys=True) == parameters:
        return value
    return parameters


def _tool_call_row(tc: ToolCall, arrow: bool) -> dict[str, object]:
    row: dict[str, object] = {}
    if arrow or tc.id is not None:
        row["id"] = _opt(tc.id)
    row["type"] = "function"
    row["function"] = {"name": _text(tc.name), "arguments": _text(tc.arguments)}
    return row


def _message_row(
    role: str,
    content: str | None,
    tool_calls: Sequence[ToolCall],
    name: str | None,
    tool_call_id: str | None,
    arrow: bool,
) -> dict[str, object]:
    row: dict[str, object] = {"role": _text(role), "content": _opt(content)}
    if arrow or tool_calls:
        row["tool_calls"] = [_tool_call_row(tc, arrow) for tc in tool_calls] if tool_calls else None
    if arrow or name is not None:
        row["name"] = _opt(name)
    if arrow or tool_call_id is not None:
        row["tool_call_id"] = _opt(tool_call_id)
    return row


def _tool_row(tool: ToolDefinition, arrow: bool) -> dict[str, object]:
    function: dict[str, object] = {"name": _text(tool.name), "description": _text(tool.description)}
    if arrow:
        function["parameters"] = _text(tool.parameters)
    elif tool.parameters:
        function["parameters"] = _schema_value(_text(tool.parameters))
    return {"type": "function", "function": function}


def call_row(call: LLMCall, metadata: Mapping[str, object], *, arrow: bool) -> dict[str, object]:
    """One call as a row: JSON Lines form, or the fixed-schema Arrow form when ``arrow``."""
    messages = [_message_row(m.role, m.content, m.tool_calls, m.name, m.tool_call_id, arrow) for m in call.messages]
    messages.append(_message_row("assistant", call.response, call.response_tool_calls, None, None, arrow))
    row: dict[str, object] = {"messages": messages}
    if arrow or call.tools:
        row["tools"] = [_tool_row(t, arrow) for t in call.tools] if call.tools else None
    row["metadata"] = dict(metadata)
    return row


def _field(obj: Mapping[str, object], key: str, where: str) -> object:
    if not isinstance(obj, Mapping):
        raise InputError(f"{where}: expected an object")
    return obj.get(key)


def _str(obj: Mapping[str, object], key: str, where: str) -> str:
    value = _field(obj, key, where)
    if not isinstance(value, str):
        raise InputError(f"{where}.{key}: expected text")
    return value


def _opt_str(obj: Mapping[str, object], key: str, where: str) -> str | None:
    value = _field(obj, key, where)
    if value is not None and not isinstance(value, str):
        raise InputError(f"{where}.{key}: expected text or null")
    return value


def _items(obj: Mapping[str, object], key: str, where: str) -> list[Mapping[str, object]]:
    value = _field(obj, key, where)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise InputError(f"{where}.{key}: expected a list of objects")
    return value


def _row_tool_call(raw: Mapping[str, object], where: str) -> ToolCall:
    function = _field(raw, "function", where)
    if not isinstance(function, Mapping):
        raise InputError(f"{where}.function: expected an object")
    return ToolCall(
        name=_str(function, "name", f"{where}.function"),
        arguments=_str(function, "arguments", f"{where}.function"),
        id=_opt_str(raw, "id", where),
    )


def _row_message(raw: Mapping[str, object], where: str) -> Message:
    return Message(
        role=_str(raw, "role", where),
        content=_str(raw, "content", where),
        tool_calls=tuple(
            _row_tool_call(tc, f"{where}.tool_calls[{i}]") for i, tc in enumerate(_items(raw, "tool_calls", where))
        ),
        name=_opt_str(raw, "name", where),
        tool_call_id=_opt_str(raw, "tool_call_id", where),
    )


def _row_tool(raw: Mapping[str, object], where: str) -> ToolDefinition:
    function = _field(raw, "function", where)
    if not isinstance(function, Mapping):
        raise InputError(f"{where}.function: expected an object")
    parameters = function.get("parameters")
    if parameters is None:
        text = ""
    elif isinstance(parameters, str):
        text = parameters
    else:
        text = json.dumps(parameters, sort_keys=True)
    return ToolDefinition(
        name=_str(function, "name", f"{where}.function"),
        description=_str(function, "description", f"{where}.function"),
        parameters=text,
    )


def row_to_call(row: Mapping[str, object]) -> ExportedCall:
    """The call a row was made from (either form): prompt messages, response, its tool calls, the tools offered."""
    raw_messages = _items(row, "messages", "row")
    if not raw_messages or raw_messages[-1].get("role") != "assistant":
        raise InputError("row.messages: the last message is not the assistant's")
    *prompt, answer = raw_messages
    metadata = _field(row, "metadata", "row")
    if not isinstance(metadata, Mapping):
        raise InputError("row.metadata: expected an object")
    where = f"row.messages[{len(prompt)}]"
    return ExportedCall(
        call_id=_str(metadata, "call_id", "row.metadata"),
        messages=tuple(_row_message(m, f"row.messages[{i}]") for i, m in enumerate(prompt)),
        response=_opt_str(answer, "content", where),
        response_tool_calls=tuple(
            _row_tool_call(tc, f"{where}.tool_calls[{i}]") for i, tc in enumerate(_items(answer, "tool_calls", where))
        ),
        tools=tuple(_row_tool(t, f"row.tools[{i}]") for i, t in enumerate(_items(row, "tools", "row"))),
        model=_opt_str(metadata, "model", "row.metadata"),
        session_id=_opt_str(metadata, "session_id", "row.metadata"),
    )


# --- split --------------------------------------------------------------------------------------------------


def split_key(call: LLMCall) -> str:
    """What keeps rows together in one split: the conversation (session id) when the log names one, else the call."""
    return f"session:{call.session_id}" if call.session_id else f"call:{call.call_id}"


def split_rank(seed: int, key: str) -> int:
    """A key's place in the split order: the first 8 bytes of sha256("<seed>:<key>") as a number."""
    digest = hashlib.sha256(f"{seed}:{key}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big")


def eval_target(rows: int, groups: int, eval_share: float) -> int:
    """Rows a cluster sends to eval: its share rounded half up, at least one when it has two or more split keys."""
    target = math.floor(eval_share * rows + 0.5)
    if eval_share > 0 and groups >= 2:
        target = max(target, 1)
    return target


def eval_keys(rows: Iterable[tuple[int, str]], eval_share: float, seed: int) -> set[str]:
    """The split keys whose rows go to eval, from (cluster id, split key) per row.

    In each cluster the keys are taken in ``split_rank`` order until the cluster's eval rows reach ``eval_target``,
    never its last key (a cluster always keeps training rows of its own). A key taken in any cluster is eval in
    every cluster, so a conversation never straddles the splits; as the rank order is the same in every cluster,
    clusters tend to pick the same conversations.
    """
    per_cluster: dict[int, Counter[str]] = {}
    for cluster_id, key in rows:
        per_cluster.setdefault(cluster_id, Counter())[key] += 1
    chosen: set[str] = set()
    for groups in per_cluster.values():
        target = eval_target(sum(groups.values()), len(groups), eval_share)
        taken = 0
        for key in sorted(groups, key=lambda k: (split_rank(seed, k), k))[:-1]:
            if taken >= target:
                break
            chosen.add(key)
            taken += groups[key]
    return chosen


# --- export -------------------------------------------------------------------------------------------------


def _has_output(call: LLMCall) -> bool:
    return call.status != "error" and (bool((call.response or "").strip()) or bool(call.response_tool_calls))


def _valid_ids(ids: Iterable[int]) -> str:
    ordered = sorted(ids)
    if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 3:
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(map(str, ordered)) or "none"


def _chosen_clusters(analysis: Analysis, cluster_ids: Sequence[int]) -> dict[int, str]:
    names = {c.cluster_id: c.name for c in analysis.clusters}
    if not cluster_ids:
        raise UsageError(f"name at least one cluster to export (valid ids: {_valid_ids(names)})")
    unknown = sorted({c for c in cluster_ids if c not in names})
    if unknown:
        raise UsageError(
            f"unknown cluster id{'s' if len(unknown) > 1 else ''} {', '.join(map(str, unknown))} "
            f"(valid ids: {_valid_ids(names)})"
        )
    return {c: names[c] for c in sorted(set(cluster_ids))}


@dataclass(frozen=True)
class _Chosen:
    call: LLMCall
    cluster_id: int
    order: tuple[str, str, str]


def _collect(calls: Iterable[LLMCall], analysis: Analysis, chosen: Mapping[int, str]) -> list[_Chosen]:
    """The calls of the chosen clusters (only those are kept), matched to the analysis by id and source."""
    by_source: dict[tuple[str, str], int] = {}
    expected: Counter[tuple[str, str]] = Counter()
    id_count: Counter[str] = Counter()
    by_id: dict[str, tuple[str, str]] = {}
    for a in analysis.assignments:
        id_count[a.call_id] += 1
        if a.cluster_id in chosen:
            by_source[(a.call_id, a.source)] = a.cluster_id
            expected[(a.call_id, a.source)] += 1
            by_id[a.call_id] = (a.call_id, a.source)
    found: list[_Chosen] = []
    for call in calls:
        key = (call.call_id, str(call.source))
        if key not in by_source:
            # the source written differently: fall back on the call id when the analysis holds it once
            if id_count[call.call_id] != 1 or call.call_id not in by_id:
                continue
            key = by_id[call.call_id]
        if expected[key] <= 0:
            continue
        expected[key] -= 1
        found.append(_Chosen(call, by_source[key], (call.call_id, call.source.path, call.source.position)))
    missing = sum(expected.values())
    if missing:
        raise InputError(f"{missing} call(s) of the chosen clusters are not in the run's calls")
    return found


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.is_symlink():
        raise OutputError(f"{out_dir} is a symbolic link; name the folder itself")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} exists and is not a folder")
    if not out_dir.is_dir():
        return
    try:
        entries = sorted(p.name for p in out_dir.iterdir())
    except OSError as exc:
        raise OutputError(f"cannot read {out_dir}: {exc.strerror or exc}") from None
    if not entries:
        return
    if not overwrite:
        raise OutputError(f"{out_dir} exists and is not empty (use overwrite to replace an earlier export)")
    foreign = [name for name in entries if name not in EXPORT_FILES]
    if foreign:
        raise OutputError(f"{out_dir} holds files an export did not write ({', '.join(foreign[:5])}); not replacing it")
    here = Path.cwd().resolve()
    target = out_dir.resolve()
    if target == here or target in here.parents:
        raise OutputError(f"{out_dir} holds the current folder; not replacing it")


@contextlib.contextmanager
def _quiet_datasets() -> Iterator[None]:
    """No progress bars from ``datasets`` while we write (they are not our output)."""
    import datasets

    was_disabled = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def _write_jsonl(path: Path, rows: Iterable[Mapping[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False))
            handle.write("\n")


def _write_datasets(folder: Path, arrow_rows: Mapping[str, list[dict[str, object]]]) -> None:
    from datasets import Dataset, DatasetDict

    features = dataset_features()
    with _quiet_datasets():
        splits = {  # from_dict, not from_list: an empty split keeps its columns
            name: Dataset.from_dict({k: [row[k] for row in arrow_rows[name]] for k in features}, features=features)
            for name in SPLITS
        }
        # an empty split saved with the default sharding has no data file and cannot be loaded back
        shards = {name: 1 for name, dataset in splits.items() if len(dataset) == 0}
        DatasetDict(splits).save_to_disk(str(folder / DATASET_DIR), num_shards=shards)
        for name, dataset in splits.items():
            dataset.to_parquet(str(folder / f"{name}.parquet"))


def _cell(text: str) -> str:
    """A cluster name as one safe Markdown table cell."""
    return html.escape(" ".join(text.split()), quote=False).replace("|", "\\|") or "(unnamed)"


def _card(
    chosen: Mapping[int, str],
    counts: Mapping[int, Counter[str]],
    left_out: Counter[int],
    eval_share: float,
    seed: int,
    redacted: bool,
) -> str:
    total = Counter[str]()
    for c in counts.values():
        total.update(c)
    lines = [
        "---",
        "configs:",
        "- config_name: default",
        "  data_files:",
        # an empty split is left out here: `load_dataset` refuses a split with no rows
        *(f"  - split: {name}\n    path: {name}.parquet" for name in SPLITS if total[name]),
        "tags:",
        "- slmscout",
        "- fine-tuning",
        "---",
        "",
        "# Fine-tuning data exported by slmscout",
        "",
        f"{total[TRAIN]} training rows and {total[EVAL]} evaluation rows from {len(chosen)} cluster(s) of LLM calls,",
        "one row per logged call: the prompt the agent sent and the answer the large model gave.",
        "",
        "| cluster | name | train | eval | left out |",
        "|---:|---|---:|---:|---:|",
        *(
            f"| {cid} | {_cell(name)} | {counts[cid][TRAIN]} | {counts[cid][EVAL]} | {left_out[cid]} |"
            for cid, name in chosen.items()
        ),
        "",
        "Left out: calls with no response text and no tool call, or marked failed in the log.",
        "",
        *(
            line
            for name in SPLITS
            if not total[name]
            for line in (f"The {name} split is empty: its files hold no rows; load the other split only.", "")
        ),
        "## Redaction",
        "",
        "PII and secrets were redacted before export: replaced values no longer appear in the rows."
        if redacted
        else "Not redacted: the rows hold the calls exactly as logged, including any personal data or secrets.",
        "",
        "## Split",
        "",
        f"Seed {seed}, eval share {eval_share:g}. Rows are grouped by split key: the session id when the log names",
        "one (calls of one conversation never straddle train and eval), else the call id. Keys are ranked by",
        '`sha256("<seed>:<key>")` (first 8 bytes, with `key` = `session:<id>` or `call:<id>`). In each cluster the',
        "keys are taken in rank order into eval until the cluster's eval rows reach its share of its rows (rounded",
        "half up; at least one row when the cluster has two or more keys), never its last key; a key taken in any",
        "cluster is eval everywhere. The split does not depend on the order the calls were read in. Rows are sorted",
        "by call id within a split.",
        "",
        "## Layout",
        "",
        "- `train.jsonl`, `eval.jsonl`: OpenAI / Hugging Face chat fine-tuning rows; `tools[].function.parameters`",
        "  is the JSON-schema object; keys a message does not use are left out.",
        "- `dataset/` (`datasets.load_from_disk`), `train.parquet`, `eval.parquet`: the same rows in one fixed",
        "  schema; `parameters` and tool-call `arguments` are JSON text, unused keys are null. Drop null keys before",
        "  applying a chat template that tests whether a key is present.",
        "",
        "Each row: `messages` (the prompt messages, then the assistant message with the response `content` and its",
        '`tool_calls` `{"id", "type": "function", "function": {"name", "arguments"}}`; tool messages keep',
        '`tool_call_id` and `name`), `tools` (`{"type": "function", "function": {"name", "description",',
        '"parameters"}}`) and `metadata` (`call_id`, `cluster_id`, `cluster_name`, `model`, `source_format`,',
        "`session_id`, `split`).",
        "",
    ]
    return "\n".join(lines)


def _place(tmp: Path, out_dir: Path) -> None:
    """Move the finished folder into place: replace an existing one by two renames, the old one removed last."""
    old: Path | None = None
    if out_dir.is_dir():
        if any(out_dir.iterdir()):
            old = out_dir.with_name(f".{out_dir.name}.old-{secrets.token_hex(4)}")
            os.rename(out_dir, old)
        else:
            out_dir.rmdir()
    try:
        os.rename(tmp, out_dir)
    except OSError:
        if old is not None:
            os.rename(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_clusters(
    calls: Iterable[LLMCall],
    analysis: Analysis,
    cluster_ids: Sequence[int],
    out_dir: Path,
    *,
    eval_share: float = 0.1,
    seed: int = 0,
    redact: Redact | None,
    overwrite: bool = False,
) -> ExportSummary:
    """Write the chosen clusters' calls as fine-tuning data under ``out_dir`` (see the module docstring)."""
    if not 0 <= eval_share < 1:
        raise UsageError(f"eval share must be at least 0 and below 1, not {eval_share:g}")
    chosen = _chosen_clusters(analysis, cluster_ids)
    out_dir = Path(os.path.abspath(out_dir))
    _check_out_dir(out_dir, overwrite)

    # Redact in a fixed order (a redactor numbers its placeholders in the order it meets values); the split key
    # is the original call's, so a redacted export splits exactly as an unredacted one.
    kept: list[tuple[_Chosen, str]] = []
    left_out: Counter[int] = Counter()
    for item in sorted(_collect(calls, analysis, chosen), key=lambda c: c.order):
        call = redact(item.call) if redact is not None else item.call
        if _has_output(call):
            kept.append((_Chosen(call, item.cluster_id, item.order), split_key(item.call)))
        else:
            left_out[item.cluster_id] += 1
    in_eval = eval_keys(((c.cluster_id, key) for c, key in kept), eval_share, seed)

    jsonl_rows: dict[str, list[dict[str, object]]] = {name: [] for name in SPLITS}
    arrow_rows: dict[str, list[dict[str, object]]] = {name: [] for name in SPLITS}
    counts: dict[int, Counter[str]] = {cid: Counter() for cid in chosen}
    for item, key in kept:
        call = item.call
        split = EVAL if key in in_eval else TRAIN
        counts[item.cluster_id][split] += 1
        metadata = {
            "call_id": _text(call.call_id),
            "cluster_id": item.cluster_id,
            "cluster_name": _text(chosen[item.cluster_id]),
            "model": _opt(call.model),
            "source_format": _text(call.source.format),
            "session_id": _opt(call.session_id),
            "split": split,
        }
        jsonl_rows[split].append(call_row(call, metadata, arrow=False))
        arrow_rows[split].append(call_row(call, metadata, arrow=True))
    del kept
    if not any(jsonl_rows.values()):
        raise UsageError("the chosen clusters hold no call with a response or a tool call to learn from")

    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_dir.with_name(f".{out_dir.name}.{secrets.token_hex(6)}.partial")
        tmp.mkdir()  # not mkdtemp: the folder keeps the user's usual permissions once renamed into place
    except OSError as exc:
        raise OutputError(f"cannot write in {out_dir.parent}: {exc.strerror or exc}") from None
    try:
        for name in SPLITS:
            _write_jsonl(tmp / f"{name}.jsonl", jsonl_rows[name])
        _write_datasets(tmp, arrow_rows)
        card = _card(chosen, counts, left_out, eval_share, seed, redact is not None)
        (tmp / CARD).write_text(card, encoding="utf-8")
        _check_out_dir(out_dir, overwrite)  # again: something may have appeared there meanwhile
        _place(tmp, out_dir)
    except OSError as exc:
        raise OutputError(f"cannot write {out_dir}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return ExportSummary(
        out_dir=out_dir,
        clusters=tuple(chosen),
        train_rows=len(jsonl_rows[TRAIN]),
        eval_rows=len(jsonl_rows[EVAL]),
        files=tuple(sorted(EXPORT_FILES)),
        left_out=sum(left_out.values()),
    )
