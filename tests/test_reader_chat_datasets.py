"""Chat dataset readers: TRL prompt/completion, ShareGPT / lmsys / WildChat, messages as CSV and Parquet, TRL
tool-calling rows, and datasets saved with ``save_to_disk``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from slmscout.traces.chat_datasets import HFDatasetReader, PromptCompletionReader, ShareGPTReader
from slmscout.traces.chat_messages import ChatMessagesReader
from slmscout.traces.reader import TraceReader
from slmscout.traces.registry import all_readers
from slmscout.traces.source import sample_file
from tests.conftest import FIXTURES
from tests.reader_helpers import earlier_claimants, ingest, read_with

HERE = FIXTURES / "chat_datasets"


def test_prompt_completion_fields() -> None:
    calls, ctx = read_with(PromptCompletionReader(), HERE / "prompt_completion.jsonl")
    assert ctx.skips == []
    assert [c.call_id for c in calls] == ["pc-1", "pc-2", "prompt_completion.jsonl:3", "pc-4", "pc-5"]
    conversational, standard, tool_call, labelled, multi_turn = calls
    assert [(m.role, m.content) for m in conversational.messages] == [
        ("system", "You label support tickets with one queue name."),
        ("user", "Ticket: my card was declined at checkout"),
    ]
    assert conversational.response == "payments"
    assert conversational.source.format == "prompt-completion" and conversational.source.position == "1"
    assert [(m.role, m.content) for m in standard.messages] == [("user", "Translate to French: good morning")]
    assert standard.response == " bonjour"
    # tool call in the completion, "tools" column as a JSON string
    assert tool_call.response == ""
    assert tool_call.response_tool_calls[0].name == "get_weather"
    assert tool_call.response_tool_calls[0].id == "call_w1"
    assert json.loads(tool_call.response_tool_calls[0].arguments) == {"city": "Lyon"}
    assert [t.name for t in tool_call.tools] == ["get_weather"]
    assert json.loads(tool_call.tools[0].parameters)["required"] == ["city"]
    assert labelled.metadata == {"label": True}
    # a completion of several turns: the last assistant turn is the response, the rest joins the prompt
    assert [m.role for m in multi_turn.messages] == ["user", "assistant", "tool"]
    assert json.loads(multi_turn.messages[1].tool_calls[0].arguments) == {"from": "km", "to": "mi", "value": 10}
    assert multi_turn.messages[2].tool_call_id == "call_c1"
    assert multi_turn.response == "10 km is about 6.21 miles."
    assert all(c.usage is None and c.model is None for c in calls)


def test_sharegpt_lmsys_wildchat_fields() -> None:
    calls, ctx = read_with(ShareGPTReader(), HERE / "sharegpt.json")
    assert ctx.skips == []
    assert [c.call_id for c in calls] == [
        "sg-1",
        "sg-2",
        "sg-3",
        "0c6f2d1e9a8b4c37",
        "5d41402abc4b2a76b9719d911017c592",
    ]
    plain, tools, pending_call, lmsys, wildchat = calls
    assert [m.role for m in plain.messages] == ["system", "user", "assistant", "user"]
    assert plain.messages[2].content == "The Prado Museum."
    assert plain.response == "El Retiro Park."
    assert plain.source.position == "item 0"
    # LLaMA-Factory roles: system column, function_call turn, observation turn, tools column as JSON text
    assert [m.role for m in tools.messages] == ["system", "user", "assistant", "tool"]
    assert tools.messages[0].content == "You can call tools to answer."
    assert tools.messages[2].tool_calls[0].name == "calculator"
    assert json.loads(tools.messages[2].tool_calls[0].arguments) == {"expression": "17 * 23"}
    assert tools.messages[3].content == "391"
    assert tools.response == "17 * 23 = 391."
    assert [t.name for t in tools.tools] == ["calculator"]
    # a conversation that ends on a function_call: the call is the response
    assert pending_call.response == ""
    assert pending_call.response_tool_calls[0].name == "lookup_order"
    # lmsys-chat-1m and WildChat: role/content turns under "conversation", model and ids of their own
    assert lmsys.model == "vicuna-13b"
    assert lmsys.response is not None and lmsys.response.startswith("Cold rain")
    assert lmsys.metadata == {"language": "English", "turn": 1, "redacted": False}
    assert wildchat.model == "gpt-3.5-turbo-0301"
    assert wildchat.started_at == "2023-04-09T00:02:53Z"
    assert [m.role for m in wildchat.messages] == ["user"]
    assert wildchat.response is not None and wildchat.response.startswith("Bien sûr")


def test_messages_csv_with_json_text_columns() -> None:
    calls, ctx = read_with(ChatMessagesReader(), HERE / "messages.csv")
    assert ctx.skips == []
    assert [c.call_id for c in calls] == ["row-1", "row-2", "row-3"]
    assert [c.source.position for c in calls] == ["row 2", "row 3", "row 4"]
    first, second, third = calls
    assert [m.role for m in first.messages] == ["system", "user"]
    assert first.response == "negative" and first.model == "gpt-4o-mini" and first.tools == ()
    assert second.response_tool_calls[0].name == "get_weather"
    assert json.loads(second.response_tool_calls[0].arguments) == {"city": "Oslo"}
    assert [t.name for t in second.tools] == ["get_weather"]
    assert third.messages[-1].role == "tool" and third.messages[-1].tool_call_id == "call_o1"
    assert third.response == "Yes, light rain and 7 C in Oslo."


def test_messages_parquet_nested_columns() -> None:
    calls, ctx = read_with(ChatMessagesReader(), HERE / "messages.parquet")
    assert ctx.skips == []
    assert [c.call_id for c in calls] == ["row-1", "row-2", "row-3"]
    # Parquet unifies the message struct: keys a message lacked come back as None, which must not matter
    assert calls[0].messages[0].tool_calls == () and calls[0].messages[0].tool_call_id is None
    assert calls[1].response_tool_calls[0].id == "call_o1"
    assert [t.name for t in calls[2].tools] == ["get_weather"]
    assert calls[2].messages[1].tool_calls[0].name == "get_weather"


def test_trl_tool_calling_rows() -> None:
    calls, ctx = read_with(ChatMessagesReader(), HERE / "trl_tool_calling.jsonl")
    assert ctx.skips == []
    booking, clock, search = calls
    assert booking.call_id == "trl_tool_calling.jsonl:1"
    assert booking.response == ""  # the assistant turn has tool_calls and no content at all
    assert booking.response_tool_calls[0].name == "book_table"
    assert json.loads(booking.response_tool_calls[0].arguments) == {"people": 2, "time": "19:00"}  # object form
    assert [t.name for t in booking.tools] == ["book_table"]
    assert [m.role for m in clock.messages] == ["user", "assistant", "tool"]
    assert clock.messages[2].name == "get_time" and clock.messages[2].tool_call_id == "call_t1"
    assert clock.response == "It is 18:42 in Tokyo."
    assert [t.name for t in clock.tools] == ["get_time"]  # tools as one JSON string
    assert [t.name for t in search.tools] == ["search_docs"]  # tools as a list of JSON strings


def test_saved_dataset_folders_read_once_every_file_accounted() -> None:
    calls, summary = ingest(HERE / "hf_saved", HERE / "hf_saved_dict")
    assert summary.calls_by_format() == {"hf-dataset": 7}
    assert summary.files_unrecognised == [] and summary.records_skipped == 0
    assert {Path(f.path).name for f in summary.files} == {
        "state.json",
        "dataset_info.json",
        "data-00000-of-00001.arrow",
        "dataset_dict.json",
    }
    by_file = {f.path: f.calls for f in summary.files}
    assert by_file[str(HERE / "hf_saved" / "state.json")] == 3
    assert by_file[str(HERE / "hf_saved" / "data-00000-of-00001.arrow")] == 0
    assert by_file[str(HERE / "hf_saved_dict" / "train" / "state.json")] == 2
    messages = [c for c in calls if "hf_saved/" in c.source.path]
    assert [c.call_id for c in messages] == ["hf_saved:row 1", "hf_saved:row 2", "hf_saved:row 3"]
    assert messages[0].response == "negative" and messages[0].model == "gpt-4o-mini"
    assert messages[1].response_tool_calls[0].name == "get_weather"
    assert [t.name for t in messages[2].tools] == ["get_weather"]
    assert messages[0].metadata == {}
    splits = {c.call_id: c.metadata.get("split") for c in calls if "hf_saved_dict" in c.source.path}
    assert splits == {"test-1": "test", "test-2": "test", "train-1": "train", "train-2": "train"}
    train = next(c for c in calls if c.call_id == "train-1")
    assert train.response == "Meeting moved to Friday 10:00." and train.source.position == "row 1"


def test_saved_dataset_given_by_one_of_its_files() -> None:
    arrow = HERE / "hf_saved" / "data-00000-of-00001.arrow"
    calls, summary = ingest(arrow)
    assert len(calls) == 3 and {c.source.path for c in calls} == {str(arrow)}
    assert summary.calls_by_format() == {"hf-dataset": 3}


def test_broken_saved_dataset_is_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(HERE / "hf_saved", folder)
    (folder / "data-00000-of-00001.arrow").write_bytes(b"\xff\xff\xff\xff" + b"\x00" * 12)
    reader = HFDatasetReader()
    files = sorted(folder.iterdir())
    assert all(reader.claims(sample_file(f)) for f in files)
    calls, ctx = read_with(reader, *files)
    assert calls == []
    assert ctx.skips == [("saved dataset cannot be loaded", "1")]


def test_lone_dataset_info_and_arrow_bytes_are_not_claimed(tmp_path: Path) -> None:
    shutil.copy(HERE / "hf_saved" / "dataset_info.json", tmp_path / "dataset_info.json")
    shutil.copy(HERE / "hf_saved" / "data-00000-of-00001.arrow", tmp_path / "data-00000-of-00001.arrow")
    reader = HFDatasetReader()
    assert not any(reader.claims(sample_file(f)) for f in tmp_path.iterdir())  # no state.json beside them


DETECTION = [
    ("prompt_completion.jsonl", "prompt-completion"),
    ("sharegpt.json", "sharegpt"),
    ("messages.csv", "chat-messages"),
    ("messages.parquet", "chat-messages"),
    ("trl_tool_calling.jsonl", "chat-messages"),
    ("hf_saved/state.json", "hf-dataset"),
    ("hf_saved/dataset_info.json", "hf-dataset"),
    ("hf_saved/data-00000-of-00001.arrow", "hf-dataset"),
    ("hf_saved_dict/dataset_dict.json", "hf-dataset"),
    ("hf_saved_dict/train/data-00000-of-00001.arrow", "hf-dataset"),
]


@pytest.mark.parametrize(("name", "expected"), DETECTION)
def test_detection(name: str, expected: str) -> None:
    mine: TraceReader = next(r for r in all_readers() if r.name == expected)
    sample = sample_file(HERE / name)
    assert mine.claims(sample)
    assert earlier_claimants(mine, sample) == []


def test_malformed_records_are_skipped_with_reasons(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "ok", "prompt": "2+2=", "completion": "4"}),
        "{not json",
        json.dumps({"id": "no-role", "prompt": [{"content": "hi"}], "completion": "yo"}),
        json.dumps({"id": "bad-content", "prompt": "x", "completion": [{"role": "assistant", "content": 42}]}),
        json.dumps({"id": "bad-tools", "prompt": "x", "completion": "y", "tools": "not a list"}),
        json.dumps({"id": "other", "text": "plain language-modelling row"}),
    ]
    path = tmp_path / "pc.jsonl"
    path.write_text("\n".join(lines) + "\n")
    calls, summary = ingest(path)
    assert [c.call_id for c in calls] == ["ok"]
    reasons = {g.reason: g.locations for g in summary.skips.values()}
    assert reasons == {
        "invalid JSON": [f"{path}:2"],
        "a message has no role": [f"{path}:3"],
        "message content is neither text nor a list of parts": [f"{path}:4"],
        "tools is not a list": [f"{path}:5"],
        "record is not in the prompt-completion shape": [f"{path}:6"],
    }


def test_malformed_sharegpt_and_csv(tmp_path: Path) -> None:
    sharegpt = tmp_path / "sg.jsonl"
    sharegpt.write_text(
        "\n".join(
            [
                json.dumps({"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}),
                json.dumps({"conversations": [{"from": "human", "value": "hi"}, "not a turn"]}),
                json.dumps({"conversations": [{"from": "human", "value": "hi"}, {"value": "who said this?"}]}),
                json.dumps({"conversations": "[broken"}),
            ]
        )
        + "\n"
    )
    calls, ctx = read_with(ShareGPTReader(), sharegpt)
    assert len(calls) == 1
    assert ctx.skips == [
        ("a message is not an object", "2"),
        ("a message has no role", "3"),
        ("conversation is not a list", "4"),
    ]
    csv_path = tmp_path / "m.csv"
    csv_path.write_text('id,messages\nr1,"[{""role"": ""user"", ""content"": ""hi""}]"\nr2,"[{""role"": broken"\n')
    calls, ctx = read_with(ChatMessagesReader(), csv_path)
    assert [c.call_id for c in calls] == ["r1"]
    assert ctx.skips == [("messages is not a list", "row 3")]


def test_text_prompt_that_looks_like_json_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "pc.jsonl"
    path.write_text(json.dumps({"prompt": "[INST] say hi [/INST]", "completion": "hi"}) + "\n")
    calls, ctx = read_with(PromptCompletionReader(), path)
    assert ctx.skips == []
    assert [(m.role, m.content) for m in calls[0].messages] == [("user", "[INST] say hi [/INST]")]


def test_end_to_end_read_traces() -> None:
    calls, summary = ingest(HERE)
    assert summary.calls_by_format() == {
        "chat-messages": 9,
        "hf-dataset": 7,
        "prompt-completion": 5,
        "sharegpt": 5,
    }
    assert summary.records_skipped == 0
    assert [Path(f.path).name for f in summary.files_unrecognised] == ["make_fixtures.py"]
    assert len({c.call_id for c in calls}) == len(calls) - 3  # csv and parquet rows share their ids
