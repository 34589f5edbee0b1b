"""Stagehand ``logInferenceToFile: true``: ``inference_summary/{act,extract,observe}_summary/`` folders.

Each folder holds (``packages/core/lib/inferenceLogUtils.ts``, ``lib/inference.ts``):

- ``<kind>_summary.json``: ``{"<kind>_summary": [{<kind>_inference_type, timestamp, LLM_input_file,
  LLM_output_file, prompt_tokens, completion_tokens, reasoning_tokens?, cached_input_tokens?, inference_time_ms}]}``,
  one entry per call (the extract folder also holds the ``metadata`` calls extract makes);
- ``<ts>_<kind>_call.txt``: ``{"modelCall": kind, "messages": [ChatMessage...]}``;
- ``<ts>_<kind>_response.txt``: ``{"modelResponse": kind, "rawResponse": {...}}`` (metadata calls:
  ``{"modelResponse": "metadata", "completed", "progress"}``).

The ``.txt`` files are ``JSON.stringify(data, null, 2)`` with every ``\\n`` escape replaced by a real newline, so
they are not strict JSON: ``json.loads(text, strict=False)`` accepts the raw newlines inside strings. (A literal
backslash before an ``n`` in the data became a backslash before a newline; that is repaired when parsing fails.)

The summary drives: each entry is one call, read with its two ``.txt`` files (marked consumed). The reader
claims the ``.txt`` files too, so they are accounted for and never read twice; a call file no summary entry
names (the summary is missing) is read on its own as a call without tokens or latency, paired with the first
response file of its kind written after it and before the next call file. A response file with no call file is
skipped with a reason. ``<ts>`` is UTC (``toISOString()``) with the punctuation removed: ``20250127_123456789``.
Stagehand records neither the model nor an agent: the caller is the primitive (act, extract, observe, metadata).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slmscout.traces.content import MalformedRecord, openai_messages, optional_float, optional_int, optional_str
from slmscout.traces.reader import DATA_ERRORS, ReadContext, TraceReader, skip_reason
from slmscout.traces.record import Caller, JsonScalar, LLMCall, SourceRef, Usage
from slmscout.traces.source import FileSample, RawRecord, iter_json_records, read_head

MAX_TXT_BYTES = 64 * 1024 * 1024

_SUMMARY_KEY = re.compile(r"^(\w+)_summary$")
_KNOWN_KINDS = ("act", "extract", "observe", "agent")
_TXT_HEAD = re.compile(rb'^\s*\{\s*"(modelCall|modelResponse)"\s*:\s*"')
_TXT_NAME = re.compile(r"^(\d{8}_\d{9})_(\w+?)_(call|response)\.txt$")
_TIMESTAMP = re.compile(r"^(\d{8})_(\d{6})(\d{3})$")
# a backslash before a newline that closes an odd run of backslashes: a literal "\n" in the data whose "n" the
# writer's replace(/\\n/g, "\n") turned into a newline
_BROKEN_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\\n")


def stagehand_time(text: Any) -> datetime | None:
    """``20250127_123456789`` (UTC, milliseconds) as a datetime."""
    if not isinstance(text, str):
        return None
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    try:
        moment = datetime.strptime(f"{match[1]}{match[2]}", "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) + timedelta(milliseconds=int(match[3]))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def loads_txt(text: str) -> Any:
    """A Stagehand ``.txt`` inference file: JSON with raw newlines inside its strings."""
    try:
        return json.loads(text, strict=False)
    except ValueError:
        pass
    except RecursionError:
        raise MalformedRecord("inference file nests too deeply") from None
    try:
        return json.loads(_BROKEN_ESCAPE.sub(lambda m: m[1] + "\\\\n", text), strict=False)
    except (ValueError, RecursionError):
        raise MalformedRecord("inference file is not JSON even with raw newlines allowed") from None


def _read_txt(path: Path) -> Any:
    with path.open("rb") as stream:
        data = stream.read(MAX_TXT_BYTES + 1)
    if len(data) > MAX_TXT_BYTES:
        raise MalformedRecord(f"inference file larger than {MAX_TXT_BYTES} bytes")
    return loads_txt(data.decode("utf-8", errors="replace"))


def _summary_array(record: Any) -> tuple[str, list[Any]] | None:
    """The ``<kind>_summary`` key and its entries, when the record is a Stagehand summary."""
    if not isinstance(record, Mapping):
        return None
    for key, value in record.items():
        match = _SUMMARY_KEY.match(key) if isinstance(key, str) else None
        if match is None or not isinstance(value, list):
            continue
        if any(isinstance(entry, Mapping) and "LLM_input_file" in entry for entry in value):
            return key, value
        if not value and match[1] in _KNOWN_KINDS:
            return key, value
    return None


def _plain_name(value: Any) -> str | None:
    """A file name from the summary, refused when it is not a bare name in the summary's folder."""
    name = optional_str(value)
    if name is None or "/" in name or "\\" in name or name in (".", ".."):
        return None
    return name


def _messages(document: Any) -> Any:
    if not isinstance(document, Mapping) or "modelCall" not in document:
        raise MalformedRecord("call file has no modelCall")
    return openai_messages(document.get("messages"))


def _response_text(document: Any) -> str:
    if not isinstance(document, Mapping) or "modelResponse" not in document:
        raise MalformedRecord("response file has no modelResponse")
    if "rawResponse" in document:
        raw = document["rawResponse"]
        return raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
    rest = {k: v for k, v in document.items() if k != "modelResponse"}  # metadata: {completed, progress}
    return json.dumps(rest, ensure_ascii=False)


def _usage(entry: Mapping[str, Any]) -> Usage | None:
    """Reported tokens. Stagehand writes ``usage?.prompt_tokens ?? 0``: zeros everywhere mean none were reported."""
    prompt = optional_int(entry.get("prompt_tokens"))
    completion = optional_int(entry.get("completion_tokens"))
    cached = optional_int(entry.get("cached_input_tokens"))
    if not prompt and not completion and not cached:
        return None
    return Usage(input_tokens=prompt, output_tokens=completion, cache_read_tokens=cached or None)


@dataclass(frozen=True)
class _TxtFile:
    path: Path
    stamp: str
    kind: str
    role: str  # "call" or "response"


def _txt_file(path: Path) -> _TxtFile | None:
    match = _TXT_NAME.match(path.name)
    return _TxtFile(path, match[1], match[2], match[3]) if match else None


class StagehandReader(TraceReader):
    name = "stagehand"
    priority = 60  # the summary's <kind>_summary/LLM_input_file keys and the .txt modelCall heads are unique
    description = (
        "Stagehand inference_summary/ (logInferenceToFile): <kind>_summary.json entries joined with their "
        "<ts>_<kind>_call.txt / _response.txt files (JSON with raw newlines); caller is the primitive."
    )

    def claims(self, sample: FileSample) -> bool:
        if _TXT_HEAD.match(sample.head):
            return True
        return len(sample.records) == 1 and _summary_array(sample.records[0]) is not None

    def read(self, files: Sequence[Path], ctx: ReadContext) -> Iterator[LLMCall]:
        summaries: list[Path] = []
        loose: list[Path] = []
        for path in sorted(files):
            try:
                head = read_head(path, 256)
            except OSError:
                ctx.skip("file cannot be read", path, "1")
                continue
            (loose if _TXT_HEAD.match(head) else summaries).append(path)
        used: set[Path] = set()
        for path in summaries:
            yield from self._read_summary(path, ctx, used)
        yield from self._read_loose([p for p in loose if p.resolve() not in used], ctx)

    # --- summaries ----------------------------------------------------------------------------------------

    def _read_summary(self, path: Path, ctx: ReadContext, used: set[Path]) -> Iterator[LLMCall]:
        for item in iter_json_records(path):
            if not isinstance(item, RawRecord):
                ctx.skip(item.reason, path, item.position)
                continue
            found = _summary_array(item.value)
            if found is None:
                ctx.skip("record is not a Stagehand summary", path, item.position)
                continue
            key, entries = found
            for index, entry in enumerate(entries):
                position = f"{key}[{index}]"
                source = SourceRef(str(path), position, self.name)
                try:
                    yield self._entry_call(entry, key, source, ctx, used)
                except OSError:
                    ctx.skip("inference file cannot be read", path, position)
                except DATA_ERRORS as exc:
                    ctx.skip(skip_reason(exc), path, position)

    def _entry_call(self, entry: Any, key: str, source: SourceRef, ctx: ReadContext, used: set[Path]) -> LLMCall:
        if not isinstance(entry, Mapping):
            raise MalformedRecord("summary entry is not an object")
        folder = Path(source.path).parent
        if not entry.get("LLM_input_file"):
            raise MalformedRecord("summary entry has no LLM_input_file")
        input_name = _plain_name(entry.get("LLM_input_file"))
        if input_name is None:
            raise MalformedRecord("LLM_input_file is not a plain file name")
        call_path = folder / input_name
        if not call_path.is_file():
            raise MalformedRecord("call file named in the summary is missing")
        messages = _messages(_read_txt(call_path))
        used.add(call_path.resolve())
        ctx.consumed(call_path)
        metadata: dict[str, JsonScalar] = {"input_file": input_name}
        response = None
        output_name = _plain_name(entry.get("LLM_output_file"))
        if output_name is not None:
            metadata["output_file"] = output_name
            response_path = folder / output_name
            if response_path.is_file():
                response = _response_text(_read_txt(response_path))
                used.add(response_path.resolve())
                ctx.consumed(response_path)
            else:
                metadata["response_file_missing"] = True
        kind = key.removesuffix("_summary")
        primitive = optional_str(entry.get(f"{kind}_inference_type")) or kind
        reasoning = optional_int(entry.get("reasoning_tokens"))
        if reasoning:
            metadata["reasoning_tokens"] = reasoning
        latency = optional_float(entry.get("inference_time_ms"))
        latency = latency if latency is not None and latency >= 0 else None
        started = stagehand_time(entry.get("timestamp")) or stagehand_time(input_name[:18])
        ended = started + timedelta(milliseconds=latency) if started and latency is not None else None
        return LLMCall(
            call_id=input_name,
            source=source,
            messages=messages,
            response=response,
            caller=Caller(module=primitive),
            usage=_usage(entry),
            latency_ms=latency,
            started_at=_iso(started),
            ended_at=_iso(ended),
            metadata=metadata,
        )

    # --- .txt files no summary names ----------------------------------------------------------------------

    def _read_loose(self, paths: list[Path], ctx: ReadContext) -> Iterator[LLMCall]:
        named = [(path, _txt_file(path)) for path in paths]
        for path, info in named:
            if info is None:
                ctx.skip("inference file name is not <ts>_<kind>_call|response.txt", path, "1")
        groups: dict[tuple[Path, str], list[_TxtFile]] = {}
        for _, info in named:
            if info is not None:
                groups.setdefault((info.path.parent, info.kind), []).append(info)
        for _key, group in sorted(groups.items()):
            group.sort(key=lambda f: (f.stamp, f.role == "response", f.path.name))
            yield from self._pair_group(group, ctx)

    def _pair_group(self, group: list[_TxtFile], ctx: ReadContext) -> Iterator[LLMCall]:
        """Calls and responses of one kind in one folder, in time order: each call takes the response files
        written after it and before the next call (the first one)."""
        index = 0
        while index < len(group):
            current = group[index]
            index += 1
            if current.role == "response":
                ctx.skip("response file without its call file", current.path, "1")
                continue
            answer: _TxtFile | None = None
            while index < len(group) and group[index].role == "response":
                if answer is None:
                    answer = group[index]
                else:
                    ctx.skip("response file without its call file", group[index].path, "1")
                index += 1
            try:
                yield self._loose_call(current, answer, ctx)
            except OSError:
                ctx.skip("inference file cannot be read", current.path, "1")
            except DATA_ERRORS as exc:
                ctx.skip(skip_reason(exc), current.path, "1")

    def _loose_call(self, call: _TxtFile, answer: _TxtFile | None, ctx: ReadContext) -> LLMCall:
        document = _read_txt(call.path)
        messages = _messages(document)
        metadata: dict[str, JsonScalar] = {"input_file": call.path.name, "summary_missing": True}
        response = None
        if answer is not None:
            try:
                response = _response_text(_read_txt(answer.path))
            except (MalformedRecord, OSError):
                ctx.skip("response file is not readable JSON", answer.path, "1")
            else:
                ctx.consumed(answer.path)
                metadata["output_file"] = answer.path.name
        primitive = optional_str(document.get("modelCall")) if isinstance(document, Mapping) else None
        return LLMCall(
            call_id=call.path.name,
            source=SourceRef(str(call.path), "1", self.name),
            messages=messages,
            response=response,
            caller=Caller(module=primitive or call.kind),
            started_at=_iso(stagehand_time(call.stamp)),
            metadata=metadata,
        )
