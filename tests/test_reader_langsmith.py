"""The LangSmith runs reader: LangChain-serialized chat runs, wrap_openai runs, errors, completion LLMs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slmscout.traces.langsmith import LangSmithReader
from slmscout.traces.registry import all_readers
from slmscout.traces.source import sample_file
from tests.conftest import FIXTURES, OPENHANDS_SAMPLE
from tests.reader_helpers import earlier_claimants, ingest, read_with, write_jsonl

LANGSMITH = FIXTURES / "langsmith"
READER = LangSmithReader()


def run(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "run-1",
        "name": "ChatOpenAI",
        "run_type": "llm",
        "start_time": "2025-01-01T00:00:00.000000",
        "end_time": "2025-01-01T00:00:01.000000",
        "inputs": {"messages": [[{"type": "human", "content": "hi"}]]},
        "outputs": {"generations": [[{"text": "hello", "type": "ChatGeneration"}]]},
        "extra": {"metadata": {}},
    }
    return {**base, **fields}


def test_langchain_chat_run_fields() -> None:
    calls, ctx = read_with(READER, LANGSMITH / "langchain_runs.jsonl")
    assert ctx.skips == []  # chains and tools are context, not skips
    assert [c.call_id[-4:] for c in calls] == ["0003", "0005"]
    chat = calls[0]
    assert chat.source.format == "langsmith" and chat.source.position == "1"
    assert [m.role for m in chat.messages] == ["system", "user", "assistant", "tool"]
    assert chat.messages[1].content == "How do I rotate API keys?"
    (asked,) = chat.messages[2].tool_calls
    assert (asked.name, asked.id, json.loads(asked.arguments)) == (
        "search_docs",
        "call_1",
        {"query": "rotate api keys"},
    )
    assert (chat.messages[3].tool_call_id, chat.messages[3].name) == ("call_1", "search_docs")
    assert chat.response == "Go to Settings > API and click Rotate."
    assert chat.response_tool_calls == ()
    assert chat.model == "gpt-4o-2024-08-06"  # the model that answered (response_metadata), not "gpt-4o"
    assert [t.name for t in chat.tools] == ["search_docs"]  # extra.invocation_params.tools
    assert chat.usage is not None
    assert (chat.usage.input_tokens, chat.usage.output_tokens, chat.usage.cache_read_tokens) == (1200, 12, 1024)
    # the nearest chain ancestor that is not a generic Runnable*: research_agent, above RunnableSequence
    assert (chat.caller.agent, chat.caller.module) == ("research_agent", "ChatOpenAI")
    assert chat.session_id == "thread-42"  # metadata thread_id; the run's session_id is the project
    assert chat.latency_ms == pytest.approx(2600.0)
    assert chat.started_at == "2025-06-01T10:00:00.200000Z"  # zone-less LangSmith times are UTC
    assert chat.ended_at == "2025-06-01T10:00:02.800000Z"
    assert chat.metadata["ttft_ms"] == pytest.approx(500.0)
    assert chat.metadata["cost_usd"] == pytest.approx(0.00162)
    assert chat.metadata["project_id"] == "9f0e0000-0000-4000-8000-00000000aaaa"
    assert chat.metadata["provider"] == "openai"
    assert chat.status == "ok" and chat.error is None


def test_langgraph_node_run_with_dotted_order_parent_and_anthropic_content() -> None:
    graph = read_with(READER, LANGSMITH / "langchain_runs.jsonl")[0][1]
    assert [(m.role, m.content) for m in graph.messages] == [
        ("system", "Summarise for the user."),
        ("user", "Summarise the answer."),
    ]
    assert graph.response == "Rotate keys in Settings."  # the tool_use block is a tool call, not text
    assert [(t.name, t.id, json.loads(t.arguments)) for t in graph.response_tool_calls] == [
        ("notify", "toolu_9", {"channel": "email"})
    ]
    assert graph.caller.agent == "summariser"  # extra.metadata.langgraph_node
    assert graph.metadata["parent_run_id"] == "1ef0a1b2-0000-4000-8000-000000000001"  # from dotted_order
    assert graph.metadata["langgraph_step"] == 3
    assert graph.model == "claude-3-5-haiku-20241022"
    assert graph.usage is not None  # usage_metadata input already includes the cache
    assert (graph.usage.input_tokens, graph.usage.cache_read_tokens, graph.usage.cache_write_tokens) == (2030, 2000, 0)


def test_wrap_openai_run() -> None:
    calls, ctx = read_with(READER, LANGSMITH / "wrap_openai_runs.json")
    assert ctx.skips == []
    (call,) = calls
    assert call.call_id == "2ef0a1b2-0000-4000-8000-000000000002" and call.source.position == "item 1"
    assert [(m.role, m.content) for m in call.messages] == [("system", "Answer briefly."), ("user", "What is 2+2?")]
    assert call.response == "4"
    assert call.model == "gpt-4o-mini-2024-07-18"
    assert call.usage is not None and (call.usage.input_tokens, call.usage.output_tokens) == (21, 1)
    assert call.session_id == "conv-7"
    assert call.caller.agent == "answer_question"
    assert call.latency_ms == pytest.approx(1300.0)


def test_error_run() -> None:
    (call,) = read_with(READER, LANGSMITH / "error_run.jsonl")[0]
    assert (call.status, call.error) == ("error", "RateLimitError")  # the type, no message or traceback
    assert call.response is None and call.usage is None
    assert call.model == "gpt-4o"  # requested model: nothing answered
    assert [(m.role, m.content) for m in call.messages] == [("user", "Draft the release notes.")]
    assert call.latency_ms == pytest.approx(420.0)


def test_completion_llm_run() -> None:
    (call,) = read_with(READER, LANGSMITH / "completion_run.jsonl")[0]
    assert [(m.role, m.content) for m in call.messages] == [("user", "Translate to French: Good morning")]
    assert call.response == " Bonjour"
    assert call.model == "gpt-3.5-turbo-instruct"
    assert call.usage is not None and (call.usage.input_tokens, call.usage.output_tokens) == (7, 2)
    assert call.metadata["temperature"] == pytest.approx(0.7)
    assert call.caller.agent is None and call.caller.module == "OpenAI"


def test_runs_page_and_child_runs(tmp_path: Path) -> None:
    parent = run(id="p", name="planner", run_type="chain", inputs={"q": "x"}, outputs={})
    parent["child_runs"] = [run(id="c1", parent_run_id="p"), run(id="c2", parent_run_id="p", name="ChatAnthropic")]
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"runs": [parent], "cursors": {"next": None}}))
    assert LangSmithReader().claims(sample_file(path))
    calls, ctx = read_with(READER, path)
    assert ctx.skips == []
    assert [(c.call_id, c.source.position, c.caller.agent) for c in calls] == [
        ("c1", "1 run 0 child 0", "planner"),
        ("c2", "1 run 0 child 1", "planner"),
    ]


def test_simplified_messages_and_provider_output_shapes(tmp_path: Path) -> None:
    anthropic_out = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-sonnet-20241022",
        "content": [{"type": "text", "text": "Sure."}],
        "usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 90},
    }
    path = write_jsonl(
        tmp_path / "shapes.jsonl",
        [
            run(
                id="a",
                inputs={"system": "Be kind.", "messages": [{"role": "user", "content": "hi"}]},
                outputs=anthropic_out,
            ),
            run(id="b", inputs={"prompt": "Complete: 1, 2,"}, outputs={"output": "3"}),
            run(id="c", inputs=json.dumps({"messages": [{"role": "user", "content": "as text"}]}), outputs=None),
        ],
    )
    calls, ctx = read_with(READER, path)
    assert ctx.skips == []
    a, b, c = calls
    assert [m.role for m in a.messages] == ["system", "user"] and a.response == "Sure."
    assert a.model == "claude-3-5-sonnet-20241022"
    assert a.usage is not None and (a.usage.input_tokens, a.usage.cache_read_tokens) == (100, 90)
    assert (b.messages[0].content, b.response) == ("Complete: 1, 2,", "3")
    assert c.messages[0].content == "as text" and c.response is None


def test_malformed_records_are_skipped_with_reasons(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            run(id="ok"),
            "{broken json",
            json.dumps("a string"),
            {"id": "x", "name": "not a run"},
            run(id="no-inputs", inputs={}),
            run(id="no-role", inputs={"messages": [[{"lc": 1, "type": "constructor", "id": ["x"], "kwargs": {}}]]}),
            run(id="no-generation", outputs={"generations": [[]]}),
            run(id="chain", run_type="chain"),
            run(id="ok-2"),
        ],
    )
    calls, ctx = read_with(READER, path)
    assert [c.call_id for c in calls] == ["ok", "ok-2"]
    assert ctx.skips == [
        ("invalid JSON", "2"),
        ("record is not a JSON object", "3"),
        ("record is not a LangSmith run", "4"),
        ("llm run has no messages or prompts", "5"),
        ("a message has no role", "6"),
        ("llm run generations hold no generation", "7"),
    ]


def test_parent_cycle_and_deep_nesting_do_not_hang_or_crash(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "cycle.jsonl",
        [
            run(id="a", run_type="chain", name="RunnableA", parent_run_id="b"),
            run(id="b", run_type="chain", name="RunnableB", parent_run_id="a"),
            run(id="g", parent_run_id="a"),
            run(id="deep", outputs={"weird": json.loads("[" * 500 + "]" * 500)}),
            "[" * 100000,
        ],
    )
    calls, ctx = read_with(READER, path)
    assert [c.call_id for c in calls] == ["g", "deep"]
    assert calls[0].caller.agent == "RunnableA"  # only generic names above: the nearest one
    assert ctx.skips == [("invalid JSON", "5")]


@pytest.mark.parametrize(
    "name", ["langchain_runs.jsonl", "wrap_openai_runs.json", "error_run.jsonl", "completion_run.jsonl"]
)
def test_detection_claims_own_files_only(name: str) -> None:
    sample = sample_file(LANGSMITH / name)
    mine = LangSmithReader()
    assert mine.claims(sample)
    assert earlier_claimants(mine, sample, ties=True) == []
    assert not any(r.claims(sample) for r in all_readers() if r.name in ("chat-messages", "openai-chat"))


@pytest.mark.parametrize(
    "path",
    [
        FIXTURES / "chat_messages.jsonl",
        FIXTURES / "openai_pairs.jsonl",
        OPENHANDS_SAMPLE,
        FIXTURES / "langfuse" / "api_observations_page.json",
        FIXTURES / "langfuse" / "blob_observations_v2.jsonl",
    ],
)
def test_does_not_claim_other_formats(path: Path) -> None:
    assert not LangSmithReader().claims(sample_file(path))


def test_read_traces_end_to_end() -> None:
    calls, summary = ingest(LANGSMITH)
    assert summary.calls_by_format() == {"langsmith": 5}
    assert summary.records_skipped == 0
    assert summary.files_unrecognised == []
    assert sum(c.status == "error" for c in calls) == 1
