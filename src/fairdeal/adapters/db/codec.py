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
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Money):
        return {"minor": value.minor, "currency": value.currency}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Policy):
        return value.name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: encode(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in TRANSIENT
        }
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    raise TypeError(f"cannot store {type(value).__name__}")


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
