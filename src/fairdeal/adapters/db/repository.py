"""SQL repositories and the unit of work, on SQLAlchemy Core (SQLite and PostgreSQL)."""

from __future__ import annotations

import builtins
import functools
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Engine,
    bindparam,
    case,
    func,
    insert,
    null,
    select,
    text,
    tuple_,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.engine import Connection

from fairdeal.adapters.db import bulk, tables
from fairdeal.adapters.db.codec import decode, encode
from fairdeal.adapters.db.engine import ConnectionScope, begin
from fairdeal.adapters.db.projections import (
    dispute_metric_columns,
    summary_document,
    summary_from_document,
)
from fairdeal.domain import audit
from fairdeal.domain.dispute import Dispute
from fairdeal.domain.errors import VersionConflict
from fairdeal.domain.events import DomainEvent
from fairdeal.domain.ledger import Account, LedgerTransaction, Movement, Posting
from fairdeal.domain.money import Money
from fairdeal.domain.order import Order
from fairdeal.domain.payments import MoneyMovement, MovementStatus
from fairdeal.domain.policy import Policy
from fairdeal.domain.roles import Role
from fairdeal.services.ports import (
    DisputeFilter,
    FileRecord,
    OrderFilter,
    StoredEvent,
    User,
)
from fairdeal.services.reports import DisputeSummary, summary_of


class _Tracked:
    """What the unit of work saves: aggregates read or added, and the documents they were
    read as (a document that did not change is not written)."""

    def __init__(self) -> None:
        self.disputes: dict[str, tuple[Dispute, Any]] = {}
        self.orders: dict[str, tuple[Order, Any]] = {}
        self.movements: dict[str, tuple[MoneyMovement, Any]] = {}
        # The stored due time of every row a claim returned, by (table, id): see _save.
        self.claimed_fire_at: dict[tuple[str, str], datetime | None] = {}
        # Each order's ledger chain as its row was read: (length, head hash), where the row
        # knew its length (``ledger_seq``): see SqlUnitOfWork._link_ledger.
        self.ledger_chains: dict[str, tuple[int, str]] = {}


Aggregate = TypeVar("Aggregate", Order, Dispute)


def _track(
    kind: type[Aggregate],
    tracked: dict[str, tuple[Aggregate, Any]],
    doc: Any,
    version: int,
    policies: Mapping[str, Policy],
) -> Aggregate:
    """One object per row per unit of work: a list or a claim that meets an aggregate read
    earlier hands back that object, whose unsaved changes would otherwise be dropped (and the
    stale copy saved over them)."""
    known = tracked.get(doc["id"])
    if known is not None:
        return known[0]
    aggregate = decode(kind, doc, policies)
    aggregate.version = version
    tracked[aggregate.id] = (aggregate, doc)
    return aggregate


class SqlUserRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, user: User) -> None:
        self.conn.execute(insert(tables.users).values(**_user_row(user)))

    def get(self, user_id: str) -> User | None:
        return self._one(tables.users.c.id == user_id)

    def by_token_hash(self, token_hash: str) -> User | None:
        return self._one(tables.users.c.token_hash == token_hash)

    def by_email(self, email: str) -> User | None:
        return self._one(tables.users.c.email == email.lower())

    def set_locale(self, user_id: str, language: str | None, time_zone: str | None) -> None:
        self.conn.execute(
            update(tables.users)
            .where(tables.users.c.id == user_id)
            .values(language=language, time_zone=time_zone)
        )

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.conn.execute(
            update(tables.users)
            .where(tables.users.c.id == user_id)
            .values(password_hash=password_hash)
        )

    def get_many(self, user_ids: Collection[str]) -> list[User]:
        if not user_ids:
            return []
        rows = self.conn.execute(_USERS_BY_ID, {"ids": sorted(user_ids)}).mappings()
        return [User(**row) for row in rows]

    def _one(self, condition: Any) -> User | None:
        row = self.conn.execute(select(tables.users).where(condition).limit(1)).mappings().first()
        return User(**row) if row else None


_USERS_BY_ID = select(tables.users).where(tables.users.c.id.in_(bindparam("ids", expanding=True)))


def _user_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "role": user.role,
        "name": user.name,
        "email": user.email,
        "external_id": user.external_id,
        "country": user.country,
        "language": user.language,
        "time_zone": user.time_zone,
        "password_hash": user.password_hash,
        "token_hash": user.token_hash,
        "disabled": user.disabled,
        "created_at": user.created_at,
    }


class SqlFileRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # File records never change once stored: one read per file per unit of work (opening a
        # dispute checks the evidence's owner, then records its content type for the what-if).
        self.known: dict[str, FileRecord | None] = {}

    def add(self, record: FileRecord) -> None:
        self.known[record.id] = record
        self.conn.execute(
            insert(tables.files).values(
                id=record.id,
                owner_id=record.owner_id,
                filename=record.filename,
                content_type=record.content_type,
                size=record.size,
                sha256=record.sha256,
                storage_key=record.storage_key,
                created_at=record.created_at,
            )
        )

    def get(self, file_id: str) -> FileRecord | None:
        if file_id not in self.known:
            row = self.conn.execute(_FILE_BY_ID, {"id": file_id}).mappings().first()
            self.known[file_id] = FileRecord(**row) if row else None
        return self.known[file_id]


_FILE_BY_ID = select(tables.files).where(tables.files.c.id == bindparam("id"))


class SqlOrderRepository:
    def __init__(self, conn: Connection, tracked: _Tracked, policies: Mapping[str, Policy]) -> None:
        self.conn, self.tracked, self.policies = conn, tracked, policies

    def add(self, order: Order) -> None:
        self.tracked.orders[order.id] = (order, None)

    def get(self, order_id: str) -> Order | None:
        if order_id in self.tracked.orders:
            return self.tracked.orders[order_id][0]
        found = self.get_many([order_id])
        return found[0] if found else None

    def get_many(self, order_ids: Sequence[str]) -> builtins.list[Order]:
        wanted = [i for i in order_ids if i not in self.tracked.orders]
        if wanted:
            rows = self.conn.execute(_ORDERS_BY_ID, {"ids": wanted})
            for doc, version, ledger_seq, ledger_head in rows:
                self._track(doc, version, ledger_seq, ledger_head)
        return [self.tracked.orders[i][0] for i in order_ids if i in self.tracked.orders]

    def list(self, query: OrderFilter) -> builtins.list[Order]:
        t = tables.orders
        stmt = select(t.c.doc, t.c.version).order_by(t.c.id.desc()).limit(query.limit)
        if query.buyer_id:
            stmt = stmt.where(t.c.buyer_id == query.buyer_id)
        if query.seller_id:
            stmt = stmt.where(t.c.seller_id == query.seller_id)
        if query.after:
            stmt = stmt.where(t.c.id < query.after)
        return [self._track(doc, version) for doc, version in self.conn.execute(stmt)]

    def claim_due(self, now: datetime, limit: int) -> builtins.list[Order]:
        return _claim(self.conn, tables.orders, now, limit, self._track, self.tracked)

    def _track(
        self, doc: Any, version: int, ledger_seq: int | None = None, ledger_head: str | None = None
    ) -> Order:
        """``ledger_seq``, ``ledger_head``: the row's ledger chain, where the query read it."""
        known = doc["id"] in self.tracked.orders
        order = _track(Order, self.tracked.orders, doc, version, self.policies)
        if not known and ledger_seq is not None:
            self.tracked.ledger_chains[order.id] = (ledger_seq, ledger_head or "")
        return order


class SqlDisputeRepository:
    def __init__(self, conn: Connection, tracked: _Tracked, policies: Mapping[str, Policy]) -> None:
        self.conn, self.tracked, self.policies = conn, tracked, policies

    def add(self, dispute: Dispute) -> None:
        self.tracked.disputes[dispute.id] = (dispute, None)

    # Set by the unit of work: where a dispute's order, read with it, is tracked.
    orders: SqlOrderRepository | None = None

    def get(self, dispute_id: str) -> Dispute | None:
        if dispute_id in self.tracked.disputes:
            return self.tracked.disputes[dispute_id][0]
        # With its order, in one statement: every caller (a read, a command) asks for the
        # order next and now finds it tracked -- one round trip, not two (performance.md).
        row = self.conn.execute(_DISPUTE_WITH_ORDER, {"id": dispute_id}).first()
        if row is None:
            return None
        if row[2] is not None and self.orders is not None:
            self.orders._track(row[2], row[3], row[4], row[5])
        return self._track(row[0], row[1])

    def list(self, query: DisputeFilter) -> builtins.list[Dispute]:
        t = tables.disputes
        stmt = _filtered(select(t.c.doc, t.c.version), query)
        return [self._track(doc, version) for doc, version in self.conn.execute(stmt)]

    def claim_due(self, now: datetime, limit: int) -> builtins.list[Dispute]:
        return _claim(self.conn, tables.disputes, now, limit, self._track, self.tracked)

    def between(self, user_a: str, user_b: str) -> builtins.list[Dispute]:
        t = tables.disputes
        stmt = select(t.c.doc, t.c.version).where(
            ((t.c.buyer_id == user_a) & (t.c.seller_id == user_b))
            | ((t.c.buyer_id == user_b) & (t.c.seller_id == user_a))
        )
        return [self._track(doc, version) for doc, version in self.conn.execute(stmt)]

    def stored_version(self, dispute_id: str) -> int | None:
        t = tables.disputes
        found = self.conn.execute(select(t.c.version).where(t.c.id == dispute_id)).scalar()
        return None if found is None else int(found)

    def next_due(self, until: datetime) -> tuple[str, str, datetime] | None:
        d, o = tables.disputes, tables.orders
        both = union_all(
            select(func.min(d.c.fire_at).label("at")).where(d.c.fire_at <= until),
            select(func.min(o.c.fire_at).label("at")).where(o.c.fire_at <= until),
        ).subquery()
        earliest = self.conn.execute(select(func.min(both.c.at))).scalar()
        if earliest is None:
            return None
        moment = tables.UTCDateTime().process_result_value(earliest, self.conn.dialect)
        assert moment is not None
        return ("any", "", moment)

    def _track(self, doc: Any, version: int) -> Dispute:
        return _track(Dispute, self.tracked.disputes, doc, version, self.policies)

    def summaries(
        self, query: DisputeFilter
    ) -> builtins.list[tuple[DisputeSummary, builtins.list[str]]]:
        """The summary column and the order's item titles, in one statement: the inbox and
        the queue decoded every dispute and its order into aggregates to show a row, a
        quarter of their CPU (docs/performance.md, "Web pages"). A row saved before the
        column was filled (none after migration 0011) is decoded and summarised."""
        d, o = tables.disputes, tables.orders
        # The document only where the summary is missing: documents are what this avoids.
        missing = case((d.c.summary.is_(None), d.c.doc), else_=null())
        stmt = _filtered(
            select(
                d.c.id,
                d.c.order_id,
                d.c.buyer_id,
                d.c.seller_id,
                d.c.summary,
                type_coerce(missing, tables.Document),
                d.c.version,
                o.c.doc["items"],
            ).select_from(d.outerjoin(o, o.c.id == d.c.order_id)),
            query,
        )
        found = []
        for (
            dispute_id,
            order_id,
            buyer_id,
            seller_id,
            summary,
            doc,
            version,
            items,
        ) in self.conn.execute(stmt):
            if summary is not None:
                row = summary_from_document(summary, dispute_id, order_id, buyer_id, seller_id)
            else:
                row = summary_of(self._track(doc, version))
            found.append((row, [item["title"] for item in items or ()]))
        return found


def _filtered(stmt: Any, query: DisputeFilter) -> Any:
    """``stmt`` over the disputes table narrowed, ordered and limited as ``query`` asks
    (``list`` and ``summaries`` answer the same rows)."""
    t = tables.disputes
    stmt = stmt.limit(query.limit)
    if query.buyer_id:
        stmt = stmt.where(t.c.buyer_id == query.buyer_id)
    if query.seller_id:
        stmt = stmt.where(t.c.seller_id == query.seller_id)
    if query.status:
        stmt = stmt.where(t.c.status == query.status)
    if query.mediator_queue:
        # The queue: nearest deadline first; the cursor is the last dispute's id.
        stmt = stmt.order_by(t.c.deadline_at, t.c.id)
        if query.after:
            last = select(t.c.deadline_at).where(t.c.id == query.after).scalar_subquery()
            stmt = stmt.where(tuple_(t.c.deadline_at, t.c.id) > tuple_(last, query.after))
    else:
        stmt = stmt.order_by(t.c.id.desc())
        if query.after:
            stmt = stmt.where(t.c.id < query.after)
    return stmt


# An order is read with its ledger chain's length and head: the commands that load an order
# by id are the ones that may append to its ledger (a refund, a payout, a capture).
_ORDERS_BY_ID = select(
    tables.orders.c.doc,
    tables.orders.c.version,
    tables.orders.c.ledger_seq,
    tables.orders.c.ledger_head,
).where(tables.orders.c.id.in_(bindparam("ids", expanding=True)))
_DISPUTE_WITH_ORDER = (
    select(
        tables.disputes.c.doc,
        tables.disputes.c.version,
        tables.orders.c.doc,
        tables.orders.c.version,
        tables.orders.c.ledger_seq,
        tables.orders.c.ledger_head,
    )
    .select_from(
        tables.disputes.outerjoin(tables.orders, tables.orders.c.id == tables.disputes.c.order_id)
    )
    .where(tables.disputes.c.id == bindparam("id"))
)


def _claim(
    conn: Connection, table: Any, now: datetime, limit: int, track: Any, tracked: _Tracked
) -> builtins.list[Any]:
    """Lock and load up to ``limit`` rows due at ``now``, earliest first, skipping rows
    another transaction holds (PostgreSQL; SQLite has one writer at a time anyway)."""
    stmt = (
        select(table.c.doc, table.c.version, table.c.fire_at)
        .where(table.c.fire_at <= now)
        .order_by(table.c.fire_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for doc, version, fire_at in conn.execute(stmt):
        aggregate = track(doc, version)
        tracked.claimed_fire_at[(table.name, aggregate.id)] = fire_at
        claimed.append(aggregate)
    return claimed


def event_row(event: DomainEvent) -> dict[str, Any]:
    """The ``events`` row of a domain event, under a new id."""
    by = event.actor_role
    return {
        "id": "evt_" + uuid.uuid4().hex,
        "type": event.type,
        "aggregate_id": event.aggregate_id,
        "created_at": event.at,
        "data": event.data,
        "actor": by.value if by is not None else None,
        "event_class": type(event).__name__,
    }


class SqlMovementRepository:
    """Money movements: documents with their claim and filter columns (docs/payments.md)."""

    def __init__(self, conn: Connection, tracked: _Tracked, policies: Mapping[str, Policy]) -> None:
        self.conn, self.tracked, self.policies = conn, tracked, policies

    def add(self, movement: MoneyMovement) -> None:
        self.tracked.movements[movement.id] = (movement, None)

    def get(self, movement_id: str) -> MoneyMovement | None:
        if movement_id in self.tracked.movements:
            return self.tracked.movements[movement_id][0]
        found = self._load(_MOVEMENT_BY_ID, {"id": movement_id})
        return found[0] if found else None

    def of_order(self, order_id: str) -> builtins.list[MoneyMovement]:
        t = tables.money_movements
        return self._load(
            select(t.c.doc, t.c.version).where(t.c.order_id == order_id).order_by(t.c.id)
        )

    def list(self, status: str | None = None, limit: int = 100) -> builtins.list[MoneyMovement]:
        t = tables.money_movements
        stmt = select(t.c.doc, t.c.version).order_by(t.c.id.desc()).limit(limit)
        if status:
            stmt = stmt.where(t.c.status == status)
        return self._load(stmt)

    def claim_due(
        self, now: datetime, limit: int, *, real_now: datetime
    ) -> builtins.list[MoneyMovement]:
        t = tables.money_movements
        # MoneyMovement.is_due: a claimed movement (its due_at is its lease's end) when the
        # lease has ended in real time, another when its next attempt is due on the clock.
        # The first condition is the index's range; the clock may be ahead of real time
        # (an advanced sandbox) or behind it (a sandbox set back to a past date).
        due = (t.c.claimed_until.is_(None) & (t.c.due_at <= now)) | (t.c.claimed_until <= real_now)
        return self._load(
            select(t.c.doc, t.c.version)
            .where(t.c.due_at <= max(now, real_now), due)
            .order_by(t.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )

    def needing_attention(self, now: datetime, limit: int = 100) -> builtins.list[MoneyMovement]:
        t = tables.money_movements
        overdue = (
            (t.c.kind == "refund")
            & (t.c.status != MovementStatus.SUCCEEDED.value)
            & (t.c.expected_by < now)
        )
        stmt = (
            select(t.c.doc, t.c.version)
            .where((t.c.status == MovementStatus.FAILED.value) | overdue)
            .order_by(t.c.id)
            .limit(limit)
        )
        return self._load(stmt)

    def _load(
        self, stmt: Any, params: Mapping[str, Any] | None = None
    ) -> builtins.list[MoneyMovement]:
        found = []
        for doc, version in self.conn.execute(stmt, params):
            known = self.tracked.movements.get(doc["id"])
            if known is not None:
                found.append(known[0])
                continue
            movement = decode(MoneyMovement, doc, self.policies)
            movement.version = version
            self.tracked.movements[movement.id] = (movement, doc)
            found.append(movement)
        return found


_MOVEMENT_BY_ID = select(tables.money_movements.c.doc, tables.money_movements.c.version).where(
    tables.money_movements.c.id == bindparam("id")
)


class SqlEventLog:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def after(self, position: int, limit: int) -> builtins.list[StoredEvent]:
        """Events after a feed position, publishing committed ones first (needs a write unit
        of work). ``StoredEvent.seq`` is the feed position."""
        self.publish()
        return self.published_after(position, limit)

    def published_after(self, position: int, limit: int) -> builtins.list[StoredEvent]:
        """Events after a feed position, as far as the feed was published."""
        t = tables.events
        rows = self.conn.execute(
            select(
                t.c.position,
                t.c.id,
                t.c.type,
                t.c.created_at,
                t.c.data,
                t.c.actor,
                t.c.event_class,
            )
            .where(t.c.position > position)
            .order_by(t.c.position)
            .limit(limit)
        )
        return [
            StoredEvent(seq, id_, type_, at, data, Role(actor) if actor else None, event_class)
            for seq, id_, type_, at, data, actor, event_class in rows
        ]

    def append(self, events: Sequence[DomainEvent]) -> builtins.list[str]:
        """Store events (unpublished: ``publish`` gives them feed positions); their new ids."""
        rows = [event_row(e) for e in events]
        if rows:
            _insert(self.conn, tables.events, rows)
        return [row["id"] for row in rows]

    def publish(self) -> None:
        """Give every committed, unpublished event the next feed positions, in insertion
        order. Serialized (advisory lock on PostgreSQL, the single writer on SQLite), so
        positions only grow and a reader's cursor never skips a late commit."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(726202)"))
        self.conn.execute(
            text(
                "UPDATE events SET position = numbered.base + numbered.rn FROM ("
                " SELECT seq, row_number() OVER (ORDER BY seq) AS rn,"
                " (SELECT COALESCE(MAX(position), 0) FROM events) AS base"
                " FROM events WHERE position IS NULL) AS numbered"
                " WHERE events.seq = numbered.seq"
            )
        )


class SqlUnitOfWork(ConnectionScope):
    users: SqlUserRepository
    files: SqlFileRepository
    orders: SqlOrderRepository
    disputes: SqlDisputeRepository
    events: SqlEventLog
    payments: SqlMovementRepository

    def __init__(self, engine: Engine, policies: Mapping[str, Policy], *, write: bool) -> None:
        self.engine, self.policies, self.write = engine, policies, write
        self._published: list[DomainEvent] = []

    def __enter__(self) -> SqlUnitOfWork:
        self.conn = begin(self.engine, write=self.write, autocommit_read=True)
        self.tracked = _Tracked()
        self.users = SqlUserRepository(self.conn)
        self.files = SqlFileRepository(self.conn)
        self.orders = SqlOrderRepository(self.conn, self.tracked, self.policies)
        self.disputes = SqlDisputeRepository(self.conn, self.tracked, self.policies)
        self.disputes.orders = self.orders
        self.events = SqlEventLog(self.conn)
        self.payments = SqlMovementRepository(self.conn, self.tracked, self.policies)
        return self

    def rollback(self) -> None:
        self.conn.rollback()

    def commit(self) -> None:
        """Write changed aggregates (version-checked), their events and ledger transactions,
        then commit: all of it or none."""
        events: list[DomainEvent] = []
        ledger = [txn for order, _ in self.tracked.orders.values() for txn in order.pending_ledger]
        # Disputes before orders, always: every writer locks rows in the same order.
        saved_disputes = self._save(
            tables.disputes,
            [(d, loaded, _dispute_columns) for d, loaded in self.tracked.disputes.values()],
        )
        # The ledger entries are linked into their orders' chains first, so that each order's
        # new chain head is written by its versioned update, not by an UPDATE of its own.
        ledger_rows, heads = self._link_ledger(ledger) if ledger else ([], {})
        saved_orders = self._save(
            tables.orders,
            [(o, loaded, _order_columns) for o, loaded in self.tracked.orders.values()],
            ledger_heads=heads,
        )
        # The money movements the orders decided, in the same transaction as their ledger
        # entries (docs/payments.md); then every changed movement, version-checked.
        for order, _ in self.tracked.orders.values():
            for movement in order.pending_movements:
                self.tracked.movements.setdefault(movement.id, (movement, None))
        saved_movements = self._save(
            tables.money_movements,
            [(m, loaded, _movement_columns) for m, loaded in self.tracked.movements.values()],
        )
        for dispute, _ in self.tracked.disputes.values():
            events.extend(dispute.pending_events)
        for order, _ in self.tracked.orders.values():
            events.extend(order.pending_events)
        for movement, _ in self.tracked.movements.values():
            events.extend(movement.pending_events)
        events.sort(key=lambda e: e.at)
        self.events.append(events)
        if ledger_rows:
            _insert(self.conn, tables.ledger_entries, ledger_rows)
        self.conn.commit()
        # Versions move only once the transaction is in: a failed commit leaves the
        # aggregates as they were read, for the caller's retry or error report.
        for aggregate, version in (*saved_disputes, *saved_orders, *saved_movements):
            aggregate.version = version
        for dispute, _ in self.tracked.disputes.values():
            dispute.pending_events.clear()
        for order, _ in self.tracked.orders.values():
            order.pending_events.clear()
            order.pending_ledger.clear()
            order.pending_movements.clear()
        for movement, _ in self.tracked.movements.values():
            movement.pending_events.clear()
        self._published = events

    def published(self) -> builtins.list[DomainEvent]:
        return list(self._published)

    def _link_ledger(
        self, ledger: builtins.list[LedgerTransaction]
    ) -> tuple[builtins.list[dict[str, Any]], dict[str, tuple[int, str]]]:
        """The ledger entries' rows as links of their order's hash chain (ADR 0003), and each
        order's new chain (length, head). The last link is what the order's row said when it
        was read (``ledger_seq``, ``ledger_head``), or, for a row that does not know its
        length, read from the chain's tail here. Either way it is as of before the orders'
        rows are written: every append also writes its order's row, version-checked, so an
        append that committed in between makes this transaction's order update fail (a stale
        write, retried) rather than fork the chain -- and the unique (order_id, chain_seq)
        would refuse a fork anyway."""
        rows = [row for txn in ledger for row in _ledger_rows(txn)]
        new_orders = {i for i, (_, loaded) in self.tracked.orders.items() if loaded is None}
        heads = dict.fromkeys(new_orders, (0, ""))
        heads.update(self.tracked.ledger_chains)
        unknown = sorted({row["order_id"] for row in rows} - heads.keys())
        if unknown:
            found = self.conn.execute(_LEDGER_TAILS, {"ids": unknown})
            heads.update({order_id: (seq, digest) for order_id, seq, digest in found})
        for row in rows:
            order_id = row["order_id"]
            seq, previous = heads.get(order_id, (0, ""))
            seq += 1
            row["chain_seq"] = seq
            row["hash"] = audit.entry_hash(
                previous or audit.ledger_genesis(order_id), ledger_row_content(row)
            )
            heads[order_id] = (seq, row["hash"])
        moved = {row["order_id"] for row in rows}
        return rows, {order_id: heads[order_id] for order_id in moved}

    def ledger(self, order_id: str) -> builtins.list[LedgerTransaction]:
        t = tables.ledger_entries
        rows = (
            self.conn.execute(select(t).where(t.c.order_id == order_id).order_by(t.c.id))
            .mappings()
            .all()
        )
        by_txn: dict[str, list[Any]] = {}
        for row in rows:
            by_txn.setdefault(row["txn_id"], []).append(row)
        result = []
        for entries in by_txn.values():
            first, second = entries
            result.append(
                LedgerTransaction(
                    order_id=first["order_id"],
                    movement=Movement(first["movement"]),
                    postings=(
                        Posting(
                            Account(first["account"]),
                            Money(first["amount_minor"], first["currency"]),
                        ),
                        Posting(
                            Account(second["account"]),
                            Money(second["amount_minor"], second["currency"]),
                        ),
                    ),
                    at=first["created_at"],
                    dispute_id=first["dispute_id"],
                )
            )
        return result

    def _save(
        self,
        table: Any,
        tracked: builtins.list[tuple[Any, Any, Any]],
        ledger_heads: Mapping[str, tuple[int, str]] | None = None,
    ) -> builtins.list[tuple[Any, int]]:
        """Insert the new and update the changed aggregates of one table -- one statement each
        for the whole batch (executemany: psycopg pipelines it, so a worker's batch of
        hundreds costs about one round trip, not one per row). Every update is checked against
        the version read; returns (aggregate, new version) to apply after the commit.
        ``ledger_heads`` (the orders' table only): the new ledger chain (length, head) of the
        orders whose ledger grew, written by the same statement; such a row is written even
        if its document did not change."""
        inserts: builtins.list[dict[str, Any]] = []
        updates: builtins.list[dict[str, Any]] = []
        saved: builtins.list[tuple[Any, int]] = []
        for aggregate, loaded, columns_of in tracked:
            doc = encode(aggregate)
            head = ledger_heads.get(aggregate.id) if ledger_heads else None
            if doc == loaded and head is None and not self._stale_due_time(table, aggregate):
                continue  # read, not changed: no write, no version bump
            columns = columns_of(aggregate, doc)
            if loaded is None:
                if table is tables.orders:
                    columns["ledger_seq"], columns["ledger_head"] = head or (0, None)
                inserts.append({"id": aggregate.id, "version": 1, **columns})
                saved.append((aggregate, 1))
            else:
                version = aggregate.version
                changed = {k: v for k, v in columns.items() if k not in _WRITTEN_ONCE}
                if table is tables.orders:
                    # None: the chain stays as it is (_versioned_update)
                    changed[_MOVED_SEQ], changed[_MOVED_HEAD] = head or (None, None)
                updates.append(
                    {"_id": aggregate.id, "_version": version, "version": version + 1, **changed}
                )
                saved.append((aggregate, version + 1))
        if inserts:
            _insert(self.conn, table, inserts)
        if updates:
            # Rows are locked in id order, so that two writers of overlapping batches (two
            # workers whose disputes share an order) wait for each other instead of
            # deadlocking.
            updates.sort(key=lambda row: row["_id"])
            if len(updates) > 1 and self.conn.dialect.name == "postgresql":
                bulk.lock_in_order(self.conn, table, [row["_id"] for row in updates])
                matched = bulk.update_many(
                    self.conn,
                    table,
                    updates,
                    match=_VERSION_CHECK,
                    keep_if_null=_MOVED_CHAIN if table is tables.orders else {},
                )
            else:
                matched = self.conn.execute(_versioned_update(table), updates).rowcount
            if matched != len(updates):
                ids = ", ".join(row["_id"] for row in updates)
                which = ids if len(updates) == 1 else f"one of {ids}"
                raise VersionConflict(f"{which} was changed by someone else; try again")
        return saved

    def _stale_due_time(self, table: Any, aggregate: Any) -> bool:
        """Whether a claimed row's stored due time disagrees with its aggregate's own. It can
        (a policy file's deadlines were edited after the row was written, or the code that
        derives them changed); such a row is claimed as due but has nothing to fire, and
        left as it is it would be claimed again by every batch, ahead of the rows really due
        -- enough of them and the worker fires nothing at all. Saving it corrects it."""
        key = (table.name, aggregate.id)
        if key not in self.tracked.claimed_fire_at:
            return False
        stored = self.tracked.claimed_fire_at[key]
        return bool(stored != aggregate.fire_at)


@functools.cache
def _versioned_update(table: Any) -> Any:
    """UPDATE ... WHERE id = :_id AND version = :_version; the SET list comes from the
    parameters (the columns of ``_dispute_columns``/``_order_columns`` and the new version).
    Built once per table: constructing Core statements showed in the profiles of every save.
    An order's row also takes its ledger chain head when its ledger grew (every row of an
    executemany has the same parameters, so the others pass None and keep theirs)."""
    stmt = update(table).where(
        table.c.id == bindparam("_id"), table.c.version == bindparam("_version")
    )
    if table is tables.orders:
        stmt = stmt.values(
            ledger_head=func.coalesce(
                bindparam(_MOVED_HEAD, type_=table.c.ledger_head.type), table.c.ledger_head
            ),
            ledger_seq=func.coalesce(
                bindparam(_MOVED_SEQ, type_=table.c.ledger_seq.type), table.c.ledger_seq
            ),
        )
    return stmt


_MOVED_HEAD = "_ledger_head"
_MOVED_SEQ = "_ledger_seq"
# The same update for many rows in one statement (bulk.update_many, PostgreSQL): the
# parameters that name the row, and the chain columns a null leaves as they are.
_VERSION_CHECK = {"_id": "id", "_version": "version"}
_MOVED_CHAIN = {_MOVED_HEAD: "ledger_head", _MOVED_SEQ: "ledger_seq"}


def _insert(conn: Connection, table: Any, rows: builtins.list[dict[str, Any]]) -> None:
    """INSERT rows: on PostgreSQL several in one statement (bulk.insert_many), else
    executemany."""
    if len(rows) > 1 and conn.dialect.name == "postgresql":
        bulk.insert_many(conn, table, rows)
    else:
        conn.execute(_insert_into(table), rows)


@functools.cache
def _insert_into(table: Any) -> Any:
    """INSERT INTO the table, built once: a Core statement built per call costs its cache
    key on every execution (six per embedded lifecycle, performance.md "5. Embedded")."""
    return insert(table)


def _ledger_tails() -> Any:
    """The last entry (order, chain_seq, hash) of each of some orders' ledger chains: for
    orders whose row does not know its chain's length."""
    t = tables.ledger_entries
    last = (
        select(t.c.order_id, func.max(t.c.chain_seq).label("seq"))
        .where(t.c.order_id.in_(bindparam("ids", expanding=True)))
        .group_by(t.c.order_id)
        .subquery()
    )
    return select(t.c.order_id, t.c.chain_seq, t.c.hash).join(
        last, (t.c.order_id == last.c.order_id) & (t.c.chain_seq == last.c.seq)
    )


_LEDGER_TAILS = _ledger_tails()


# Columns an aggregate's row gets when it is inserted and that never change afterwards.
_WRITTEN_ONCE = frozenset({"order_id", "buyer_id", "seller_id", "created_at"})


def _dispute_columns(dispute: Dispute, doc: Any) -> dict[str, Any]:
    """The document and the columns that queries filter and sort on or lists show, kept in
    step with it."""
    deadline = dispute.deadline
    return {
        "order_id": dispute.order_id,
        "buyer_id": dispute.buyer_id,
        "seller_id": dispute.seller_id,
        "status": dispute.status.value,
        "mediator_id": dispute.mediation.mediator_id if dispute.mediation else None,
        "fire_at": dispute.fire_at,
        "deadline_at": deadline.due_at if deadline else None,
        "timeline_head": dispute.timeline[-1].hash if dispute.timeline else None,
        **dispute_metric_columns(doc),
        "summary": summary_document(summary_of(dispute)),
        "doc": doc,
        "created_at": dispute.created_at,
        "updated_at": dispute.updated_at,
    }


def _order_columns(order: Order, doc: Any) -> dict[str, Any]:
    return {
        "buyer_id": order.buyer_id,
        "seller_id": order.seller_id,
        "status": order.status.value,
        "fire_at": order.fire_at,
        "doc": doc,
        "created_at": order.created_at,
    }


def _movement_columns(movement: MoneyMovement, doc: Any) -> dict[str, Any]:
    return {
        "order_id": movement.order_id,
        "dispute_id": movement.dispute_id,
        "kind": movement.kind.value,
        "status": movement.status.value,
        "provider": movement.provider,
        "due_at": movement.due_at,
        "claimed_until": movement.claimed_until,
        "expected_by": movement.expected_by,
        "doc": doc,
        "created_at": movement.created_at,
        "updated_at": movement.updated_at,
    }


def _ledger_rows(txn: LedgerTransaction) -> builtins.list[dict[str, Any]]:
    txn_id = "txn_" + uuid.uuid4().hex
    return [
        {
            "txn_id": txn_id,
            "order_id": txn.order_id,
            "dispute_id": txn.dispute_id,
            "movement": txn.movement.value,
            "account": posting.account.value,
            "currency": posting.amount.currency,
            "amount_minor": posting.amount.minor,
            "created_at": txn.at,
        }
        for posting in txn.postings
    ]


def ledger_row_content(row: Mapping[str, Any]) -> dict[str, object]:
    """The chained content of one ledger row (domain/audit.py), as the verifier reads it."""
    return audit.ledger_content(
        seq=row["chain_seq"],
        txn_id=row["txn_id"],
        order_id=row["order_id"],
        dispute_id=row["dispute_id"],
        movement=row["movement"],
        account=row["account"],
        currency=row["currency"],
        amount_minor=row["amount_minor"],
        at=row["created_at"].astimezone(UTC).isoformat(),
    )


class SqlUnitOfWorkFactory:
    def __init__(self, engine: Engine, policies: Mapping[str, Policy]) -> None:
        self.engine, self.policies = engine, policies

    def __call__(self, *, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.policies, write=write)
