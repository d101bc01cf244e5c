"""Aggregates to JSON documents and back, driven by the dataclasses' own type hints, so that a
new field in the domain needs no mapping code here. Money is stored as integer minor units,
times as ISO 8601 UTC, enums as their values, a policy by its name."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
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
    return _decode(cls, data, policies)  # type: ignore[no-any-return]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, data: Any, policies: Mapping[str, Policy]) -> Any:
    if data is None:
        return None
    origin = get_origin(tp)
    if origin is types.UnionType or origin is typing.Union:
        options = [a for a in get_args(tp) if a is not type(None)]
        return _decode(options[0], data, policies)
    if tp is Money:
        return Money(int(data["minor"]), data["currency"])
    if tp is datetime:
        return datetime.fromisoformat(data)
    if tp is Policy:
        try:
            return policies[data]
        except KeyError:
            raise LookupError(f"stored aggregate names unknown policy {data!r}") from None
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if origin in (list, tuple):
        (item_type, *_) = get_args(tp)
        return [_decode(item_type, v, policies) for v in data]
    if origin in (dict, Mapping):
        _, value_type = get_args(tp)
        return {k: _decode(value_type, v, policies) for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {
            f.name: _decode(hints[f.name], data[f.name], policies)
            for f in dataclasses.fields(tp)
            if f.name not in TRANSIENT and f.name in data
        }
        return tp(**kwargs)
    if tp in (str, int, bool) or tp is Any or tp is object:
        return data
    raise TypeError(f"cannot load {tp!r}")
