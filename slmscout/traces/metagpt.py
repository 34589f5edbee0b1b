"""MetaGPT: the loguru text log (``logs/YYYYMMDD.txt``) and the ``rsp_cache.json`` prompt/response caches.

The log has no per-call record: a call is put together from the lines MetaGPT writes around it, keyed on the
loguru ``module:function`` (never on line numbers, which change between versions):

- ``metagpt.roles.role:_act``: ``Alice(Product Manager): to do WritePRD(WritePRD)``, the caller of what follows;
- ``metagpt.provider.base_llm:aask`` (DEBUG): the prompt, a Python repr of the message list, read with
  ``ast.literal_eval``; each one starts a call;
- ``metagpt.utils.cost_manager:update_cost``: ``prompt_tokens: N, completion_tokens: M`` (and the cost), or the
  warning ``Model X not found in TOKEN_COSTS.``, the only line that names the model;
- ``metagpt.actions.action_node:_aask_v1``: ``llm raw output:`` and the response over the following lines (only
  ActionNode calls log it; otherwise the streamed response went to stdout and the call has no response);
- ``metagpt.utils.common:log_it`` (ERROR ``Finished call to ...``) before any cost or response: a failed attempt.

Each part is paired with the most recent prompt; a call ends at the next prompt, after its raw output, or at the
end of the file. Roles running concurrently could interleave their lines: the log carries nothing to tell them
apart, so pairing is by order. Timestamps are local time without a zone (loguru's default format), so
``started_at``/``ended_at`` are zone-less ISO 8601 and the latency is an estimate from them.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from slmscout.traces.content import MalformedRecord, openai_messages
from slmscout.traces.reader import DATA_ERRORS, FileReader, ReadContext, fallback_id, skip_reason
from slmscout.traces.record import Caller, JsonScalar, LLMCall, Message, SourceRef, Usage
from slmscout.traces.source import FileSample, RawRecord, iter_json_records
from slmscout.traces.textlog import LogRecord, RecordPairing, elapsed_ms, local_iso, local_time, log_records

MAX_PROMPT_REPR_CHARS = 8 * 1024 * 1024  # a larger prompt repr is skipped rather than parsed
MAX_RECORD_CHARS = 64 * 1024 * 1024  # a log record (raw output) growing past this is cut and flagged

# loguru's default format: ``{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}``
_HEADER = re.compile(
    r"^(?P<time>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}) \| (?P<level>[A-Z]+) *\| "
    r"(?P<module>[\w.<>-]+):(?P<function>[\w<>]+):(?P<line>\d+) - ?(?P<message>.*)$",
    re.DOTALL,
)
_METAGPT_HEADER = re.compile(
    rb"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \| [A-Z]+ *\| metagpt\.[\w.]+:[\w<>]+:\d+ - ", re.MULTILINE
)
_TODO = re.compile(r"^(?P<agent>[^()\n]*)\((?P<role>.*)\): to do (?P<action>[^()\n]+?)\((?P<name>[^()\n]*)\)\s*$")
_TOKENS = re.compile(r"prompt_tokens: (\d+), completion_tokens: (\d+)")
_OLD_TOKENS = re.compile(r"Current cost: \$[\d.]+, (\d+), (\d+)\s*$")  # early versions left the counts unlabelled
_COST = re.compile(r"Current cost: \$(\d+(?:\.\d+)?)")
_MODEL_NOT_PRICED = re.compile(r"^Model (\S+) not found in TOKEN_COSTS")
_RAW_OUTPUT = "llm raw output:"
_FAILED_ATTEMPT = "Finished call to '"


@dataclass
class _Pending:
    """A call being put together: its prompt and whatever has been paired with it so far."""

    line: int
    started: datetime | None
    messages: tuple[Message, ...]
    caller: Caller
    response: str | None = None
    responded: datetime | None = None
    costed: datetime | None = None
    usage: Usage | None = None
    cost_usd: float | None = None
    model: str | None = None
    failed: bool = False
    response_cut: bool = False


def _kept(module: str, function: str) -> bool:
    """Whether a record matters to the calls (its text is kept); other records are read past."""
    if function == "aask":
        return module == "metagpt.provider.base_llm"
    if function == "_aask_v1":
        return module.endswith("action_node")
    if function.endswith("update_cost"):
        return module.endswith("cost_manager")
    return function in ("_act", "log_it")


def _record(number: int, header: re.Match[str]) -> LogRecord | None:
    """A loguru record that matters to the calls; None for the others, read past."""
    if not _kept(header["module"], header["function"]):
        return None
    return LogRecord(
        line=number,
        time=local_time(header["time"], "%Y-%m-%d %H:%M:%S.%f"),
        level=header["level"],
        module=header["module"],
        function=header["function"],
        parts=[header["message"]],
        size=len(header["message"]),
    )


def _parse_prompt(text: str) -> tuple[Message, ...]:
    if len(text) > MAX_PROMPT_REPR_CHARS:
        raise MalformedRecord("prompt repr too large to parse")
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise MalformedRecord("prompt is not a Python literal") from None
    if not isinstance(value, list):
        raise MalformedRecord("prompt is not a message list")
    return openai_messages(value)


class MetaGPTLogReader(FileReader):
    name = "metagpt-log"
    priority = 60  # a loguru text log with metagpt.* modules: nothing else claims it
    description = (
        "MetaGPT loguru log (logs/YYYYMMDD.txt): prompts from base_llm:aask, responses from "
        "action_node:_aask_v1 'llm raw output', tokens from cost_manager:update_cost, caller from role:_act."
    )

    def claims(self, sample: FileSample) -> bool:
        return _METAGPT_HEADER.search(sample.head) is not None

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        records = log_records(path, ctx, _HEADER, _record, max_record_chars=MAX_RECORD_CHARS)
        yield from _State(self.name, path, ctx).calls(records)


class _State(RecordPairing):
    """The pairing state of one log file."""

    def __init__(self, reader: str, path: Path, ctx: ReadContext) -> None:
        super().__init__(reader, path, ctx)
        self.caller = Caller()
        self.pending: _Pending | None = None

    def _take(self, record: LogRecord) -> Iterator[LLMCall]:
        message = record.message
        if record.function == "aask":
            yield from self.finish()
            self.pending = _Pending(record.line, record.time, _parse_prompt(message), self.caller)
        elif record.function == "_aask_v1":
            if not message.startswith(_RAW_OUTPUT):
                return
            pending = self.pending
            if pending is None or pending.response is not None:
                raise MalformedRecord("raw output without a logged prompt")
            pending.response = message[len(_RAW_OUTPUT) :].removeprefix("\n")
            pending.response_cut = record.cut
            pending.responded = record.time
            yield from self.finish()
        elif record.function.endswith("update_cost"):
            self._cost(record, message)
        elif record.function == "_act":
            todo = _TODO.match(message)
            if todo:
                self.caller = Caller(
                    agent=todo["agent"].strip() or None,
                    role=todo["role"].strip() or None,
                    module=todo["action"].strip() or None,
                )
        elif record.function == "log_it" and record.level == "ERROR" and message.startswith(_FAILED_ATTEMPT):
            pending = self.pending
            if pending is not None and pending.response is None and pending.costed is None:
                pending.failed = True
                pending.responded = record.time
                yield from self.finish()

    def _cost(self, record: LogRecord, message: str) -> None:
        pending = self.pending
        if pending is None or pending.costed is not None:
            return  # a call logged no prompt (aask_code, embeddings): its cost belongs to no call read here
        unpriced = _MODEL_NOT_PRICED.match(message)
        if unpriced:
            pending.model = unpriced[1]
            pending.costed = record.time
            return
        tokens = _TOKENS.search(message) or _OLD_TOKENS.search(message)
        if tokens is None:
            return
        pending.usage = Usage(input_tokens=int(tokens[1]), output_tokens=int(tokens[2]))
        cost = _COST.search(message)
        pending.cost_usd = float(cost[1]) if cost else None
        pending.costed = record.time

    def finish(self) -> Iterator[LLMCall]:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        source = self.source(pending.line)
        ended = pending.costed or pending.responded
        latency = elapsed_ms(pending.started, ended)
        metadata: dict[str, JsonScalar] = {}
        if latency is not None:
            metadata["latency_estimated"] = True
        if pending.cost_usd is not None:
            metadata["cost_usd"] = pending.cost_usd
        if pending.response_cut:
            metadata["response_truncated"] = True
        yield LLMCall(
            call_id=fallback_id(source),
            source=source,
            messages=pending.messages,
            response=pending.response,
            model=pending.model,
            caller=pending.caller,
            usage=pending.usage,
            latency_ms=latency,
            started_at=local_iso(pending.started),
            ended_at=local_iso(ended),
            status="error" if pending.failed else "ok",
            error="attempt_failed" if pending.failed else None,
            metadata=metadata,
        )


# --- rsp_cache.json ------------------------------------------------------------------------------------------

_MSG_SEP = "#MSG_SEP#"
_SYSTEM_END = "#SYSTEM_MSG_END#"
_CACHE_HEAD = re.compile(rb'^\s*\{\s*"((?:[^"\\]|\\.){0,4096})"\s*:\s*[{"]')


def _cache_key_looks_like_prompt(key: str) -> bool:
    return "\n" in key or _MSG_SEP in key or _SYSTEM_END in key


def _looks_like_cache(value: Any) -> bool:
    """A JSON object of prompt -> response: every key a prompt (text with whitespace), every value text or an
    object (aask_code caches function arguments), and at least one key that only a prompt would be (multi-line,
    or MetaGPT's ``#MSG_SEP#`` joins)."""
    if not isinstance(value, Mapping) or not value:
        return False
    prompt_like = False
    for key, response in value.items():
        if not isinstance(key, str) or (not any(c.isspace() for c in key) and _MSG_SEP not in key):
            return False
        if not isinstance(response, (str, Mapping)):
            return False
        prompt_like = prompt_like or _cache_key_looks_like_prompt(key)
    return prompt_like


def _cache_messages(key: str) -> tuple[tuple[Message, ...], str]:
    """The prompt a cache key stands for, and how the key was built (MetaGPT's tests/mock/mock_llm.py):

    - ``aask_code``: ``json.dumps`` of the ``[{role, content}]`` list;
    - ``aask`` with system messages: ``sys1#MSG_SEP#sys2#SYSTEM_MSG_END#`` + the user text;
    - ``aask`` with a message list, ``aask_batch``: the contents joined by ``#MSG_SEP#`` (their roles are lost,
      so each becomes a user turn);
    - ``aask`` with a string: the user text itself.
    """
    if key.startswith("[{"):
        try:
            decoded = json.loads(key)
        except (ValueError, RecursionError):
            decoded = None
        if isinstance(decoded, list) and decoded:
            return openai_messages(decoded), "json-messages"
    system: list[Message] = []
    rest = key
    kind = "text"
    if _SYSTEM_END in key:
        head, _, rest = key.partition(_SYSTEM_END)
        system = [Message("system", part) for part in head.split(_MSG_SEP)]
        kind = "system+text"
    if _MSG_SEP in rest:
        return tuple(system) + tuple(Message("user", part) for part in rest.split(_MSG_SEP)), "joined-contents"
    return (*system, Message("user", rest)), kind


def cache_call_id(key: str) -> str:
    """The id of a cached call: the cache carries none, so a stable hash of its key (the prompt)."""
    return "rsp-cache-" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16]


class MetaGPTCacheReader(FileReader):
    name = "metagpt-cache"
    priority = 850  # a plain prompt -> response object: asked after every reader with named keys
    description = (
        "MetaGPT rsp_cache.json / rsp_cache_new.json: one JSON object of prompt -> response (tests/mock/mock_llm.py "
        "keys); call_id is a hash of the prompt key."
    )

    def claims(self, sample: FileSample) -> bool:
        if sample.records:
            return len(sample.records) == 1 and _looks_like_cache(sample.records[0])
        # too large to sample: judge from the first key of the head (json.dump(..., indent=4))
        match = _CACHE_HEAD.match(sample.head)
        if match is None:
            return False
        first = match[1]
        return b"\\n" in first or _MSG_SEP.encode() in first

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        for item in iter_json_records(path):
            if not isinstance(item, RawRecord):
                ctx.skip(item.reason, path, item.position)
                continue
            document = item.value
            if not isinstance(document, Mapping):
                ctx.skip("cache is not a JSON object", path, item.position)
                continue
            for index, (key, value) in enumerate(document.items()):
                position = f"key {index}"
                try:
                    yield self._call(key, value, SourceRef(str(path), position, self.name))
                except DATA_ERRORS as exc:
                    ctx.skip(skip_reason(exc), path, position)

    def _call(self, key: Any, value: Any, source: SourceRef) -> LLMCall:
        if not isinstance(key, str) or not key:
            raise MalformedRecord("cache key is not a prompt")
        messages, kind = _cache_messages(key)
        metadata: dict[str, JsonScalar] = {"cache_key_kind": kind}
        if isinstance(value, str):
            response = value
        elif isinstance(value, Mapping):
            response = json.dumps(value, ensure_ascii=False)
            metadata["response_kind"] = "function-arguments"
        else:
            raise MalformedRecord("cached response is neither text nor an object")
        return LLMCall(
            call_id=cache_call_id(key),
            source=source,
            messages=messages,
            response=response,
            metadata=metadata,
        )
