"""Hash chains that make the record tamper-evident: each dispute's timeline and each order's
ledger is a chain from its own genesis, every entry's hash covering the previous hash and the
entry's canonical content. See docs/adr/0003-tamper-evident-chains.md.

Everything here works on the *stored* form of an entry (JSON-level values: str, int, bool,
None), so that the verifier hashes exactly what the database holds. The canonical form is
version 1 of the format and must never change: every stored chain depends on it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

FORMAT = "v1"
# The key of an entry's own hash inside a stored timeline entry (not part of its content).
HASH_KEY = "hash"

_dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode
# The encoder's own string escaping (C): what ``_dumps`` writes for a string, quotes included.
_quote: Callable[[str], str] = json.encoder.encode_basestring


def genesis(chain: str, aggregate_id: str) -> str:
    """The hash a chain starts from: binds the chain to its kind and aggregate, so that one
    dispute's timeline cannot be passed off as another's."""
    return hashlib.sha256(f"fairdeal:{chain}:{FORMAT}:{aggregate_id}".encode()).hexdigest()


def timeline_genesis(dispute_id: str) -> str:
    return genesis("timeline", dispute_id)


def ledger_genesis(order_id: str) -> str:
    return genesis("ledger", order_id)


def canonical(content: Mapping[str, object]) -> str:
    """Sorted-key compact JSON of an entry's fields, without its own hash and without fields
    that are null (so that adding an optional field later does not change old entries).

    Entries are flat maps of strings and integers, which are written here directly -- the
    same text ``json`` writes, several times faster, which is most of what verifying costs
    per entry; anything else (a bool, a float, a nested value) goes through ``json``."""
    parts = []
    for key in sorted(content):
        value = content[key]
        if value is None or key == HASH_KEY:
            continue
        kind = type(value)
        if kind is str:
            parts.append(f"{_quote(key)}:{_quote(value)}")  # type: ignore[arg-type]
        elif kind is int:
            parts.append(f"{_quote(key)}:{value}")
        else:
            return _dumps({k: v for k, v in content.items() if v is not None and k != HASH_KEY})
    return "{" + ",".join(parts) + "}"


def entry_hash(previous: str, content: Mapping[str, object]) -> str:
    """sha256(previous hash, newline, canonical content), hex."""
    return hashlib.sha256(f"{previous}\n{canonical(content)}".encode()).hexdigest()


def ledger_content(
    *,
    seq: int,
    txn_id: str,
    order_id: str,
    dispute_id: str | None,
    movement: str,
    account: str,
    currency: str,
    amount_minor: int,
    at: str,
) -> dict[str, object]:
    """A ledger entry's chained content. The amount is exact, as a string of minor units;
    ``at`` is the ISO 8601 UTC time; ``seq`` is the entry's position in its order's chain."""
    return {
        "seq": seq,
        "txn_id": txn_id,
        "order_id": order_id,
        "dispute_id": dispute_id,
        "movement": movement,
        "account": account,
        "currency": currency,
        "amount": str(amount_minor),
        "at": at,
    }


class StoredEntry(NamedTuple):
    """One entry as stored: its content, the hash stored with it, its position in the chain as
    stored (None where the position is implicit: a timeline's order in its document) and the
    row id that names it to a person (None: it is named by its position). A tuple, not a
    dataclass: the verifier makes one per entry, hundreds of thousands a second."""

    content: Mapping[str, object]
    stored_hash: str | None
    seq: int | None = None
    ref: object = None

    def label(self, chain: str, position: int) -> str:
        if self.ref is not None:
            return f"{chain} entry id={self.ref}"
        return f"{chain} entry #{position}"


@dataclass(frozen=True, slots=True)
class Break:
    """The first entry of a chain that does not verify, and why."""

    chain: str
    aggregate_id: str
    entry: str
    reason: str

    def __str__(self) -> str:
        return f"{self.chain} {self.aggregate_id}: {self.entry}: {self.reason}"


def first_break(
    chain: str, aggregate_id: str, entries: Iterable[StoredEntry], head: str | None
) -> tuple[Break | None, int]:
    """Walk one chain from its genesis; return its first broken entry (or None) and how many
    entries were checked. ``head`` is the last hash as recorded beside the aggregate: a chain
    that ends elsewhere lost its tail (or grew one nobody wrote)."""
    previous = genesis(chain, aggregate_id)
    count = 0
    last: StoredEntry | None = None
    for count, entry in enumerate(entries, 1):
        last = entry
        content, stored_hash, seq, _ = entry
        if seq is not None and seq != count:
            reason = (
                f"is at chain position {seq}, expected {count}"
                " (an entry before it was deleted, or one was inserted or moved)"
            )
            return Break(chain, aggregate_id, entry.label(chain, count), reason), count
        if not stored_hash:
            return Break(chain, aggregate_id, entry.label(chain, count), "has no hash"), count
        expected = entry_hash(previous, content)
        if expected != stored_hash:
            reason = (
                "hash does not match its content and the previous entry's hash"
                " (the entry was edited, or an entry before it was deleted, inserted or moved)"
            )
            return Break(chain, aggregate_id, entry.label(chain, count), reason), count
        previous = expected
    label = last.label(chain, count) if last is not None else "genesis"
    if count == 0 and head is None:
        return None, 0
    if head != previous:
        if head is None:
            reason = "the chain has entries but no recorded head (head removed)"
        elif count == 0:
            reason = "the recorded head names entries that are not there (all deleted)"
        else:
            reason = (
                "the chain ends here but its recorded head is elsewhere"
                " (entries after it deleted, or the head edited)"
            )
        return Break(chain, aggregate_id, f"after {label}", reason), count
    return None, count


@dataclass(frozen=True, slots=True)
class Chain:
    """One aggregate's chain as stored: its kind ("timeline" or "ledger"), the aggregate, the
    head recorded beside it, and its entries in chain order."""

    kind: str
    aggregate_id: str
    head: str | None
    entries: list[StoredEntry]

    def verify(self) -> tuple[Break | None, int]:
        return first_break(self.kind, self.aggregate_id, self.entries, self.head)
