"""Cradle: ``runs/<unix_ts>/logs/cradle.log``, a Python ``logging`` text log with marked request/response blocks.

Records start with ``%(asctime)s - ...`` in one of the layouts Cradle's ``cradle/log/logger.py`` has used::

    2024-06-01 14:03:22,117 - UAC Logger - CPU: 12.0%, Memory: 61.0% - DEBUG - <message>
    2024-06-01 14:03:22,117 - CPU: 12.0%, Memory: 61.0% - UAC Logger - DEBUG - <message>
    2024-06-01 14:03:22,117 - UAC Logger - DEBUG - <message>

and run until the next such line. INFO and higher lines carry ANSI colour codes (the colour formatter of the
console handler rewrites the shared ``LogRecord`` before the file handler formats it); they are stripped. Only
``UAC Logger`` records matter: ``openai``/``httpx``/``httpcore`` DEBUG lines that the root logger also writes
(``Request options: {...}`` and the like) are noise, read past without being held or counted.

Per call (``cradle/planner/*``, ``cradle/provider/llm/openai.py``):

- ``\\n>> Upstream - R:\\n`` + ``json.dumps(messages)``: the prompt, OpenAI messages whose image parts hold base64
  data (replaced by a placeholder and a hash);
- ``Requesting <model> completion...`` (or, in debug mode, ``Creating chat completion with model <model>, ...``)
  and ``Response received from <model>.``: the model and the latency between the two;
- ``\\n>> Downstream - A:\\n`` + the raw response text, over as many lines as it has.

The caller is the runner's ``>> Calling ACTION PLANNING`` (module) and ``>>> Agent loop #N`` (step, in
metadata). Tokens are not logged. Timestamps are local time without a zone, kept zone-less.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from slmscout.traces.content import MalformedRecord, openai_messages
from slmscout.traces.reader import FileReader, ReadContext, fallback_id
from slmscout.traces.record import Caller, JsonScalar, LLMCall, Message
from slmscout.traces.source import FileSample
from slmscout.traces.textlog import LogRecord, RecordPairing, elapsed_ms, local_iso, local_time, log_records

MAX_RECORD_CHARS = 256 * 1024 * 1024  # a request with many screenshots is large; past this it is skipped

LOGGER_NAME = "UAC Logger"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_USAGE = r"CPU: [\d.]+%, Memory: [\d.]+% - "
_HEADER = re.compile(
    rf"^(?P<time>\d{{4}}-\d{{2}}-\d{{2}} \d{{2}}:\d{{2}}:\d{{2}},\d{{3}}) - (?:{_USAGE})?(?P<name>.+?) - "
    rf"(?:{_USAGE})?(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) - ?(?P<message>.*)$",
    re.DOTALL,
)
_CLAIM = re.compile(
    rb"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} - (?:CPU: [\d.]+%, Memory: [\d.]+% - )?(?:\x1b\[[0-9;]*m)*"
    rb"UAC Logger - ",
    re.MULTILINE,
)
UPSTREAM = ">> Upstream - R:"
DOWNSTREAM = ">> Downstream - A:"
_REQUESTING = re.compile(r"^Requesting (\S+) completion\.\.\.")
_CREATING = re.compile(r"^Creating chat completion with model (\S+?),")
_RECEIVED = re.compile(r"^Response received from (.+?)\.?\s*$")
_LOOP = re.compile(r"^>>> Agent loop #(\d+)")
_CALLING = re.compile(r"^>> Calling (.+?)\s*$")


def run_id(path: Path) -> str | None:
    """The run folder of ``runs/<unix_ts>/logs/cradle.log``: the session every call of the file belongs to."""
    if path.parent.name == "logs" and path.parent.parent.name:
        return path.parent.parent.name
    return None


@dataclass
class _Pending:
    line: int
    logged: datetime | None
    messages: tuple[Message, ...]
    step: int | None
    module: str | None
    model_requested: str | None = None
    model: str | None = None
    requested: datetime | None = None
    received: datetime | None = None
    failed: bool = False


class CradleLogReader(FileReader):
    name = "cradle-log"
    priority = 60  # a logging text file written by Cradle's "UAC Logger": nothing else claims it
    description = (
        "Cradle runs/<ts>/logs/cradle.log: '>> Upstream - R:' JSON messages, 'Requesting/Response received' "
        "(model, latency), '>> Downstream - A:' response; caller from '>> Calling <MODULE>' and 'Agent loop #N'."
    )

    def claims(self, sample: FileSample) -> bool:
        return _CLAIM.search(sample.head) is not None

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        records = log_records(
            path, ctx, _HEADER, _record, max_record_chars=MAX_RECORD_CHARS, clean=_strip_ansi, keep_cut_head=False
        )
        yield from _State(self.name, path, ctx).calls(records)


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _record(number: int, header: re.Match[str]) -> LogRecord | None:
    """A ``UAC Logger`` record; other loggers' records are noise, read past."""
    if header["name"].strip() != LOGGER_NAME:
        return None
    message = header["message"]
    return LogRecord(
        number, local_time(header["time"], "%Y-%m-%d %H:%M:%S,%f"), header["level"], parts=[message], size=len(message)
    )


class _State(RecordPairing):
    """Pairing state of one log file: the caller so far and the call whose parts are still coming."""

    def __init__(self, reader: str, path: Path, ctx: ReadContext) -> None:
        super().__init__(reader, path, ctx)
        self.session = run_id(path)
        self.step: int | None = None
        self.module: str | None = None
        self.pending: _Pending | None = None

    def _take(self, record: LogRecord) -> Iterator[LLMCall]:
        body = record.message.lstrip("\n")
        if body.startswith(UPSTREAM):
            yield from self.finish()
            if record.cut:
                raise MalformedRecord("request record too large")
            try:
                prompt = json.loads(body[len(UPSTREAM) :])
            except (ValueError, RecursionError):
                raise MalformedRecord("request is not valid JSON") from None
            self.pending = _Pending(record.line, record.time, openai_messages(prompt), self.step, self.module)
            return
        if body.startswith(DOWNSTREAM):
            pending = self.pending
            if pending is None:
                raise MalformedRecord("response without a logged request")
            if record.cut:
                raise MalformedRecord("response record too large")
            text = body[len(DOWNSTREAM) :].removeprefix("\n").removesuffix("\n")
            yield from self.finish(text, record.time)
            return
        first = body.split("\n", 1)[0]
        pending = self.pending
        requested = _REQUESTING.match(first) or _CREATING.match(first)
        received = _RECEIVED.match(first)
        if requested:
            if pending is not None and pending.requested is None:
                pending.model_requested = requested[1]
                pending.requested = record.time
        elif received:
            if pending is not None:
                pending.model = received[1]
                pending.received = record.time
        elif loop := _LOOP.match(first):
            self.step = int(loop[1])
        elif calling := _CALLING.match(first):
            self.module = calling[1]
        elif record.level in ("ERROR", "CRITICAL") and pending is not None and pending.received is None:
            pending.failed = True

    def finish(self, response: str | None = None, answered: datetime | None = None) -> Iterator[LLMCall]:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        source = self.source(pending.line)
        call_id = fallback_id(source)
        if self.session:  # every run's log is called cradle.log: the run folder keeps the ids apart
            call_id = f"{self.session}/{call_id}"
        metadata: dict[str, JsonScalar] = {}
        if pending.step is not None:
            metadata["step"] = pending.step
        start = pending.requested or pending.logged
        end = pending.received or answered
        latency = elapsed_ms(start, end)
        if latency is not None and (pending.requested is None or pending.received is None):
            metadata["latency_estimated"] = True
        if pending.model_requested and pending.model and pending.model_requested != pending.model:
            metadata["model_requested"] = pending.model_requested
        failed = pending.failed and response is None
        yield LLMCall(
            call_id=call_id,
            source=source,
            messages=pending.messages,
            response=response,
            model=pending.model or pending.model_requested,
            caller=Caller(module=pending.module),
            session_id=self.session,
            latency_ms=latency,
            started_at=local_iso(start),
            ended_at=local_iso(end),
            status="error" if failed else "ok",
            error="error_logged" if failed else None,
            metadata=metadata,
        )
