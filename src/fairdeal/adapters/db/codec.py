"""Aggregates to JSON documents and back, driven by the dataclasses' own type hints, so that a
new field in the domain needs no mapping code here. Money is stored as integer minor units,
times as ISO 8601 UTC, enums as their values, a policy by its name."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, get_args, get_origin

from fairdeal.domain.money import Money
from fairdeal.domain.policy import Policy

T = TypeVar("T")

# Fields that are working state of one transaction, never part of the stored document.
TRANSIENT = frozenset({"pending_events", "pending_ledger", "version"})


def encode(value: Any) -> Any:
    """A JSON-ready document for a domain value."""
    if value is None or isinstance(value, bool | int | str):
        return value
    return _encoder(type(value))(value)


Encoder = Callable[[Any], Any]


@cache
def _encoder(cls: type) -> Encoder:
    """An encoding function per runtime type, built once (saving is on every write)."""
    if cls is Money:
        return lambda m: {"minor": m.minor, "currency": m.currency}
    if issubclass(cls, datetime):
        return lambda d: d.isoformat()
    if issubclass(cls, Enum):
        return lambda e: e.value
    if cls is Policy:
        return lambda p: p.name
    if dataclasses.is_dataclass(cls):
        names = [f.name for f in dataclasses.fields(cls) if f.name not in TRANSIENT]
        return lambda obj: {name: encode(getattr(obj, name)) for name in names}
    if issubclass(cls, list | tuple):
        return lambda items: [encode(v) for v in items]
    if issubclass(cls, Mapping):
        return lambda mapping: {str(k): encode(v) for k, v in mapping.items()}
    raise TypeError(f"cannot store {cls.__name__}")


def decode(cls: type[T], data: Mapping[str, Any], policies: Mapping[str, Policy]) -> T:
    return _decoder(cls)(data, policies)  # type: ignore[no-any-return]


Decoder = Callable[[Any, Mapping[str, Policy]], Any]


@cache
def _decoder(tp: Any) -> Decoder:
    """A decoding function for one type, built once from its hints: loading an aggregate is
    on every read, so the type inspection is not repeated per document."""
    origin = get_origin(tp)
    if origin is types.UnionType or origin is typing.Union:
        options = [a for a in get_args(tp) if a is not type(None)]
        inner = _decoder(options[0])
        return lambda data, policies: None if data is None else inner(data, policies)
    if tp is Money:
        return lambda data, policies: Money(int(data["minor"]), data["currency"])
    if tp is datetime:
        return lambda data, policies: datetime.fromisoformat(data)
    if tp is Policy:
        return _policy
    if isinstance(tp, type) and issubclass(tp, Enum):
        return lambda data, policies: tp(data)
    if origin in (list, tuple):
        item = _decoder(get_args(tp)[0])
        return lambda data, policies: [item(v, policies) for v in data]
    if origin in (dict, Mapping):
        value = _decoder(get_args(tp)[1])
        return lambda data, policies: {k: value(v, policies) for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        fields = [
            (f.name, _decoder(hints[f.name]))
            for f in dataclasses.fields(tp)
            if f.name not in TRANSIENT
        ]

        def build(data: Any, policies: Mapping[str, Policy]) -> Any:
            return tp(
                **{
                    name: (None if data[name] is None else load(data[name], policies))
                    for name, load in fields
                    if name in data
                }
            )

        return build
    if tp in (str, int, bool) or tp is Any or tp is object:
        return lambda data, policies: data
    raise TypeError(f"cannot load {tp!r}")


def _policy(name: str, policies: Mapping[str, Policy]) -> Policy:
    try:
        return policies[name]
    except KeyError:
        raise LookupError(f"stored aggregate names unknown policy {name!r}") from None
