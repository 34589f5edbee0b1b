"""SWE-agent trajectories: ``<instance_id>.traj``, one JSON document per agent run.

``{trajectory: [{action, observation, response, thought, state, execution_time?, query?, extra_info?}],
history: [{role, content, agent?, message_type?, thought?, action?, tool_calls?, tool_call_ids?, is_demo?}],
info: {model_stats: {instance_cost, tokens_sent, tokens_received, api_calls}, exit_status, submission, ...},
replay_config?: <run config, an object or its JSON text>, environment}``. A ``RetryAgent`` run writes
``{attempts: [<one such document per attempt>], ...<a copy of the best attempt>}``; its attempts are read and the
copy is not (it would count the best attempt twice).

One call per trajectory step. The prompt is the step's ``query`` (SWE-agent >= 1.1 records the exact messages sent);
older trajectories (0.7, 1.0) have no ``query``, so the prompt is rebuilt from ``history``: the history messages of
the step's agent before the assistant turn holding the step's response (history processors such as
"last N observations" are not replayed, so the rebuilt prompt can be longer than what was sent). The response is
the step's ``response`` (the raw model output); tool calls come from the matching history turn (function-calling
configurations). Token counts are only reported for the whole run (``info.model_stats``), so per-call usage stays
None and the run totals go to metadata. ``execution_time`` is the action's run time in the environment, not the
model's latency. The model name comes from ``replay_config`` (``agent.model.name``) when present.

Steps that are not model calls are passed over: the exit steps SWE-agent adds itself after an error (cost limit,
context window, ...), which carry an empty ``query`` and a message such as "Exit due to cost limit".

The whole document is parsed at once (JSON has no record boundaries inside it), up to the size limit of
``source.iter_json_records``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    content_text,
    loads_if_json_text,
    openai_tool_calls,
    optional_float,
    optional_int,
    optional_str,
)
from slmscout.traces.reader import DATA_ERRORS, FileReader, ReadContext, fallback_id, skip_reason
from slmscout.traces.record import Caller, JsonScalar, LLMCall, Message, SourceRef, ToolCall
from slmscout.traces.source import FileSample, RawRecord, iter_json_records

_EXIT_PREFIXES = ("Exit due to", "Exiting due to")
# A trajectory too big to sample is detected from its head: {"environment": "...", "trajectory": [{"action"...
_HEAD = re.compile(
    rb'^\s*\{\s*(?:"environment"\s*:\s*"[^"]*"\s*,\s*)?"(?:trajectory|attempts)"\s*:\s*\[\s*\{\s*'
    rb'"(?:action|response|observation|thought|trajectory|state)"\s*:'
)


def _is_step(value: Any) -> bool:
    return isinstance(value, Mapping) and "response" in value and ("action" in value or "observation" in value)


def _is_trajectory(record: Any) -> bool:
    if not isinstance(record, Mapping):
        return False
    attempts = record.get("attempts")
    if isinstance(attempts, list) and attempts and all(_is_trajectory(a) for a in attempts):
        return True
    steps = record.get("trajectory")
    if not isinstance(steps, list) or not ("history" in record or "info" in record):
        return False
    if not steps:
        return isinstance(record.get("history"), list)
    return any(_is_step(step) for step in steps[:5])


def _history_message(raw: Mapping[str, Any]) -> Message:
    role = raw.get("role")
    if not isinstance(role, str) or not role:
        raise MalformedRecord("a message has no role")
    tool_call_id = raw.get("tool_call_id")
    ids = raw.get("tool_call_ids")
    if tool_call_id is None and isinstance(ids, list) and ids:
        tool_call_id = ids[0]
    name = raw.get("name")
    return Message(
        role=role,
        content=content_text(raw.get("content")),
        tool_calls=openai_tool_calls(raw.get("tool_calls")),
        name=name if isinstance(name, str) else None,
        tool_call_id=tool_call_id if isinstance(tool_call_id, str) else None,
    )


def _model(replay_config: Any) -> str | None:
    config = loads_if_json_text(replay_config)
    agent = config.get("agent") if isinstance(config, Mapping) else None
    if not isinstance(agent, Mapping):
        return None
    model = agent.get("model")
    if not isinstance(model, Mapping):
        configs = agent.get("agent_configs")  # RetryAgent
        first = configs[0] if isinstance(configs, list) and configs else None
        model = first.get("model") if isinstance(first, Mapping) else None
    if not isinstance(model, Mapping):
        return None
    return optional_str(model.get("name")) or optional_str(model.get("model_name"))


def _instance_id(replay_config: Any, path: Path) -> str:
    config = loads_if_json_text(replay_config)
    problem = config.get("problem_statement") if isinstance(config, Mapping) else None
    found = optional_str(problem.get("id")) if isinstance(problem, Mapping) else None
    return found or path.name.removesuffix(".traj").removesuffix(".json")


def _run_metadata(doc: Mapping[str, Any]) -> dict[str, JsonScalar]:
    out: dict[str, JsonScalar] = {}
    info = doc.get("info")
    if isinstance(info, Mapping):
        for key in ("exit_status", "swe_agent_version"):
            value = optional_str(info.get(key))
            if value:
                out[key] = value
        stats = info.get("model_stats")
        if isinstance(stats, Mapping):
            for key in ("tokens_sent", "tokens_received", "api_calls"):
                number = optional_int(stats.get(key))
                if number is not None:
                    out[f"run_{key}"] = number
            cost = optional_float(stats.get("instance_cost"))
            if cost is not None:
                out["run_instance_cost"] = cost
    environment = optional_str(doc.get("environment"))
    if environment:
        out["environment"] = environment
    return out


class _History:
    """A run's history, converted once, and a cursor matching trajectory steps to its assistant turns."""

    def __init__(self, raw: Any) -> None:
        self.items: list[Mapping[str, Any]] = (
            [h for h in raw if isinstance(h, Mapping)] if isinstance(raw, list) else []
        )
        self._messages: dict[int, Message] = {}
        self.assistant = [i for i, h in enumerate(self.items) if h.get("role") == "assistant"]
        self.cursor = 0  # index into self.assistant of the next turn not yet matched to a step
        agents = [h.get("agent") for h in self.items if isinstance(h.get("agent"), str)]
        self.main_agent: str | None = agents[0] if agents else None

    def message(self, index: int) -> Message:
        if index not in self._messages:
            self._messages[index] = _history_message(self.items[index])
        return self._messages[index]

    def match(self, response: str) -> int | None:
        """The history index of the next assistant turn whose content is ``response``, moving the cursor."""
        for k in range(self.cursor, len(self.assistant)):
            index = self.assistant[k]
            try:
                text = content_text(self.items[index].get("content"))
            except MalformedRecord:
                continue
            if text == response:
                self.cursor = k + 1
                return index
        return None

    def prompt_before(self, index: int | None, agent: str | None) -> tuple[Message, ...]:
        """History turns of ``agent`` before ``index`` (before the next unmatched assistant turn when None)."""
        if index is None:
            index = self.assistant[self.cursor] if self.cursor < len(self.assistant) else len(self.items)
        return tuple(
            self.message(i) for i in range(index) if agent is None or self.items[i].get("agent") in (None, agent)
        )


class SweAgentTrajReader(FileReader):
    name = "swe-agent-traj"
    priority = 160
    description = (
        "SWE-agent .traj trajectories (v0.7 and v1.x, RetryAgent attempts): one call per trajectory step, "
        "prompt = the step's query or the history before it, response = the step's model output."
    )

    def claims(self, sample: FileSample) -> bool:
        if sample.records:
            return any(_is_trajectory(record) for record in sample.records)
        return bool(_HEAD.match(sample.head))

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        for item in iter_json_records(path):
            if not isinstance(item, RawRecord):
                ctx.skip(item.reason, path, item.position)
                continue
            if not _is_trajectory(item.value):
                ctx.skip("record is not a SWE-agent trajectory", path, item.position)
                continue
            prefix = "" if item.position == "1" else f"{item.position} "
            attempts = item.value.get("attempts")
            if isinstance(attempts, list) and attempts:
                for number, attempt in enumerate(attempts):
                    yield from self._run(attempt, path, f"{prefix}attempt {number} ", ctx)
            else:
                yield from self._run(item.value, path, prefix, ctx)

    def _run(self, doc: Mapping[str, Any], path: Path, prefix: str, ctx: ReadContext) -> Iterator[LLMCall]:
        steps = doc.get("trajectory")
        if not isinstance(steps, list):
            ctx.skip("attempt has no trajectory", path, prefix.strip() or "1")
            return
        history = _History(doc.get("history"))
        model = _model(doc.get("replay_config"))
        session = _instance_id(doc.get("replay_config"), path)
        metadata = _run_metadata(doc)
        for number, step in enumerate(steps, start=1):
            position = f"{prefix}step {number}"
            if not isinstance(step, Mapping):
                ctx.skip("trajectory step is not an object", path, position)
                continue
            try:
                call = self._step(step, history, SourceRef(str(path), position, self.name), model, session, metadata)
            except DATA_ERRORS as exc:
                ctx.skip(skip_reason(exc), path, position)
                continue
            if call is not None:
                yield call

    def _step(
        self,
        step: Mapping[str, Any],
        history: _History,
        source: SourceRef,
        model: str | None,
        session: str,
        run_metadata: Mapping[str, JsonScalar],
    ) -> LLMCall | None:
        response = step.get("response")
        if not isinstance(response, str):
            raise MalformedRecord("trajectory step has no response")
        raw_query = step.get("query")
        query: list[Any] = raw_query if isinstance(raw_query, list) else []
        has_query = bool(query)
        if has_query and not any(isinstance(m, Mapping) and m.get("role") for m in query):
            return None  # an exit step SWE-agent wrote itself (empty query): no model call
        if not has_query and not optional_str(step.get("action")) and response.startswith(_EXIT_PREFIXES):
            return None  # the same exit step in trajectories written before "query" existed
        matched = history.match(response)
        turn = history.items[matched] if matched is not None else {}
        agent = optional_str(turn.get("agent")) or history.main_agent
        if has_query:
            messages = tuple(_history_message(m) for m in query if isinstance(m, Mapping) and m.get("role"))
        else:
            messages = history.prompt_before(matched, agent)
        tool_calls: tuple[ToolCall, ...] = openai_tool_calls(turn.get("tool_calls")) if turn else ()
        metadata: dict[str, JsonScalar] = dict(run_metadata)
        action = optional_str(step.get("action"))
        if action:
            metadata["action"] = action
        execution = optional_float(step.get("execution_time"))
        if execution is not None:
            metadata["action_execution_s"] = execution
        if not has_query:
            metadata["prompt_rebuilt_from_history"] = True
        return LLMCall(
            call_id=fallback_id(source),
            source=source,
            messages=messages,
            response=response,
            response_tool_calls=tool_calls,
            model=model,
            caller=Caller(agent=agent or "swe-agent"),
            session_id=session,
            metadata=metadata,
        )
