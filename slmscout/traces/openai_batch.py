"""OpenAI Batch API files: request lines joined with result lines on ``custom_id``.

Input (the uploaded ``.jsonl``), one request a line::

    {"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions", "body": {<chat request>}}

Output and error files (``BatchRequestOutput``), one result a line, in any order::

    {"id": "batch_req_...", "custom_id": "req-1",
     "response": {"status_code": 200, "request_id": "...", "body": {<chat completion>}} | null,
     "error": {"code": "batch_expired" | "batch_cancelled" | "request_timeout", "message": ...} | null}

A request the API rejected comes back with ``error: null`` and ``response.status_code >= 400`` whose body is the
API error ``{"error": {message, type, param, code}}``; a request that never ran (expired, cancelled, timed out) has
``response: null`` and a top-level ``error``. vLLM's ``run-batch`` writes the same shape.

Reading: every input line of every claimed file is indexed by ``custom_id`` with its parsed request only (memory is
bounded by the input side); then the output lines are streamed and joined. The call's source is its input line;
the output line is named in ``metadata["batch_output"]``. Decisions:

- an output line without an input line is skipped ("batch output has no matching input"): its prompt is unknown;
- an input line without an output line is still a call (prompt and tools known, ``response`` None, status "ok",
  ``metadata["batch_output"] = "missing"``): the batch may be unfinished or its error file not downloaded; an
  output line that cannot be read is skipped and its input is such a call too (``"unreadable"``);
- ``/v1/chat/completions`` and ``/v1/completions`` requests are read; other endpoints (embeddings, moderations,
  responses, images) are skipped with a reason;
- when the same ``custom_id`` is in several input files (several batches in one folder), an output joins the input
  in the same folder whose file name shares the longest prefix with the output file's name; a tie is skipped.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slmscout.traces.content import MalformedRecord, loads_if_json_text, optional_int, optional_str
from slmscout.traces.openai_chat import ChatRequest, ChatResult, chat_call, chat_request, chat_response
from slmscout.traces.reader import DATA_ERRORS, ReadContext, TraceReader, skip_reason
from slmscout.traces.record import JsonScalar, LLMCall, Message, SourceRef
from slmscout.traces.responses import error_type
from slmscout.traces.source import FileSample, RawRecord, Skip, iter_records

_IO_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)


def _custom_id(record: Mapping[str, Any]) -> str | None:
    return optional_str(record.get("custom_id"))


def is_batch_input(record: Any) -> bool:
    """A request line: ``custom_id``, a ``body`` object, and ``url`` or ``method``."""
    return (
        isinstance(record, Mapping)
        and "custom_id" in record
        and isinstance(record.get("body"), Mapping)
        and ("url" in record or "method" in record)
    )


def is_batch_output(record: Any) -> bool:
    """A result line: ``custom_id`` and a ``response`` that is null or holds ``status_code`` / ``body``."""
    if not isinstance(record, Mapping) or "custom_id" not in record or "response" not in record:
        return False
    response = record["response"]
    if response is None:
        return "error" in record
    return isinstance(response, Mapping) and ("status_code" in response or "body" in response)


@dataclass(frozen=True, slots=True)
class _Pending:
    """An input line waiting for its result: where it stood and its parsed request."""

    path: Path
    position: str
    request: ChatRequest


def _completion_request(body: Mapping[str, Any]) -> ChatRequest:
    """A legacy ``/v1/completions`` body: its ``prompt`` becomes one user message."""
    prompt = body.get("prompt")
    if isinstance(prompt, Sequence) and not isinstance(prompt, str) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise MalformedRecord("completion request has no single text prompt")
    max_tokens = optional_int(body.get("max_tokens"))
    metadata: dict[str, JsonScalar] = {"max_tokens": max_tokens} if max_tokens is not None else {}
    return ChatRequest((Message("user", prompt),), model=optional_str(body.get("model")), metadata=metadata)


def _endpoint(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    return url.split("?", 1)[0].rstrip("/")


def _input_request(record: Mapping[str, Any]) -> ChatRequest:
    body = record["body"]
    endpoint = _endpoint(record.get("url"))
    if endpoint is None or endpoint.endswith("/chat/completions"):
        return chat_request(body)
    if endpoint.endswith("/completions"):
        return _completion_request(body)
    raise MalformedRecord("batch request is not a chat or text completion")


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters two file names share."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _closest(candidates: list[_Pending], output: Path) -> _Pending | None:
    """The input candidate nearest the output file (same folder, longest shared file-name prefix); None on a tie."""
    if len(candidates) == 1:
        return candidates[0]
    scored = sorted(
        ((c.path.parent == output.parent, _common_prefix(c.path.name, output.name)), i)
        for i, c in enumerate(candidates)
    )
    best, runner_up = scored[-1], scored[-2]
    if best[0] == runner_up[0]:
        return None
    return candidates[best[1]]


def _outcome(record: Mapping[str, Any]) -> tuple[ChatResult, int | None]:
    """The result of an output line, and its HTTP status."""
    response = record.get("response")
    error = record.get("error")
    status_code = None
    body: Any = None
    if isinstance(response, Mapping):
        status_code = optional_int(response.get("status_code"))
        body = loads_if_json_text(response.get("body"))
    if status_code is not None and status_code >= 400:
        kind = error_type(body) if isinstance(body, Mapping) and body.get("error") else f"http_{status_code}"
        return ChatResult(status="error", error=kind), status_code
    if error:
        return ChatResult(status="error", error=error_type(error)), status_code
    return chat_response(body), status_code


class OpenAIBatchReader(TraceReader):
    name = "openai-batch"
    priority = 120
    description = (
        "OpenAI Batch API JSONL: input lines {custom_id, method, url, body} joined on custom_id with output/error "
        "lines {id, custom_id, response: {status_code, request_id, body}, error} across the claimed files."
    )

    def claims(self, sample: FileSample) -> bool:
        return any(is_batch_input(r) or is_batch_output(r) for r in sample.records)

    def read(self, files: Sequence[Path], ctx: ReadContext) -> Iterator[LLMCall]:
        pending: dict[str, list[_Pending]] = {}
        unread: set[str] = set()  # custom_ids whose input line was skipped
        output_files = [path for path in files if self._index_file(path, pending, unread, ctx)]
        joined: set[str] = set()
        for path in output_files:
            yield from self._join_file(path, pending, unread, joined, ctx)
        for custom_id, waiting in pending.items():
            for item in waiting:
                yield self._call(custom_id, item, ChatResult(), {"batch_output": "missing"})

    def _index_file(self, path: Path, pending: dict[str, list[_Pending]], unread: set[str], ctx: ReadContext) -> bool:
        """Index the file's input lines; True when it also holds output lines."""
        has_output = False
        seen_here: set[str] = set()
        try:
            for item in iter_records(path):
                if isinstance(item, Skip):
                    ctx.skip(item.reason, path, item.position)
                    continue
                value = item.value
                if is_batch_output(value):
                    has_output = True
                elif is_batch_input(value):
                    self._index_record(value, path, item.position, pending, unread, seen_here, ctx)
                elif isinstance(value, Mapping):
                    ctx.skip(f"record is not in the {self.name} shape", path, item.position)
                else:
                    ctx.skip("record is not a JSON object", path, item.position)
        except _IO_ERRORS:
            ctx.skip("file cannot be read to its end", path, "end")
        return has_output

    def _index_record(
        self,
        record: Mapping[str, Any],
        path: Path,
        position: str,
        pending: dict[str, list[_Pending]],
        unread: set[str],
        seen_here: set[str],
        ctx: ReadContext,
    ) -> None:
        custom_id = _custom_id(record)
        if custom_id is None:
            ctx.skip("batch record has no custom_id", path, position)
            return
        if custom_id in seen_here:
            ctx.skip("duplicate custom_id in batch input", path, position)
            return
        seen_here.add(custom_id)
        try:
            request = _input_request(record)
        except DATA_ERRORS as exc:
            unread.add(custom_id)
            ctx.skip(skip_reason(exc), path, position)
            return
        pending.setdefault(custom_id, []).append(_Pending(path, position, request))

    def _join_file(
        self,
        path: Path,
        pending: dict[str, list[_Pending]],
        unread: set[str],
        joined: set[str],
        ctx: ReadContext,
    ) -> Iterator[LLMCall]:
        try:
            for item in iter_records(path):
                if not isinstance(item, RawRecord) or not is_batch_output(item.value):
                    continue  # reported while indexing
                call = self._join(item.value, path, item.position, pending, unread, joined, ctx)
                if call is not None:
                    yield call
        except _IO_ERRORS:
            ctx.skip("file cannot be read to its end", path, "end")

    def _join(
        self,
        record: Mapping[str, Any],
        path: Path,
        position: str,
        pending: dict[str, list[_Pending]],
        unread: set[str],
        joined: set[str],
        ctx: ReadContext,
    ) -> LLMCall | None:
        custom_id = _custom_id(record)
        if custom_id is None:
            ctx.skip("batch record has no custom_id", path, position)
            return None
        candidates = pending.get(custom_id)
        if not candidates:
            if custom_id in unread:
                reason = "batch output of an input line that was skipped"
            elif custom_id in joined:
                reason = "duplicate custom_id in batch output"
            else:
                reason = "batch output has no matching input"
            ctx.skip(reason, path, position)
            return None
        match = _closest(candidates, path)
        if match is None:
            ctx.skip("custom_id matches input lines in several batch files", path, position)
            return None
        candidates.remove(match)
        if not candidates:
            del pending[custom_id]
        joined.add(custom_id)
        extra: dict[str, JsonScalar] = {"batch_output": f"{path.name}:{position}"}
        try:
            result, status_code = _outcome(record)
        except DATA_ERRORS as exc:
            ctx.skip(skip_reason(exc), path, position)  # the prompt is still known: a call with no response
            result, status_code, extra["batch_output"] = ChatResult(), None, "unreadable"
        if status_code is not None:
            extra["http_status"] = status_code
        return self._call(custom_id, match, result, extra)

    def _call(self, custom_id: str, item: _Pending, result: ChatResult, extra: dict[str, JsonScalar]) -> LLMCall:
        source = SourceRef(str(item.path), item.position, self.name)
        return chat_call(item.request, result, source, custom_id, extra=extra)
