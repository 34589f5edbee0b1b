"""Writers that turn calls in the chat "messages" layout into other trace formats, as those tools write them.

Used by the round-trip test: the real corpora are converted into each format and read back, and the calls must
be the same. Each writer takes records ``{"id", "messages": [...], "model"?}`` and a folder, and writes files.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Record = dict[str, Any]
T0 = 1_717_000_000_000_000_000  # a fixed epoch in nanoseconds, so output is reproducible


def split(record: Record) -> tuple[list[dict[str, Any]], str | None]:
    """Prompt messages and the response text (the last assistant turn), as the chat-messages reader sees them."""
    messages = normalised(record)["messages"]
    if messages and messages[-1]["role"] == "assistant":
        return messages[:-1], messages[-1].get("content")
    return messages, None


def normalised(record: Record) -> Record:
    """The record with Gemini's "model" role named "assistant", as every reader names it."""
    messages = [{**m, "role": "assistant" if m["role"] == "model" else m["role"]} for m in record["messages"]]
    return {**record, "messages": messages}


def model_of(record: Record) -> str:
    return record.get("model") or "gpt-4o-mini"


def _jsonl(path: Path, rows: Sequence[Any]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def completion(record: Record, index: int) -> dict[str, Any]:
    _, response = split(record)
    return {
        "id": f"chatcmpl-{index}",
        "object": "chat.completion",
        "created": 1_717_000_000 + index,
        "model": model_of(record),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": response}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


# --- format 1: OpenAI ---------------------------------------------------------------------------------------


def openai_pairs(records: Sequence[Record], folder: Path) -> None:
    rows = []
    for i, record in enumerate(records):
        prompt, _ = split(record)
        rows.append(
            {
                "id": record["id"],
                "request": {"model": model_of(record), "messages": prompt},
                "response": completion(record, i),
            }
        )
    _jsonl(folder / "pairs.jsonl", rows)


def openai_batch(records: Sequence[Record], folder: Path) -> None:
    inputs, outputs = [], []
    for i, record in enumerate(records):
        prompt, _ = split(record)
        body = {"model": model_of(record), "messages": prompt}
        inputs.append({"custom_id": record["id"], "method": "POST", "url": "/v1/chat/completions", "body": body})
        outputs.append(
            {
                "id": f"batch_req_{i}",
                "custom_id": record["id"],
                "response": {"status_code": 200, "request_id": f"req_{i}", "body": completion(record, i)},
                "error": None,
            }
        )
    random.Random(7).shuffle(outputs)  # output lines come in any order
    _jsonl(folder / "batch_input.jsonl", inputs)
    _jsonl(folder / "batch_output.jsonl", outputs)


# --- format 3: chat datasets --------------------------------------------------------------------------------


def messages_jsonl(records: Sequence[Record], folder: Path) -> None:
    _jsonl(folder / "messages.jsonl", records)


def prompt_completion(records: Sequence[Record], folder: Path) -> None:
    rows = []
    for record in records:
        prompt, response = split(record)
        answer = [] if response is None else [{"role": "assistant", "content": response}]
        rows.append({"id": record["id"], "prompt": prompt, "completion": answer})
    _jsonl(folder / "prompt_completion.jsonl", rows)


SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt", "tool": "observation"}


def sharegpt(records: Sequence[Record], folder: Path) -> None:
    rows = [
        {
            "id": r["id"],
            "conversations": [
                {"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in normalised(r)["messages"]
            ],
        }
        for r in records
    ]
    (folder / "sharegpt.json").write_text(json.dumps(rows), encoding="utf-8")


def messages_csv(records: Sequence[Record], folder: Path) -> None:
    with (folder / "messages.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "messages"])
        for record in records:
            writer.writerow([record["id"], json.dumps(record["messages"])])


def messages_parquet(records: Sequence[Record], folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([{"id": r["id"], "messages": r["messages"]} for r in records])
    pq.write_table(table, folder / "messages.parquet")


def hf_save_to_disk(records: Sequence[Record], folder: Path) -> None:
    from datasets import Dataset

    Dataset.from_list([{"id": r["id"], "messages": r["messages"]} for r in records]).save_to_disk(
        str(folder / "hf_dataset")
    )


# --- format 4: OpenTelemetry (OTLP JSON, GenAI semantic conventions) ----------------------------------------


def span_id(call_id: str) -> str:
    return hashlib.sha256(call_id.encode()).hexdigest()[:16]


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def otlp_genai(records: Sequence[Record], folder: Path) -> None:
    lines = []
    for i, record in enumerate(records):
        prompt, response = split(record)
        inputs = [{"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]} for m in prompt]
        outputs = (
            []
            if response is None
            else [{"role": "assistant", "parts": [{"type": "text", "content": response}], "finish_reason": "stop"}]
        )
        start = T0 + i * 1_000_000_000
        span = {
            "traceId": hashlib.sha256(b"trace" + record["id"].encode()).hexdigest()[:32],
            "spanId": span_id(record["id"]),
            "name": f"chat {model_of(record)}",
            "kind": 3,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + 500_000_000),
            "attributes": [
                _attr("gen_ai.operation.name", "chat"),
                _attr("gen_ai.request.model", model_of(record)),
                _attr("gen_ai.usage.input_tokens", 10),
                _attr("gen_ai.usage.output_tokens", 5),
                _attr("gen_ai.input.messages", json.dumps(inputs)),
                _attr("gen_ai.output.messages", json.dumps(outputs)),
            ],
            "events": [],
            "status": {"code": 1},
        }
        lines.append(
            {
                "resourceSpans": [
                    {
                        "resource": {"attributes": [_attr("service.name", "roundtrip-agent")]},
                        "scopeSpans": [{"scope": {"name": "roundtrip", "version": "1"}, "spans": [span]}],
                    }
                ]
            }
        )
    _jsonl(folder / "traces.otlp.jsonl", lines)


# --- format 5: Langfuse and LangSmith -----------------------------------------------------------------------


def _iso(i: int, offset_ms: int = 0) -> str:
    seconds, millis = divmod(i * 1000 + offset_ms, 1000)
    minute, second = divmod(seconds, 60)
    return f"2025-03-02T10:{minute % 60:02d}:{second:02d}.{millis:03d}Z"


def langfuse_api(records: Sequence[Record], folder: Path) -> None:
    rows = []
    for i, record in enumerate(records):
        prompt, response = split(record)
        rows.append(
            {
                "id": record["id"],
                "traceId": f"trace-{i}",
                "type": "GENERATION",
                "name": "llm-call",
                "startTime": _iso(i),
                "endTime": _iso(i, 500),
                "model": model_of(record),
                "input": prompt,
                "output": None if response is None else {"role": "assistant", "content": response},
                "usageDetails": {"input": 10, "output": 5, "total": 15},
                "metadata": {},
                "level": "DEFAULT",
                "parentObservationId": None,
            }
        )
    (folder / "langfuse_observations.json").write_text(json.dumps({"data": rows, "meta": {"page": 1}}), "utf-8")


def langfuse_blob(records: Sequence[Record], folder: Path) -> None:
    rows = []
    for i, record in enumerate(records):
        prompt, response = split(record)
        rows.append(
            {
                "id": record["id"],
                "trace_id": f"trace-{i}",
                "type": "GENERATION",
                "name": "llm-call",
                "start_time": "2025-03-02 10:00:00.000000",
                "end_time": "2025-03-02 10:00:00.500000",
                "provided_model_name": model_of(record),
                "input": json.dumps(prompt),
                "output": json.dumps(None if response is None else {"role": "assistant", "content": response}),
                "level": "DEFAULT",
            }
        )
    _jsonl(folder / "langfuse_blob.jsonl", rows)


LC_TYPES = {"system": "SystemMessage", "user": "HumanMessage", "assistant": "AIMessage", "tool": "ToolMessage"}


def _lc(message: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"content": message["content"], "type": LC_TYPES[message["role"]][:-7].lower()}
    if message["role"] == "tool":
        kwargs["tool_call_id"] = message.get("tool_call_id") or "call-0"
    return {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", LC_TYPES[message["role"]]],
        "kwargs": kwargs,
    }


def langsmith_runs(records: Sequence[Record], folder: Path) -> None:
    rows = []
    for i, record in enumerate(records):
        prompt, response = split(record)
        generations = (
            []
            if response is None
            else [
                [
                    {
                        "text": response,
                        "type": "ChatGeneration",
                        "message": _lc({"role": "assistant", "content": response}),
                    }
                ]
            ]
        )
        rows.append(
            {
                "id": record["id"],
                "name": "ChatOpenAI",
                "run_type": "llm",
                "start_time": _iso(i),
                "end_time": _iso(i, 500),
                "inputs": {"messages": [[_lc(m) for m in prompt]]},
                "outputs": {"generations": generations, "llm_output": {"model_name": model_of(record)}},
                "extra": {"invocation_params": {"model": model_of(record)}, "metadata": {}},
                "error": None,
                "parent_run_id": None,
                "trace_id": record["id"],
                "status": "success",
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "total_tokens": 15,
            }
        )
    _jsonl(folder / "langsmith_runs.jsonl", rows)


WRITERS: dict[str, Callable[[Sequence[Record], Path], None]] = {
    "openai-chat": openai_pairs,
    "openai-batch": openai_batch,
    "chat-messages (jsonl)": messages_jsonl,
    "prompt-completion": prompt_completion,
    "sharegpt": sharegpt,
    "chat-messages (csv)": messages_csv,
    "chat-messages (parquet)": messages_parquet,
    "hf-dataset": hf_save_to_disk,
    "otlp": otlp_genai,
    "langfuse": langfuse_api,
    "langfuse-blob": langfuse_blob,
    "langsmith": langsmith_runs,
}
