"""Typed records to JSON values and back: the one codec for saved calls and saved analyses.

Records are frozen dataclasses of str/int/float/bool/None, tuples, dicts and other records. Encoding keeps field
order; decoding checks every value against the field's type, so a tampered or truncated file fails with a clear
message instead of producing a half-typed record. Nothing is evaluated: values are plain JSON.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

MAX_DEPTH = 32


class DecodeError(ValueError):
    """A JSON value does not fit the record type it is read as."""


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """The fields of a dataclass type, in order; None for any other type (worked out once per type)."""
    if cls not in _FIELD_NAMES:
        _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None
    return _FIELD_NAMES[cls]


def to_jsonable(value: object) -> object:
    """A dataclass record (or a value inside one) as JSON-ready dicts, lists and scalars."""
    if value is None or isinstance(value, str | int):
        return value
    names = _field_names(type(value))
    if names is not None:
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_jsonable(cls: type[T], data: object) -> T:
    """Read ``data`` as a ``cls`` record; raises DecodeError naming the first field that does not fit."""
    return typing.cast(T, _decode(cls, data, cls.__name__, 0))


def _decode(tp: Any, data: object, where: str, depth: int) -> object:
    if depth > MAX_DEPTH:
        raise DecodeError(f"{where}: nested too deeply")
    origin = typing.get_origin(tp)
    if tp is Any or tp is object:
        return data
    if origin is typing.Union or origin is types.UnionType:
        errors = []
        for option in typing.get_args(tp):
            try:
                return _decode(option, data, where, depth + 1)
            except DecodeError as exc:
                errors.append(str(exc))
        raise DecodeError(errors[0] if errors else f"{where}: no type fits")
    if origin is typing.Literal:
        if data in typing.get_args(tp):
            return data
        raise DecodeError(f"{where}: {data!r} is not one of {typing.get_args(tp)}")
    if tp is type(None):
        if data is None:
            return None
        raise DecodeError(f"{where}: expected null")
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(data, dict):
            raise DecodeError(f"{where}: expected an object")
        hints = _hints(tp)
        values = {}
        for f in dataclasses.fields(tp):
            if f.name in data:
                values[f.name] = _decode(hints[f.name], data[f.name], f"{where}.{f.name}", depth + 1)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DecodeError(f"{where}: missing {f.name!r}")
        return tp(**values)
    if origin is tuple:
        if not isinstance(data, list):
            raise DecodeError(f"{where}: expected a list")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{where}[{i}]", depth + 1) for i, v in enumerate(data))
        if len(args) != len(data):
            raise DecodeError(f"{where}: expected {len(args)} items")
        return tuple(_decode(a, v, f"{where}[{i}]", depth + 1) for i, (a, v) in enumerate(zip(args, data, strict=True)))
    if origin is list:
        if not isinstance(data, list):
            raise DecodeError(f"{where}: expected a list")
        (arg,) = typing.get_args(tp)
        return [_decode(arg, v, f"{where}[{i}]", depth + 1) for i, v in enumerate(data)]
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        if not isinstance(data, dict):
            raise DecodeError(f"{where}: expected an object")
        args = typing.get_args(tp)
        value_type = args[1] if len(args) == 2 else Any
        return {str(k): _decode(value_type, v, f"{where}.{k}", depth + 1) for k, v in data.items()}
    if tp is float:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return float(data)
        raise DecodeError(f"{where}: expected a number")
    if tp is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        raise DecodeError(f"{where}: expected an integer")
    if tp is bool or tp is str:
        if isinstance(data, tp):
            return data
        raise DecodeError(f"{where}: expected {'a boolean' if tp is bool else 'a string'}")
    if isinstance(tp, type) and isinstance(data, tp):
        return data
    raise DecodeError(f"{where}: cannot read a {tp!r}")
