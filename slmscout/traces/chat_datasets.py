"""Hugging Face style conversation datasets: TRL prompt/completion, ShareGPT / lmsys / WildChat conversations, and
datasets saved with ``datasets.Dataset.save_to_disk``.

Every record (or dataset row) is one call: the last assistant turn is the response, everything before it the
prompt, as in the chat-messages layout. Records come as JSON Lines, a JSON array, CSV (JSON-text columns) or
Parquet, all read by ``RecordReader``; saved datasets are read row by row through ``datasets.load_from_disk``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slmscout.traces.chat_messages import ChatMessagesReader, dataset_call, looks_like_message_list, message_list
from slmscout.traces.content import (
    MalformedRecord,
    arguments_text,
    content_text,
    loads_if_json_text,
    openai_message,
    openai_messages,
)
from slmscout.traces.reader import DATA_ERRORS, ReadContext, RecordReader, TraceReader, skip_reason
from slmscout.traces.record import JsonScalar, LLMCall, Message, SourceRef, ToolCall
from slmscout.traces.source import FileSample
from slmscout.traces.timestamps import iso_utc


def _timestamp(value: Any) -> str | None:
    """ISO UTC text of a timestamp as text, epoch number, or a datetime (Parquet / ``datasets`` timestamps)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return iso_utc(value)


def _metadata(record: Mapping[str, Any], *keys: str) -> dict[str, JsonScalar]:
    out: dict[str, JsonScalar] = {}
    for key in keys:
        value = record.get(key)
        if isinstance(value, (str, int, float, bool)) and value != "":
            out[key] = value
    return out


def _system_message(record: Mapping[str, Any]) -> list[Message]:
    system = record.get("system")
    return [Message("system", system)] if isinstance(system, str) and system.strip() else []


# --- TRL prompt / completion --------------------------------------------------------------------------------


def _turns(value: Any, role: str) -> list[Message]:
    """A prompt or completion: plain text (one ``role`` turn) or a list of messages (JSON text in CSV)."""
    if isinstance(value, str):
        decoded = message_list(value) if value.lstrip()[:1] == "[" else None
        if decoded is not None and all(isinstance(m, Mapping) and "role" in m for m in decoded):
            return list(openai_messages(decoded))
        return [Message(role, value)]
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [openai_message(value)]
    return list(openai_messages(value))


class PromptCompletionReader(RecordReader):
    name = "prompt-completion"
    priority = 880  # generic dataset shape: asked after every log format
    description = (
        'TRL prompt/completion records: {"prompt": text | [messages], "completion": text | [messages], "tools"?}; '
        "the last assistant turn is the response (JSON Lines, JSON array, CSV, Parquet)."
    )

    def matches(self, record: Mapping[str, Any]) -> bool:
        prompt, completion = record.get("prompt"), record.get("completion")
        return isinstance(prompt, (str, list)) and isinstance(completion, (str, list))

    def convert(self, record: Mapping[str, Any], source: SourceRef) -> LLMCall:
        prompt = _system_message(record) + _turns(record.get("prompt"), "user")
        completion_raw = record.get("completion")
        if isinstance(completion_raw, str):
            messages = [*prompt, Message("assistant", completion_raw)]
        else:
            messages = prompt + _turns(completion_raw, "assistant")
        if not messages:
            raise MalformedRecord("prompt and completion are empty")
        call = dataset_call(record, source, messages, "id", "prompt_id", "call_id")
        return replace(call, metadata=_metadata(record, "label"))


# --- ShareGPT, lmsys-chat-1m, WildChat ----------------------------------------------------------------------

_SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "system": "system",
    "observation": "tool",
    "function_response": "tool",
    "function-response": "tool",
    "tool": "tool",
}
_FUNCTION_CALL_ROLES = {"function_call", "function-call", "tool_call"}


def _function_calls(value: Any) -> tuple[ToolCall, ...]:
    """A ShareGPT ``function_call`` turn: JSON text of ``{"name", "arguments"}`` or a list of them."""
    decoded = loads_if_json_text(value)
    items = decoded if isinstance(decoded, list) else [decoded]
    calls = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            return ()
        calls.append(
            ToolCall(name=item["name"], arguments=arguments_text(item.get("arguments", item.get("parameters"))))
        )
    return tuple(calls)


def _sharegpt_turn(raw: Any) -> Message:
    if not isinstance(raw, Mapping):
        raise MalformedRecord("a message is not an object")
    if "from" not in raw:
        return openai_message(raw)  # role/content turns (lmsys, WildChat, OpenAI-style "conversations")
    speaker = raw.get("from")
    if not isinstance(speaker, str) or not speaker:
        raise MalformedRecord("a message has no role")
    value = raw.get("value")
    if speaker in _FUNCTION_CALL_ROLES:
        calls = _function_calls(value)
        if calls:
            return Message("assistant", "", tool_calls=calls)
        return Message("assistant", content_text(value))
    return Message(_SHAREGPT_ROLES.get(speaker.lower(), speaker), content_text(value))


def _conversation(record: Mapping[str, Any]) -> Any:
    if "conversations" in record:
        return record.get("conversations")
    return record.get("conversation")


def _is_turn_list(value: Any) -> bool:
    if isinstance(value, str):
        return value.lstrip()[:1] == "["
    if not looks_like_message_list(value) or not value:
        return False
    first = value[0]
    return isinstance(first, Mapping) and ("from" in first or "role" in first)


class ShareGPTReader(RecordReader):
    name = "sharegpt"
    priority = 890  # generic dataset shape: asked after every log format
    description = (
        'ShareGPT conversations {"conversations": [{"from": human|gpt|system|function_call|observation, "value"}]} '
        'and lmsys / WildChat {"conversation": [{"role", "content"}], "conversation_id" | "conversation_hash"}; '
        "the last assistant turn is the response."
    )

    def matches(self, record: Mapping[str, Any]) -> bool:
        return _is_turn_list(_conversation(record))

    def convert(self, record: Mapping[str, Any], source: SourceRef) -> LLMCall:
        raw = message_list(_conversation(record))
        if raw is None:
            raise MalformedRecord("conversation is not a list")
        messages = _system_message(record) + [_sharegpt_turn(turn) for turn in raw]
        if not messages:
            raise MalformedRecord("conversation is empty")
        call = dataset_call(record, source, messages, "id", "conversation_id", "conversation_hash")
        return replace(
            call,
            started_at=_timestamp(record.get("timestamp")),
            metadata=_metadata(record, "language", "turn", "redacted", "toxic"),
        )


# --- datasets saved with save_to_disk -----------------------------------------------------------------------

_ROW_READERS: tuple[RecordReader, ...] = (ChatMessagesReader(), PromptCompletionReader(), ShareGPTReader())
ARROW_STREAM_MAGIC = b"\xff\xff\xff\xff"  # Arrow IPC stream continuation marker: how data-*.arrow files start


def row_call(row: Mapping[str, Any], source: SourceRef) -> LLMCall:
    """A dataset row as a call, by whichever chat layout its columns have (messages, prompt/completion, ShareGPT)."""
    for reader in _ROW_READERS:
        if reader.matches(row):
            return reader.convert(row, source)
    raise MalformedRecord("row is not in a chat dataset layout")


def _state(path: Path) -> Mapping[str, Any] | None:
    """A saved dataset's ``state.json`` (it lists the ``_data_files``), or None when ``path`` is not one."""
    try:
        if path.stat().st_size > 1024 * 1024:
            return None
        state = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError):
        return None
    return state if _is_state(state) else None


def _is_state(record: Any) -> bool:
    return (
        isinstance(record, Mapping)
        and isinstance(record.get("_data_files"), list)
        and all(isinstance(f, Mapping) and isinstance(f.get("filename"), str) for f in record["_data_files"])
    )


def _data_files(state: Mapping[str, Any]) -> set[str]:
    return {f["filename"] for f in state["_data_files"]}


def _is_dataset_info(record: Any) -> bool:
    """``dataset_info.json`` as ``datasets`` writes it: a ``features`` mapping of typed columns."""
    if not isinstance(record, Mapping) or not isinstance(record.get("features"), Mapping):
        return False
    return "_type" in json.dumps(record["features"])[:100_000]


def _is_dataset_dict(record: Any, folder: Path) -> bool:
    """``dataset_dict.json``: ``{"splits": [...]}``, each split a saved dataset folder beside it."""
    if not isinstance(record, Mapping) or set(record) != {"splits"} or not isinstance(record["splits"], list):
        return False
    splits = record["splits"]
    return bool(splits) and all(
        isinstance(s, str) and "/" not in s and _state(folder / s / "state.json") for s in splits
    )


class HFDatasetReader(TraceReader):
    """A folder written by ``Dataset.save_to_disk``: ``state.json``, ``dataset_info.json``, ``data-*.arrow``.

    The reader claims all three kinds of file (so none is reported as unrecognised) and reads each folder's rows
    once, through ``datasets.load_from_disk``, attributing them to the folder's ``state.json`` (or, when only some
    of the folder's files were given, to the first given one). A ``DatasetDict`` folder (``dataset_dict.json`` and
    one sub-folder per split) is read split by split; ``dataset_dict.json`` itself holds no calls.
    """

    name = "hf-dataset"
    priority = 40  # very specific content; asked early so that no other reader looks at the .arrow files
    description = (
        "Hugging Face datasets saved with save_to_disk (state.json, dataset_info.json, data-*.arrow; DatasetDict "
        "folders too), rows read through datasets.load_from_disk in the messages / prompt-completion / ShareGPT "
        "layouts."
    )

    def claims(self, sample: FileSample) -> bool:
        folder = sample.path.parent
        if sample.head.startswith(ARROW_STREAM_MAGIC):
            state = _state(folder / "state.json")
            return state is not None and sample.path.name in _data_files(state)
        if len(sample.records) != 1:
            return False
        record = sample.records[0]
        if _is_state(record):
            return True
        if _is_dataset_info(record):
            return _state(folder / "state.json") is not None
        return _is_dataset_dict(record, folder)

    def read(self, files: Sequence[Path], ctx: ReadContext) -> Iterator[LLMCall]:
        anchors: dict[Path, Path] = {}
        for path in sorted(files, key=lambda p: (str(p.parent), _anchor_rank(p), p.name)):
            if _state(path.parent / "state.json") is not None:
                anchors.setdefault(path.parent, path)
        for folder, anchor in anchors.items():
            yield from self._read_folder(folder, anchor, ctx)

    def _read_folder(self, folder: Path, anchor: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        try:
            import datasets

            dataset = datasets.load_from_disk(str(folder))
        except Exception:  # datasets raises many types for a broken or foreign folder
            ctx.skip("saved dataset cannot be loaded", anchor, "1")
            return
        if not isinstance(dataset, datasets.Dataset):
            ctx.skip("saved dataset is not a single split", anchor, "1")
            return
        split = str(dataset.split) if dataset.split is not None else _dict_split(folder)
        batches = dataset.iter(batch_size=256)  # a batch of rows at a time: memory stays flat
        number = 0
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except Exception:  # a data file damaged past its header: pyarrow raises several types
                ctx.skip("saved dataset cannot be read to its end", anchor, f"row {number + 1}")
                return
            columns = list(batch)
            for values in zip(*(batch[c] for c in columns), strict=True):
                number += 1
                row = dict(zip(columns, values, strict=True))
                position = f"row {number}"
                source = SourceRef(str(anchor), position, self.name)
                try:
                    call = row_call(row, source)
                except DATA_ERRORS as exc:
                    ctx.skip(skip_reason(exc), anchor, position)
                    continue
                # a row without an id: name it by its folder (splits share the file name state.json)
                call_id = f"{folder.name}:{position}" if call.call_id == f"{anchor.name}:{position}" else call.call_id
                metadata = {**call.metadata, "split": split} if split else call.metadata
                yield replace(call, call_id=call_id, metadata=metadata)


def _dict_split(folder: Path) -> str | None:
    """The split name of a folder inside a saved ``DatasetDict`` (listed in the ``dataset_dict.json`` above it)."""
    try:
        record = json.loads((folder.parent / "dataset_dict.json").read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError):
        return None
    splits = record.get("splits") if isinstance(record, Mapping) else None
    return folder.name if isinstance(splits, list) and folder.name in splits else None


def _anchor_rank(path: Path) -> int:
    return 0 if path.name == "state.json" else 1 if path.suffix == ".arrow" else 2
