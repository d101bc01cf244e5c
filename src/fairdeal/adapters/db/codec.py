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
from typing import Any, TypeVar, cast, get_args, get_origin

from fairdeal.domain.money import Money
from fairdeal.domain.policy import Policy

T = TypeVar("T")

# Fields that are working state of one transaction, never part of the stored document.
TRANSIENT = frozenset({"pending_events", "pending_ledger", "pending_movements", "version"})


# Values stored as they are. Exact types: an IntEnum or StrEnum is an int or str subclass
# but is stored by its value through the enum encoder.
_PLAIN: frozenset[type] = frozenset({str, int, bool, type(None)})
_ENCODERS: dict[type, Callable[[Any], Any]] = {}


def encode(value: Any) -> Any:
    """The JSON document of an aggregate (or of any value inside one)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        encoder = _ENCODERS[kind] = _encoder(kind)
    return encoder(value)


def _encoder(kind: type) -> Callable[[Any], Any]:
    """An encoding function for one runtime type, built once: saving encodes every aggregate
    a unit of work touched (a worker's batch is hundreds), and dispatching on the exact type
    through this table is several times faster than walking an isinstance chain and
    ``dataclasses.fields`` for every value (typical dispute 110 -> 50 us, order 75 -> 13 us)."""
    if issubclass(kind, Money):
        return lambda value: {"minor": value.minor, "currency": value.currency}
    if issubclass(kind, datetime):
        return datetime.isoformat
    if issubclass(kind, Enum):
        return lambda value: value.value
    if issubclass(kind, Policy):
        return lambda value: value.name
    if dataclasses.is_dataclass(kind):
        return _dataclass_encoder(kind)
    if issubclass(kind, list | tuple):
        return lambda value: [item if type(item) in _PLAIN else encode(item) for item in value]
    if issubclass(kind, Mapping):
        return lambda value: {str(key): encode(item) for key, item in value.items()}
    if issubclass(kind, bool | int | str):  # a subclass of a plain type that is not an enum
        return lambda value: value
    raise TypeError(f"cannot store {kind.__name__}")


def decode(cls: type[T], data: Mapping[str, Any], policies: Mapping[str, Policy]) -> T:
    """The aggregate (or any value) of type ``cls`` that ``encode`` stored as ``data``."""
    decoded: T = _decoder(cast(Any, cls))(data, policies)
    return decoded


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
        return _enum_decoder(tp)
    if origin in (list, tuple):
        item = _decoder(get_args(tp)[0])
        return lambda data, policies: [item(v, policies) for v in data]
    if origin in (dict, Mapping):
        value = _decoder(get_args(tp)[1])
        return lambda data, policies: {k: value(v, policies) for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    if tp in (str, int, bool) or tp is Any or tp is object:
        return lambda data, policies: data
    raise TypeError(f"cannot load {tp!r}")


def _enum_decoder(tp: type[Enum]) -> Decoder:
    """An enum member by its stored value: a dict look-up, where calling the enum class
    (its metaclass's ``__call__``) was 8% of a firing worker's CPU by py-spy -- every
    timeline entry, solution and status of a document has one. A value that is not a
    member's goes through the class as before (its ``_missing_``, or the ValueError)."""
    members = tp._value2member_map_

    def load(data: Any, policies: Mapping[str, Policy]) -> Any:
        member = members.get(data) if isinstance(data, str | int) else None
        return member if member is not None else tp(data)

    return load


def _dataclass_encoder(kind: type) -> Callable[[Any], dict[str, Any]]:
    """The encoder of one dataclass as a function compiled for it: one dict display over its
    fields, each stored as it is when its runtime type is plain and encoded otherwise. A loop
    over the field names with ``getattr`` and a dict store per field was a fifth of a firing
    worker's CPU (docs/performance.md, "3. Deadline firing"); the compiled form does the same
    work -- by the same exact-type rule -- in about half the time."""
    names = [f.name for f in dataclasses.fields(kind) if f.name not in TRANSIENT]
    lines = [f"    v{i} = value.{name}" for i, name in enumerate(names)]
    items = ", ".join(
        f"{name!r}: v{i} if type(v{i}) in plain else encode(v{i})" for i, name in enumerate(names)
    )
    source = "def encode_dataclass(value):\n" + "\n".join(lines) + f"\n    return {{{items}}}\n"
    return cast(
        Callable[[Any], dict[str, Any]],
        _compiled(source, "encode_dataclass", {"plain": _PLAIN, "encode": encode}),
    )


_MISSING = object()


def _dataclass_decoder(tp: type) -> Decoder:
    """The decoder of one dataclass, compiled for it: a field whose type is stored as it is
    (str, int, bool, or None of them) is passed through without a call, the others go
    through their own decoders. A key missing from the document (a field added to the
    dataclass after it was stored) leaves the field to its default, as before; keys the
    dataclass no longer has are ignored."""
    hints = typing.get_type_hints(tp)
    fields = [f.name for f in dataclasses.fields(tp) if f.name not in TRANSIENT]
    namespace: dict[str, Any] = {"tp": tp, "MISSING": _MISSING}
    lines = ["def build(data, policies):", "    fields = {}"]
    for i, name in enumerate(fields):
        lines.append(f"    v = data.get({name!r}, MISSING)")
        lines.append("    if v is not MISSING:")
        if _stored_as_is(hints[name]):
            lines.append(f"        fields[{name!r}] = v")
        else:
            namespace[f"load{i}"] = _decoder(hints[name])
            lines.append(f"        fields[{name!r}] = None if v is None else load{i}(v, policies)")
    lines.append("    return tp(**fields)")
    return cast(Decoder, _compiled("\n".join(lines) + "\n", "build", namespace))


def _stored_as_is(tp: Any) -> bool:
    """Whether ``decode`` hands values of this type back as the document holds them."""
    if get_origin(tp) in (types.UnionType, typing.Union):
        return all(_stored_as_is(arg) for arg in get_args(tp) if arg is not type(None))
    return tp in (str, int, bool) or tp is Any or tp is object


def _compiled(source: str, name: str, namespace: dict[str, Any]) -> Any:
    # The source is built above from the dataclass's own field names, never from data.
    exec(compile(source, f"<codec {name}>", "exec"), namespace)
    return namespace[name]


def _policy(name: str, policies: Mapping[str, Policy]) -> Policy:
    try:
        return policies[name]
    except KeyError:
        raise LookupError(f"stored aggregate names unknown policy {name!r}") from None
