"""The ports the use cases depend on. Adapters implement them; tests use the fakes in
``tests/fakes.py``. Nothing here knows about SQL, HTTP or files."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from fairdeal.domain.audit import Chain
from fairdeal.domain.dispute import Dispute
from fairdeal.domain.events import DomainEvent
from fairdeal.domain.ledger import LedgerTransaction
from fairdeal.domain.order import Order
from fairdeal.domain.payments import MoneyMovement
from fairdeal.domain.roles import Role

if TYPE_CHECKING:
    # The read model of the web's lists; services.reports imports this module.
    from fairdeal.services.reports import DisputeSummary


@dataclass(slots=True)
class User:
    id: str
    role: str
    name: str
    email: str
    created_at: datetime
    external_id: str | None = None
    country: str | None = None
    language: str | None = None
    time_zone: str | None = None
    password_hash: str | None = None
    token_hash: str | None = None
    disabled: bool = False


@dataclass(slots=True)
class FileRecord:
    """An uploaded evidence file's metadata; the bytes live in the file storage."""

    id: str
    owner_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DisputeFilter:
    """A page of disputes visible to someone. ``party_id`` limits to one buyer's or seller's."""

    buyer_id: str | None = None
    seller_id: str | None = None
    mediator_queue: bool = False
    status: str | None = None
    after: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class OrderFilter:
    buyer_id: str | None = None
    seller_id: str | None = None
    after: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the feed holds it. ``data`` is the payload the feed and webhooks show;
    ``by`` (who acted) and ``event_class`` (the ``domain.events`` class name) are kept beside
    it for the relay. Both are None on events stored before they were recorded."""

    seq: int
    id: str
    type: str
    created_at: datetime
    data: dict[str, object]
    by: Role | None = None
    event_class: str | None = None


class UserRepository(Protocol):
    def add(self, user: User) -> None: ...
    def get(self, user_id: str) -> User | None: ...
    def by_token_hash(self, token_hash: str) -> User | None: ...
    def by_email(self, email: str) -> User | None: ...
    def set_locale(self, user_id: str, language: str | None, time_zone: str | None) -> None: ...
    def set_password_hash(self, user_id: str, password_hash: str) -> None: ...
    def get_many(self, user_ids: Collection[str]) -> list[User]:
        """The users with these ids that exist, in one statement (in no particular order)."""
        ...


class FileRepository(Protocol):
    def add(self, record: FileRecord) -> None: ...
    def get(self, file_id: str) -> FileRecord | None: ...


class OrderRepository(Protocol):
    def add(self, order: Order) -> None: ...
    def get(self, order_id: str) -> Order | None: ...
    def get_many(self, order_ids: Sequence[str]) -> builtins.list[Order]: ...
    def list(self, query: OrderFilter) -> builtins.list[Order]: ...
    def claim_due(self, now: datetime, limit: int) -> builtins.list[Order]: ...


class DisputeRepository(Protocol):
    def add(self, dispute: Dispute) -> None: ...
    def get(self, dispute_id: str) -> Dispute | None: ...
    def list(self, query: DisputeFilter) -> builtins.list[Dispute]: ...
    def claim_due(self, now: datetime, limit: int) -> builtins.list[Dispute]: ...
    def between(self, user_a: str, user_b: str) -> builtins.list[Dispute]:
        """Disputes in which these two users are buyer and seller (either way round)."""
        ...

    def next_due(self, until: datetime) -> tuple[str, str, datetime] | None:
        """The earliest (kind 'dispute'|'order', id, fire_at) due at or before ``until``."""
        ...

    def stored_version(self, dispute_id: str) -> int | None:
        """The version the database holds now (read afresh, not the one loaded)."""
        ...

    def summaries(
        self, query: DisputeFilter
    ) -> builtins.list[tuple[DisputeSummary, builtins.list[str]]]:
        """What ``list`` finds, in its order, as list rows show it, each with its order's item
        titles (empty when the order is not found): no document decoded."""
        ...


class MovementRepository(Protocol):
    """Money movements (refunds and payouts). Saved by the unit of work's commit with a
    version check, like aggregates; the ones an order decided are added by the commit too."""

    def add(self, movement: MoneyMovement) -> None: ...
    def get(self, movement_id: str) -> MoneyMovement | None: ...
    def of_order(self, order_id: str) -> builtins.list[MoneyMovement]:
        """Oldest first."""
        ...

    def list(self, status: str | None = None, limit: int = 100) -> builtins.list[MoneyMovement]:
        """Newest first, optionally of one status."""
        ...

    def claim_due(
        self, now: datetime, limit: int, *, real_now: datetime
    ) -> builtins.list[MoneyMovement]:
        """Lock and load movements due at ``now`` on the clock, or whose lease ended at
        ``real_now`` (``MoneyMovement.is_due``), earliest first, skipping rows another
        transaction holds (PostgreSQL)."""
        ...

    def needing_attention(self, now: datetime, limit: int = 100) -> builtins.list[MoneyMovement]:
        """Failed movements, and refunds not confirmed by their ``expected_by``."""
        ...


class EventLog(Protocol):
    def after(self, position: int, limit: int) -> builtins.list[StoredEvent]:
        """Feed events after a position, oldest first (``StoredEvent.seq`` is the position)."""
        ...


class Transaction(Protocol):
    """A ``with`` block over one transaction: leaving it without ``commit`` rolls back."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...


class UnitOfWork(Transaction, Protocol):
    """One transaction. Aggregates read through it and changed are saved on ``commit`` with an
    optimistic version check, together with their events and ledger transactions. Leaving the
    block without committing rolls back."""

    # Read-only members, so that an adapter may narrow them to its own repository types.
    @property
    def users(self) -> UserRepository: ...
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def disputes(self) -> DisputeRepository: ...
    @property
    def files(self) -> FileRepository: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def payments(self) -> MovementRepository: ...

    def __enter__(self) -> UnitOfWork: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def ledger(self, order_id: str) -> builtins.list[LedgerTransaction]: ...
    def published(self) -> builtins.list[DomainEvent]:
        """The events the last commit wrote, in order (for metrics and notifications)."""
        ...


class AuditChains(Protocol):
    """Read access to the stored hash chains (ADR 0003), each aggregate's chain in order."""

    def timelines(self) -> Iterator[Chain]:
        """Every dispute's timeline chain, with the head recorded on the dispute."""
        ...

    def ledgers(self) -> Iterator[Chain]:
        """Every order's ledger chain, with the head recorded on the order."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = True) -> UnitOfWork: ...


class Clock(Protocol):
    def now(self) -> datetime: ...

    def real_now(self) -> datetime:
        """Real time, for leases between processes: ``now()`` but on the sandbox clock, which
        jumps when advanced while real time does not."""
        ...


class SettableClock(Clock, Protocol):
    """The sandbox clock: stored so that every process sees the same time."""

    def advance_to(self, moment: datetime) -> None: ...


class HolidayCalendar(Protocol):
    def is_holiday(self, country: str, day: date) -> bool: ...


class IdGenerator(Protocol):
    def new(self, prefix: str) -> str: ...


class FileStorage(Protocol):
    """Where evidence bytes live; keys are the storage's own."""

    def put(self, source: Path) -> str:
        """Move ``source`` (a scratch file) into the store; answers its key."""
        ...

    def open(self, key: str) -> Iterator[bytes]:
        """The stored bytes in chunks; FileNotFoundError for an unknown key."""
        ...

    def delete(self, key: str) -> None: ...
    def scratch_dir(self) -> Path:
        """A folder on the store's own file system, so that ``put`` is a rename."""
        ...


class ContentInspector(Protocol):
    """Reads an upload's type from its content and cleans it (images lose their metadata)."""

    max_upload: int

    def sniff(self, head: bytes) -> str | None: ...
    def limit_for(self, content_type: str) -> int: ...
    def clean(self, path: Path, content_type: str) -> None: ...


class SecurityStore(Protocol):
    """Where sign-in state lives (the database): web sessions, failed sign-ins, and the
    switch that disables a user. Keys are hashes: the store never sees a cookie's nonce or,
    for failed sign-ins, the email typed."""

    def add_session(
        self, id_hash: str, user_id: str, created_at: datetime, expires_at: datetime
    ) -> None: ...
    def session_holder(self, id_hash: str, now: datetime) -> User | None:
        """The user of a live (recorded, unexpired) session, read with the session in one
        statement (every page asks), else None."""
        ...

    def end_session(self, id_hash: str) -> None: ...
    def end_sessions_of(self, user_id: str) -> int: ...
    def login_failed(self, key_hash: str, now: datetime) -> int:
        """Count one more consecutive failure; answers the new count."""
        ...

    def lock_login(self, key_hash: str, until: datetime) -> None: ...
    def login_locked_until(self, key_hash: str) -> datetime | None: ...
    def login_succeeded(self, key_hash: str) -> None: ...
    def disable_user(self, user_id: str) -> bool:
        """Mark the user disabled and end their web sessions; False if there is no such
        user."""
        ...
