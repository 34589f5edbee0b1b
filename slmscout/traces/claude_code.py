"""Claude Code session transcripts: ``~/.claude/projects/<cwd>/<session>.jsonl`` (and ``agent-*.jsonl`` subagents).

Each line is one entry ``{type: user|assistant|system|summary|..., uuid, parentUuid, sessionId, timestamp, cwd,
isSidechain, requestId?, message: <Anthropic message>}``. One API call is one ``requestId``: a streamed assistant
message is written as several lines (one per content block: thinking, text, tool_use) sharing the request id, so
their blocks are merged. Its prompt is rebuilt by walking ``parentUuid`` from the first line of the request up to
the root: the user turns (tool results included) and earlier assistant turns on that branch, consecutive turns of
one role merged as the API receives them. Claude Code's system prompt and tool definitions are not in the file.

Memory: the prompt rebuild needs the whole file's branch structure, so the file is read line by line once and,
per line, only its parent id, its role and its content already reduced to text (a ``Message``) are kept, keyed
by uuid, plus the response blocks of each request; raw JSON lines are not kept. Calls are produced after the
file's last line, because a request's lines may be interleaved with tool results (tools run while streaming).

Entries Claude Code writes in the model's place are not API calls: ``model: "<synthetic>"`` messages are passed
over, except ``isApiErrorMessage`` ones, which are read as failed calls (status "error", ``error`` = the entry's
error kind, e.g. "rate_limit").
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    anthropic_content_text,
    anthropic_tool_calls,
    anthropic_usage,
    optional_str,
)
from slmscout.traces.reader import DATA_ERRORS, FileReader, ReadContext, skip_reason
from slmscout.traces.record import Caller, JsonScalar, LLMCall, Message, SourceRef, ToolCall
from slmscout.traces.source import FileSample, iter_lines, open_binary
from slmscout.traces.timestamps import iso_utc, latency_ms

_CHAIN_TYPES = {"user", "assistant", "system", "progress", "attachment"}
_SYNTHETIC_MODEL = "<synthetic>"
_MAX_ERROR_KIND = 64


@dataclass(slots=True)
class _Node:
    """One transcript line on the parent chain: what a prompt rebuild needs of it."""

    parent: str | None
    message: Message | None  # None for lines that are not conversation turns (system notes, progress...)
    timestamp: str | None


@dataclass(slots=True)
class _Request:
    """The lines of one API call (one requestId), in file order."""

    key: str
    first_uuid: str
    first_line: int
    parent: str | None
    texts: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Any = None
    usage_final: bool = False
    stop_reason: str | None = None
    model: str | None = None
    last_timestamp: str | None = None
    entry: dict[str, JsonScalar] = field(default_factory=dict)  # sessionId, cwd, isSidechain, ... of line one
    error: str | None = None
    synthetic: bool = False


def _is_entry(record: Any) -> bool:
    if not isinstance(record, Mapping):
        return False
    kind = record.get("type")
    if kind in _CHAIN_TYPES:
        return isinstance(record.get("uuid"), str) and "parentUuid" in record and "sessionId" in record
    if kind == "summary":
        return "leafUuid" in record and "summary" in record
    return False


class ClaudeCodeReader(FileReader):
    name = "claude-code"
    priority = 150
    description = (
        "Claude Code session transcripts (~/.claude/projects/<project>/<session>.jsonl and subagent "
        "agent-*.jsonl): one call per requestId, prompt rebuilt along the parentUuid chain."
    )

    def claims(self, sample: FileSample) -> bool:
        return any(
            _is_entry(r) and r.get("type") in ("user", "assistant") and isinstance(r.get("message"), Mapping)
            for r in sample.records
        )

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        nodes: dict[str, _Node] = {}
        requests: dict[str, _Request] = {}
        with open_binary(path) as stream:
            for number, line in iter_lines(stream):
                position = str(number)
                if line is None:
                    ctx.skip("line too long", path, position)
                    continue
                if not line.strip():
                    continue
                try:
                    self._take_line(line, number, nodes, requests)
                except DATA_ERRORS as exc:
                    ctx.skip(skip_reason(exc), path, position)
        merged: dict[tuple[str, str], Message] = {}
        for request in requests.values():
            if request.synthetic and request.error is None:
                continue  # a message Claude Code wrote itself ("No response requested."): no API call
            position = str(request.first_line)
            try:
                yield self._call(request, nodes, merged, SourceRef(str(path), position, self.name))
            except DATA_ERRORS as exc:
                ctx.skip(skip_reason(exc), path, position)

    # --- pass 1: the lines ---------------------------------------------------------------------------------

    def _take_line(self, line: bytes, number: int, nodes: dict[str, _Node], requests: dict[str, _Request]) -> None:
        try:
            record = json.loads(line.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):
            raise MalformedRecord("invalid JSON") from None
        if not isinstance(record, Mapping):
            raise MalformedRecord("record is not a JSON object")
        kind = record.get("type")
        uuid = record.get("uuid")
        if kind not in _CHAIN_TYPES or not isinstance(uuid, str):
            return  # summary, file-history-snapshot, queue-operation...: not on the conversation chain
        parent = optional_str(record.get("parentUuid"))
        timestamp = iso_utc(record.get("timestamp"))
        raw = record.get("message")
        if kind not in ("user", "assistant") or not isinstance(raw, Mapping):
            nodes[uuid] = _Node(parent, None, timestamp)
            return
        content = raw.get("content")
        role = optional_str(raw.get("role")) or kind
        try:
            text = anthropic_content_text(content)
        except MalformedRecord:
            nodes[uuid] = _Node(parent, None, timestamp)  # keep the chain whole, report the line
            raise MalformedRecord("message content is neither text nor a list of blocks") from None
        if kind == "user":
            nodes[uuid] = _Node(parent, Message(role, text), timestamp)
            return
        calls = anthropic_tool_calls(content)
        key = (
            optional_str(record.get("requestId"))
            or optional_str(raw.get("id"))
            or uuid  # an entry with neither (API error messages): a request of its own
        )
        nodes[uuid] = _Node(parent, Message(role, text, tool_calls=calls), timestamp)
        request = requests.get(key)
        if request is None:
            request = requests[key] = _Request(key=key, first_uuid=uuid, first_line=number, parent=parent)
            request.entry = _entry_fields(record, raw)
        _add_blocks(request, content)
        request.tool_calls.extend(calls)
        request.last_timestamp = timestamp or request.last_timestamp
        model = optional_str(raw.get("model"))
        if model == _SYNTHETIC_MODEL:
            request.synthetic = True
        elif model:
            request.model = model
        stop_reason = optional_str(raw.get("stop_reason"))
        usage = raw.get("usage")
        # streamed lines repeat the usage of message_start; the line carrying stop_reason has the final counts
        if isinstance(usage, Mapping) and (stop_reason or not request.usage_final):
            request.usage = usage
            request.usage_final = request.usage_final or bool(stop_reason)
        request.stop_reason = stop_reason or request.stop_reason
        if record.get("isApiErrorMessage") is True:
            kind_of_error = record.get("error")
            short = isinstance(kind_of_error, str) and 0 < len(kind_of_error) <= _MAX_ERROR_KIND
            request.error = kind_of_error if short and isinstance(kind_of_error, str) else "api_error"

    # --- pass 2: the calls ---------------------------------------------------------------------------------

    def _call(
        self,
        request: _Request,
        nodes: dict[str, _Node],
        merged: dict[tuple[str, str], Message],
        source: SourceRef,
    ) -> LLMCall:
        messages, complete = _prompt(request.parent, nodes, merged)
        parent = nodes.get(request.parent) if request.parent else None
        first = nodes.get(request.first_uuid)
        started = parent.timestamp if parent and parent.timestamp else (first.timestamp if first else None)
        ended = request.last_timestamp
        failed = request.error is not None
        metadata: dict[str, JsonScalar] = {
            k: v for k, v in request.entry.items() if k not in ("sessionId", "isSidechain", "requestId")
        }
        if request.stop_reason and not failed:
            metadata["stop_reason"] = request.stop_reason
        if request.thinking:
            metadata["reasoning"] = "\n".join(request.thinking)
        if not complete:
            metadata["prompt_incomplete"] = True  # the chain leads to an entry not in this file
        return LLMCall(
            call_id=request.key,  # requestId; else the message id; else the line's uuid
            source=source,
            messages=messages,
            response=None if failed else "\n".join(request.texts),
            response_tool_calls=() if failed else tuple(request.tool_calls),
            model=request.model,
            caller=Caller(agent="claude-code", role="subagent" if request.entry.get("isSidechain") else None),
            session_id=optional_str(request.entry.get("sessionId")),
            usage=None if failed else anthropic_usage(request.usage),
            latency_ms=latency_ms(started, ended) if parent else None,
            started_at=started,
            ended_at=ended,
            status="error" if failed else "ok",
            error=request.error,
            metadata=metadata,
        )


def _entry_fields(record: Mapping[str, Any], message: Mapping[str, Any]) -> dict[str, JsonScalar]:
    fields: dict[str, JsonScalar] = {}
    for key, name in (
        ("requestId", "requestId"),
        ("sessionId", "sessionId"),
        ("cwd", "cwd"),
        ("version", "version"),
        ("gitBranch", "git_branch"),
        ("agentId", "agent_id"),
    ):
        value = optional_str(record.get(key))
        if value:
            fields[name] = value
    message_id = optional_str(message.get("id"))
    if message_id:
        fields["message_id"] = message_id
    fields["isSidechain"] = record.get("isSidechain") is True
    return fields


def _add_blocks(request: _Request, content: Any) -> None:
    if isinstance(content, str):
        request.texts.append(content)
        return
    if not isinstance(content, list):
        return
    for block in content:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            request.texts.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            request.thinking.append(block["thinking"])


def _prompt(
    start: str | None, nodes: dict[str, _Node], merged: dict[tuple[str, str], Message]
) -> tuple[tuple[Message, ...], bool]:
    """The turns on the branch ending at ``start``, oldest first, consecutive turns of one role merged."""
    chain: list[tuple[str, Message]] = []
    seen: set[str] = set()
    current = start
    complete = True
    while current is not None:
        node = nodes.get(current)
        if node is None or current in seen:
            complete = False
            break
        seen.add(current)
        if node.message is not None:
            chain.append((current, node.message))
        current = node.parent
    chain.reverse()
    out: list[Message] = []
    index = 0
    while index < len(chain):
        end = index + 1
        while end < len(chain) and chain[end][1].role == chain[index][1].role:
            end += 1
        run = chain[index:end]
        if len(run) == 1:
            out.append(run[0][1])
        else:
            key = (run[0][0], run[-1][0])
            if key not in merged:  # shared by every later call on this branch: built once
                merged[key] = Message(
                    run[0][1].role,
                    "\n".join(m.content for _, m in run if m.content),
                    tool_calls=tuple(c for _, m in run for c in m.tool_calls),
                )
            out.append(merged[key])
        index = end
    return tuple(out), complete
