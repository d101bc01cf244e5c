"""In-memory fakes for every port in ``fairdeal.services.ports`` (and the notification
senders of ``fairdeal.services.notifications``), honouring the contracts the SQL adapters
honour: aggregates are stored as documents (the same codec), saves are version-checked
(``VersionConflict`` on a stale write, all of a commit or none of it), a unit of work left
without committing rolls back, events are published on commit, and the listing filters and
cursors order as the SQL does. ``tests/contract`` runs one suite against these and both
databases; ``fake_context()`` is the services' context on them.
"""

from __future__ import annotations

import builtins
import dataclasses
import itertools
import shutil
import tempfile
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from fairdeal.adapters.db.codec import decode, encode
from fairdeal.domain import audit
from fairdeal.domain.audit import Chain, StoredEntry
from fairdeal.domain.dispute import Dispute
from fairdeal.domain.errors import VersionConflict
from fairdeal.domain.events import DomainEvent
from fairdeal.domain.ledger import LedgerTransaction
from fairdeal.domain.order import Order
from fairdeal.domain.payments import MoneyMovement
from fairdeal.domain.policy import Policy
from fairdeal.policies import all_policies, load_policy
from fairdeal.services.context import Context
from fairdeal.services.notifications import OutgoingEmail
from fairdeal.services.ports import (
    DisputeFilter,
    FileRecord,
    OrderFilter,
    StoredEvent,
    User,
)
from fairdeal.services.reports import DisputeSummary, summary_of

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday, as in builders.py


class DuplicateKey(Exception):
    """A second row with a unique key (the SQL adapters raise the driver's IntegrityError)."""


# --- clock, calendar, ids -----------------------------------------------------------------


class FakeClock:
    """A settable clock (``SettableClock``): moves only when told."""

    def __init__(self, start: datetime = T0) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def real_now(self) -> datetime:
        return self.current  # leases end when the test moves this clock past them

    def advance_to(self, moment: datetime) -> None:
        self.current = moment

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


class FakeHolidays:
    """The days named holidays for a country; every other day is a working day."""

    def __init__(self, days: Mapping[str, Sequence[date]] | None = None) -> None:
        self.days = {country: set(found) for country, found in (days or {}).items()}

    def is_holiday(self, country: str, day: date) -> bool:
        return day in self.days.get(country.upper(), set())


class FakeIds:
    """Ids that sort by creation, like ``TimeOrderedIds``: cursors by id are creation order."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)

    def new(self, prefix: str) -> str:
        return f"{prefix}_{next(self.counter):012x}"


# --- the stored rows ----------------------------------------------------------------------


@dataclass
class _Row:
    """One aggregate as the database holds it: its document, version and the projected
    columns the queries filter and sort on."""

    doc: Any
    version: int
    columns: dict[str, Any]


@dataclass
class _LedgerRow:
    txn_id: str
    txn: LedgerTransaction
    content: list[dict[str, object]]
    hashes: list[str]


@dataclass
class FakeDatabase:
    """What the SQL database holds, in memory; units of work read and write it."""

    policies: Mapping[str, Policy]
    users: dict[str, User] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    disputes: dict[str, _Row] = field(default_factory=dict)
    orders: dict[str, _Row] = field(default_factory=dict)
    events: list[StoredEvent] = field(default_factory=list)
    ledger: dict[str, list[_LedgerRow]] = field(default_factory=dict)
    ledger_heads: dict[str, str] = field(default_factory=dict)
    movements: dict[str, _Row] = field(default_factory=dict)


def _dispute_columns(dispute: Dispute) -> dict[str, Any]:
    deadline = dispute.deadline
    return {
        "buyer_id": dispute.buyer_id,
        "seller_id": dispute.seller_id,
        "status": dispute.status.value,
        "fire_at": dispute.fire_at,
        "deadline_at": deadline.due_at if deadline else None,
        "timeline_head": dispute.timeline[-1].hash if dispute.timeline else None,
    }


def _order_columns(order: Order) -> dict[str, Any]:
    return {"buyer_id": order.buyer_id, "seller_id": order.seller_id, "fire_at": order.fire_at}


def _movement_columns(movement: MoneyMovement) -> dict[str, Any]:
    return {
        "order_id": movement.order_id,
        "kind": movement.kind.value,
        "status": movement.status.value,
        "due_at": movement.due_at,
        "claimed_until": movement.claimed_until,
        "expected_by": movement.expected_by,
    }


# --- repositories -------------------------------------------------------------------------


class FakeUserRepository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def add(self, user: User) -> None:
        self.uow.new_users.append(dataclasses.replace(user))

    def get(self, user_id: str) -> User | None:
        return self._one(lambda u: u.id == user_id)

    def by_token_hash(self, token_hash: str) -> User | None:
        return self._one(lambda u: u.token_hash == token_hash)

    def by_email(self, email: str) -> User | None:
        return self._one(lambda u: u.email == email.lower())

    def set_locale(self, user_id: str, language: str | None, time_zone: str | None) -> None:
        user = self.get(user_id)
        if user is not None:
            self.uow.changed_users.append(
                dataclasses.replace(user, language=language, time_zone=time_zone)
            )

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        user = self.get(user_id)
        if user is not None:
            self.uow.changed_users.append(dataclasses.replace(user, password_hash=password_hash))

    def get_many(self, user_ids: Collection[str]) -> list[User]:
        return [u for u in map(self.get, sorted(user_ids)) if u is not None]

    def _one(self, wanted: Any) -> User | None:
        changed = {u.id: u for u in self.uow.changed_users}
        users = [changed.get(u.id, u) for u in [*self.uow.db.users.values(), *self.uow.new_users]]
        found = next((u for u in users if wanted(u)), None)
        return dataclasses.replace(found) if found else None


class FakeFileRepository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def add(self, record: FileRecord) -> None:
        self.uow.new_files.append(dataclasses.replace(record))

    def get(self, file_id: str) -> FileRecord | None:
        found = self.uow.db.files.get(file_id) or next(
            (f for f in self.uow.new_files if f.id == file_id), None
        )
        return dataclasses.replace(found) if found else None


class _AggregateRepository:
    """What the order and dispute repositories share: one object per row per unit of work
    (the identity map the SQL repositories keep), claims by stored due time."""

    kind: type[Any]

    def __init__(self, uow: FakeUnitOfWork, rows: dict[str, _Row]) -> None:
        self.uow, self.rows = uow, rows
        self.tracked: dict[str, tuple[Any, Any]] = {}
        self.claimed_fire_at: dict[str, datetime | None] = {}

    def add(self, aggregate: Any) -> None:
        self.tracked[aggregate.id] = (aggregate, None)

    def get(self, aggregate_id: str) -> Any:
        if aggregate_id in self.tracked:
            return self.tracked[aggregate_id][0]
        row = self.rows.get(aggregate_id)
        return None if row is None else self._track(aggregate_id, row)

    def claim_due(self, now: datetime, limit: int) -> builtins.list[Any]:
        due = sorted(
            (row.columns["fire_at"], key)
            for key, row in self.rows.items()
            if row.columns["fire_at"] is not None and row.columns["fire_at"] <= now
        )[:limit]
        claimed = []
        for fire_at, key in due:
            claimed.append(self._track(key, self.rows[key]))
            self.claimed_fire_at[key] = fire_at
        return claimed

    def _select(self, keep: Any) -> builtins.list[tuple[str, _Row]]:
        return [(key, row) for key, row in self.rows.items() if keep(row.columns)]

    def _track(self, key: str, row: _Row) -> Any:
        known = self.tracked.get(key)
        if known is not None:
            return known[0]
        aggregate = decode(self.kind, row.doc, self.uow.db.policies)
        aggregate.version = row.version
        self.tracked[key] = (aggregate, row.doc)
        return aggregate


class FakeOrderRepository(_AggregateRepository):
    kind = Order

    def get_many(self, order_ids: Sequence[str]) -> builtins.list[Order]:
        found = [self.get(i) for i in order_ids]
        return [o for o in found if o is not None]

    def list(self, query: OrderFilter) -> builtins.list[Order]:
        rows = self._select(
            lambda c: (
                (not query.buyer_id or c["buyer_id"] == query.buyer_id)
                and (not query.seller_id or c["seller_id"] == query.seller_id)
            )
        )
        rows.sort(key=lambda kv: kv[0], reverse=True)
        if query.after:
            rows = [(k, r) for k, r in rows if k < query.after]
        return [self._track(k, r) for k, r in rows[: query.limit]]


class FakeDisputeRepository(_AggregateRepository):
    kind = Dispute

    def get(self, dispute_id: str) -> Dispute | None:
        found: Dispute | None = super().get(dispute_id)
        if found is not None:
            self.uow.orders.get(found.order_id)  # read with its order, as the SQL does
        return found

    def list(self, query: DisputeFilter) -> builtins.list[Dispute]:
        rows = self._select(
            lambda c: (
                (not query.buyer_id or c["buyer_id"] == query.buyer_id)
                and (not query.seller_id or c["seller_id"] == query.seller_id)
                and (not query.status or c["status"] == query.status)
            )
        )
        if query.mediator_queue:
            # Nearest deadline first, then id; a dispute without a deadline has no place in
            # the queue's order (the SQL's row comparison with NULL is never true).
            def position(kv: tuple[str, _Row]) -> tuple[datetime, str]:
                deadline = kv[1].columns["deadline_at"]
                return (deadline or datetime.max.replace(tzinfo=UTC), kv[0])

            rows.sort(key=position)
            if query.after:
                last = self.rows.get(query.after)
                last_at = last.columns["deadline_at"] if last else None
                rows = [
                    kv
                    for kv in rows
                    if last_at is not None
                    and kv[1].columns["deadline_at"] is not None
                    and position(kv) > (last_at, query.after)
                ]
        else:
            rows.sort(key=lambda kv: kv[0], reverse=True)
            if query.after:
                rows = [(k, r) for k, r in rows if k < query.after]
        return [self._track(k, r) for k, r in rows[: query.limit]]

    def between(self, user_a: str, user_b: str) -> builtins.list[Dispute]:
        pair = {(user_a, user_b), (user_b, user_a)}
        return [
            self._track(k, r)
            for k, r in self._select(lambda c: (c["buyer_id"], c["seller_id"]) in pair)
        ]

    def stored_version(self, dispute_id: str) -> int | None:
        row = self.rows.get(dispute_id)
        return None if row is None else row.version

    def summaries(
        self, query: DisputeFilter
    ) -> builtins.list[tuple[DisputeSummary, builtins.list[str]]]:
        found = []
        for dispute in self.list(query):
            order = self.uow.orders.get(dispute.order_id)
            titles = [item.title for item in order.items] if order else []
            found.append((summary_of(dispute), titles))
        return found

    def next_due(self, until: datetime) -> tuple[str, str, datetime] | None:
        due = [
            row.columns["fire_at"]
            for rows in (self.uow.db.disputes, self.uow.db.orders)
            for row in rows.values()
            if row.columns["fire_at"] is not None and row.columns["fire_at"] <= until
        ]
        return ("any", "", min(due)) if due else None


class FakeMovementRepository(_AggregateRepository):
    """Money movements, as ``SqlMovementRepository``: by id (creation order), claims by
    ``due_at``."""

    kind = MoneyMovement

    def of_order(self, order_id: str) -> builtins.list[MoneyMovement]:
        rows = sorted(self._select(lambda c: c["order_id"] == order_id), key=lambda kv: kv[0])
        return [self._track(k, r) for k, r in rows]

    def list(self, status: str | None = None, limit: int = 100) -> builtins.list[MoneyMovement]:
        rows = self._select(lambda c: not status or c["status"] == status)
        rows.sort(key=lambda kv: kv[0], reverse=True)
        return [self._track(k, r) for k, r in rows[:limit]]

    def claim_due(
        self, now: datetime, limit: int, *, real_now: datetime
    ) -> builtins.list[MoneyMovement]:

        def due(c: dict[str, Any]) -> bool:
            if c["claimed_until"] is not None:
                return bool(c["claimed_until"] <= real_now)
            return c["due_at"] is not None and c["due_at"] <= now

        due_rows = sorted(
            (row.columns["due_at"], key) for key, row in self.rows.items() if due(row.columns)
        )[:limit]
        return [self._track(key, self.rows[key]) for _, key in due_rows]

    def needing_attention(self, now: datetime, limit: int = 100) -> builtins.list[MoneyMovement]:
        def wanted(c: dict[str, Any]) -> bool:
            overdue = (
                c["kind"] == "refund"
                and c["status"] != "succeeded"
                and c["expected_by"] is not None
                and c["expected_by"] < now
            )
            return bool(c["status"] == "failed" or overdue)

        rows = sorted(self._select(wanted), key=lambda kv: kv[0])
        return [self._track(k, r) for k, r in rows[:limit]]


class FakeEventLog:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def after(self, position: int, limit: int) -> builtins.list[StoredEvent]:
        return [e for e in self.db.events if e.seq > position][:limit]


# --- the unit of work ---------------------------------------------------------------------


class FakeUnitOfWork:
    """One transaction over a FakeDatabase: nothing reaches it before ``commit``."""

    def __init__(self, db: FakeDatabase, *, write: bool = True) -> None:
        self.db, self.write = db, write
        self._published: list[DomainEvent] = []
        self.committed = False

    def __enter__(self) -> FakeUnitOfWork:
        self.new_users: list[User] = []
        self.changed_users: list[User] = []
        self.new_files: list[FileRecord] = []
        self.users = FakeUserRepository(self)
        self.files = FakeFileRepository(self)
        self.orders = FakeOrderRepository(self, self.db.orders)
        self.disputes = FakeDisputeRepository(self, self.db.disputes)
        self.events = FakeEventLog(self.db)
        self.payments = FakeMovementRepository(self, self.db.movements)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def rollback(self) -> None:
        self.new_users.clear()
        self.changed_users.clear()
        self.new_files.clear()

    def commit(self) -> None:
        """All of it or none: every check runs before the first write."""
        for user in self.new_users:
            clash = [
                u
                for u in self.db.users.values()
                if u.id == user.id or u.token_hash == user.token_hash
            ]
            if clash:
                raise DuplicateKey(f"user {user.id} or its token exists")
        disputes = self._changes(self.disputes, _dispute_columns)
        orders = self._changes(self.orders, _order_columns)
        for order, _ in self.orders.tracked.values():
            for movement in order.pending_movements:
                self.payments.tracked.setdefault(movement.id, (movement, None))
        movements = self._changes(self.payments, _movement_columns)
        events: list[DomainEvent] = []
        ledger: list[LedgerTransaction] = []
        for dispute, _ in self.disputes.tracked.values():
            events.extend(dispute.pending_events)
        for order, _ in self.orders.tracked.values():
            events.extend(order.pending_events)
            ledger.extend(order.pending_ledger)
        for movement, _ in self.payments.tracked.values():
            events.extend(movement.pending_events)
        events.sort(key=lambda e: e.at)
        # The writes: nothing below can fail.
        for user in [*self.new_users, *self.changed_users]:
            self.db.users[user.id] = user
        for record in self.new_files:
            self.db.files[record.id] = record
        for rows, changes in (
            (self.db.disputes, disputes),
            (self.db.orders, orders),
            (self.db.movements, movements),
        ):
            for aggregate, row in changes:
                rows[aggregate.id] = row
        for event in events:
            self.db.events.append(
                StoredEvent(
                    len(self.db.events) + 1,
                    "evt_" + uuid.uuid4().hex,
                    event.type,
                    event.at,
                    dict(event.data),
                    event.actor_role,
                    type(event).__name__,
                )
            )
        for txn in ledger:
            self._chain(txn)
        for aggregate, row in (*disputes, *orders, *movements):
            aggregate.version = row.version
        for dispute, _ in self.disputes.tracked.values():
            dispute.pending_events.clear()
        for order, _ in self.orders.tracked.values():
            order.pending_events.clear()
            order.pending_ledger.clear()
            order.pending_movements.clear()
        for movement, _ in self.payments.tracked.values():
            movement.pending_events.clear()
        self.new_users, self.new_files, self.changed_users = [], [], []
        self._published = events
        self.committed = True

    def _changes(self, repo: _AggregateRepository, columns_of: Any) -> list[tuple[Any, _Row]]:
        changes = []
        for key, (aggregate, loaded) in repo.tracked.items():
            doc = encode(aggregate)
            stale_due = (
                key in repo.claimed_fire_at and repo.claimed_fire_at[key] != aggregate.fire_at
            )
            if doc == loaded and not stale_due:
                continue
            stored = repo.rows.get(key)
            if loaded is None:
                if stored is not None:
                    raise DuplicateKey(f"{key} exists")
                changes.append((aggregate, _Row(doc, 1, columns_of(aggregate))))
                continue
            if stored is None or stored.version != aggregate.version:
                raise VersionConflict(f"{key} was changed by someone else; try again")
            changes.append((aggregate, _Row(doc, aggregate.version + 1, columns_of(aggregate))))
        return changes

    def _chain(self, txn: LedgerTransaction) -> None:
        rows = self.db.ledger.setdefault(txn.order_id, [])
        seq = sum(len(r.content) for r in rows)
        previous = self.db.ledger_heads.get(txn.order_id) or audit.ledger_genesis(txn.order_id)
        txn_id = "txn_" + uuid.uuid4().hex
        row = _LedgerRow(txn_id, txn, [], [])
        for posting in txn.postings:
            seq += 1
            content = audit.ledger_content(
                seq=seq,
                txn_id=txn_id,
                order_id=txn.order_id,
                dispute_id=txn.dispute_id,
                movement=txn.movement.value,
                account=posting.account.value,
                currency=posting.amount.currency,
                amount_minor=posting.amount.minor,
                at=txn.at.astimezone(UTC).isoformat(),
            )
            previous = audit.entry_hash(previous, content)
            row.content.append(content)
            row.hashes.append(previous)
        rows.append(row)
        self.db.ledger_heads[txn.order_id] = previous

    def ledger(self, order_id: str) -> builtins.list[LedgerTransaction]:
        return [row.txn for row in self.db.ledger.get(order_id, [])]

    def published(self) -> builtins.list[DomainEvent]:
        return list(self._published)


class FakeUnitOfWorkFactory:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def __call__(self, *, write: bool = True) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.db, write=write)


class FakeAuditChains:
    """The hash chains of a FakeDatabase, as ``SqlAuditChains`` reads them."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def timelines(self) -> Iterator[Chain]:
        for dispute_id in sorted(self.db.disputes):
            row = self.db.disputes[dispute_id]
            entries = [StoredEntry(e, e.get(audit.HASH_KEY)) for e in row.doc.get("timeline", ())]
            yield Chain("timeline", dispute_id, row.columns["timeline_head"], entries)

    def ledgers(self) -> Iterator[Chain]:
        for order_id in sorted(self.db.ledger):
            entries = [
                StoredEntry(content, digest, int(str(content["seq"])))
                for row in self.db.ledger[order_id]
                for content, digest in zip(row.content, row.hashes, strict=True)
            ]
            yield Chain("ledger", order_id, self.db.ledger_heads.get(order_id), entries)


# --- files --------------------------------------------------------------------------------


class FakeFileStorage:
    """Evidence bytes in memory; the scratch folder is a real one (uploads stream to it)."""

    def __init__(self, scratch: Path | None = None) -> None:
        self.blobs: dict[str, bytes] = {}
        self.scratch = scratch or Path(tempfile.mkdtemp(prefix="fairdeal-fake-"))
        self.keys = itertools.count(1)

    def put(self, source: Path) -> str:
        key = f"k/{next(self.keys):08d}"
        self.blobs[key] = source.read_bytes()
        source.unlink()
        return key

    def open(self, key: str) -> Iterator[bytes]:
        if key not in self.blobs:
            raise FileNotFoundError(key)
        return iter([self.blobs[key]])

    def delete(self, key: str) -> None:
        self.blobs.pop(key, None)

    def scratch_dir(self) -> Path:
        return self.scratch

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


class FakeInspector:
    """Knows PNG and PDF by their magic bytes; cleaning changes nothing."""

    max_upload = 1024 * 1024

    def __init__(self, limits: Mapping[str, int] | None = None) -> None:
        self.limits = dict(limits or {})
        self.cleaned: list[str] = []

    def sniff(self, head: bytes) -> str | None:
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return "image/png"
        if head.startswith(b"%PDF-"):
            return "application/pdf"
        return None

    def limit_for(self, content_type: str) -> int:
        return self.limits.get(content_type, self.max_upload)

    def clean(self, path: Path, content_type: str) -> None:
        self.cleaned.append(content_type)


# --- sign-in state ------------------------------------------------------------------------


class FakeSecurityStore:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.sessions: dict[str, tuple[str, datetime]] = {}
        self.failures: dict[str, int] = {}
        self.locks: dict[str, datetime] = {}

    def add_session(
        self, id_hash: str, user_id: str, created_at: datetime, expires_at: datetime
    ) -> None:
        self.sessions[id_hash] = (user_id, expires_at)

    def session_holder(self, id_hash: str, now: datetime) -> User | None:
        found = self.sessions.get(id_hash)
        if found is None or found[1] <= now:
            return None
        user = self.db.users.get(found[0])
        return dataclasses.replace(user) if user is not None else None

    def end_session(self, id_hash: str) -> None:
        self.sessions.pop(id_hash, None)

    def end_sessions_of(self, user_id: str) -> int:
        ended = [k for k, (owner, _) in self.sessions.items() if owner == user_id]
        for key in ended:
            del self.sessions[key]
        return len(ended)

    def login_failed(self, key_hash: str, now: datetime) -> int:
        self.failures[key_hash] = self.failures.get(key_hash, 0) + 1
        return self.failures[key_hash]

    def lock_login(self, key_hash: str, until: datetime) -> None:
        self.locks[key_hash] = until

    def login_locked_until(self, key_hash: str) -> datetime | None:
        return self.locks.get(key_hash)

    def login_succeeded(self, key_hash: str) -> None:
        self.failures.pop(key_hash, None)
        self.locks.pop(key_hash, None)

    def disable_user(self, user_id: str) -> bool:
        user = self.db.users.get(user_id)
        if user is None:
            return False
        user.disabled = True
        self.end_sessions_of(user_id)
        return True


# --- notification senders -----------------------------------------------------------------


class FakeMailer:
    """The ``Mailer`` port: every email sent is kept in ``sent``."""

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []

    @contextmanager
    def session(self) -> Iterator[FakeMailer]:
        yield self

    def send(self, email: OutgoingEmail) -> None:
        self.sent.append(email)


class FakeWebhookSender:
    """The ``WebhookSender`` port: answers ``status`` to every delivery and keeps them."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.delivered: list[tuple[str, str, bytes]] = []

    def check_url(self, url: str) -> None:
        return None

    @contextmanager
    def session(self) -> Iterator[FakeWebhookSender]:
        yield self

    def deliver(self, url: str, secret: str, message_id: str, body: bytes) -> int:
        self.delivered.append((url, message_id, body))
        return self.status


# --- the services' context on the fakes ---------------------------------------------------


def fake_context(
    *,
    clock: FakeClock | None = None,
    policy: str = "standard",
    db: FakeDatabase | None = None,
    scratch: Path | None = None,
) -> Context:
    """A services context wired to fakes only: no database, no files, no network."""
    active = load_policy(policy)
    policies = all_policies(active)
    database = db or FakeDatabase(policies)
    return Context(
        uow=FakeUnitOfWorkFactory(database),
        clock=clock or FakeClock(),
        policy=active,
        policies=policies,
        holidays=FakeHolidays(),
        ids=FakeIds(),
        storage=FakeFileStorage(scratch),
        inspector=FakeInspector(),
        security=FakeSecurityStore(database),
        audit=FakeAuditChains(database),
    )
