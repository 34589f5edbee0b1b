"""The JSON rendering of a run: complete, versioned, and read back by every later command.

    {"schema": "slmscout/report", "schema_version": 1,
     "manifest": {...what was read and how...},
     "analysis": {"clusters": [...], "assignments": [...], ...},
     "rollup": {...the totals the terminal report prints...}}

The layout is the typed records of slmscout.analyzers.analysis and slmscout.reports.run, field for field;
`json_schema()` derives a JSON Schema (draft 2020-12) from them with each field's comment as its description, and
docs/report.schema.json is that schema (tests keep it current). A reader of an older or newer schema_version is
refused with a clear message rather than misread.
"""

from __future__ import annotations

import dataclasses
import io
import json
import tokenize
import types
import typing
from collections.abc import Mapping
from typing import Any

from slmscout.analyzers.analysis import Analysis
from slmscout.errors import InputError
from slmscout.reports.rollup import rollup
from slmscout.reports.run import Manifest
from slmscout.traces.codec import DecodeError, from_jsonable, to_jsonable

SCHEMA = "slmscout/report"
SCHEMA_VERSION = 1


def report_document(manifest: Manifest, analysis: Analysis) -> dict[str, object]:
    total = rollup(analysis)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "manifest": to_jsonable(dataclasses.replace(manifest, files={})),
        "analysis": to_jsonable(analysis),
        "rollup": to_jsonable(total),
    }


def dumps(document: Mapping[str, object]) -> str:
    """Stable text: keys in record order, no NaN, UTF-8 kept readable."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False, indent=1) + "\n"


def read_document(text: str, where: str) -> tuple[Manifest, Analysis]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{where} is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise InputError(f"{where} is not an slmscout report")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(f"{where} has report schema version {version!r}; this slmscout reads version {SCHEMA_VERSION}")
    try:
        return from_jsonable(Manifest, data.get("manifest")), from_jsonable(Analysis, data.get("analysis"))
    except DecodeError as exc:
        raise InputError(f"{where} does not fit the report schema: {exc}") from None


# ---------------------------------------------------------------------------------------------------- JSON Schema


def _field_comments(cls: type) -> dict[str, str]:
    """The trailing `# comment` of each field in a dataclass's source: the field's description."""
    import inspect

    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    comments: dict[str, str] = {}
    last_name: str | None = None
    line_of_name = -1
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and token.start[1] == 4 and token.start[0] != line_of_name:
            last_name, line_of_name = token.string, token.start[0]
        elif token.type == tokenize.COMMENT and token.start[0] == line_of_name and last_name:
            comments[last_name] = token.string.lstrip("# ").strip()
    return comments


def _type_schema(tp: Any, definitions: dict[str, object]) -> dict[str, object]:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return {"anyOf": [_type_schema(a, definitions) for a in typing.get_args(tp)]}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(tp))}
    if tp is type(None):
        return {"type": "null"}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        name = tp.__name__
        if name not in definitions:
            definitions[name] = {}
            hints = typing.get_type_hints(tp)
            comments = _field_comments(tp)
            properties: dict[str, object] = {}
            required = []
            for f in dataclasses.fields(tp):
                prop = _type_schema(hints[f.name], definitions)
                if f.name in comments:
                    prop = {**prop, "description": comments[f.name]}
                properties[f.name] = prop
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    required.append(f.name)
            doc = (tp.__doc__ or "").strip()
            definitions[name] = {
                "type": "object",
                **({"description": " ".join(doc.split())} if doc and not doc.startswith(f"{name}(") else {}),
                "properties": properties,
                "required": required,
            }
        return {"$ref": f"#/$defs/{name}"}
    if origin is tuple or origin is list:
        args = typing.get_args(tp)
        return {"type": "array", "items": _type_schema(args[0], definitions) if args else {}}
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        args = typing.get_args(tp)
        values = _type_schema(args[1], definitions) if len(args) == 2 and args[1] is not object else {}
        return {"type": "object", "additionalProperties": values}
    if tp is object or tp is Any:
        return {}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return {"type": simple[tp]}


def json_schema() -> dict[str, object]:
    from slmscout.reports.rollup import Rollup

    definitions: dict[str, object] = {}
    properties = {
        "schema": {"const": SCHEMA},
        "schema_version": {"const": SCHEMA_VERSION},
        "manifest": _type_schema(Manifest, definitions),
        "analysis": _type_schema(Analysis, definitions),
        "rollup": _type_schema(Rollup, definitions),
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"slmscout/report/v{SCHEMA_VERSION}",
        "title": "slmscout report",
        "description": "A saved slmscout run: what was read, the clusters with their evidence, verdicts and "
        "economics, and every call's cluster. Money in USD, energy in kWh, shares in [0, 1].",
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "$defs": dict(sorted(definitions.items())),
    }
