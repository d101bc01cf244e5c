"""The relay's tables on SQL (SQLite and PostgreSQL): the outbox of deliveries, in-app
notifications, the reminder schedule, webhook endpoints and the relay's cursor over the event
feed. Aggregates are only read here (snapshots, never saved)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.codec import decode
from fairdeal.adapters.db.engine import ConnectionScope, begin
from fairdeal.adapters.db.repository import Aggregate, SqlEventLog
from fairdeal.domain.dispute import Dispute
from fairdeal.domain.events import DomainEvent
from fairdeal.domain.order import Order
from fairdeal.domain.policy import Policy
from fairdeal.services.notifications import (
    Delivery,
    Endpoint,
    NewDelivery,
    NewNotification,
    Notification,
    Reminder,
)
from fairdeal.services.ports import StoredEvent, User

D, E, N, R = (
    tables.deliveries,
    tables.webhook_endpoints,
    tables.notifications,
    tables.reminders,
)
# Written as SQL text, not bound parameters, so that PostgreSQL can use the partial indexes
# (a generic plan cannot prove ``status = $1`` matches ``WHERE status = 'pending'``).
PENDING = text("deliveries.status = 'pending'")
SCHEDULED = text("reminders.status = 'scheduled'")


def _insert_ignore(conn: Connection, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert, skipping rows whose key is already there (a repeat is not an error)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))


def _wall_now() -> datetime:
    return datetime.now(UTC)


class SqlOutbox:
    def __init__(self, conn: Connection, policies: Mapping[str, Policy]) -> None:
        self.conn, self.policies = conn, policies

    # --- the feed and the cursor ----------------------------------------------------------

    def publish(self) -> None:
        SqlEventLog(self.conn).publish()

    def lock_cursor(self, name: str) -> int | None:
        t = tables.relay_cursors
        locked = select(t.c.position).where(t.c.name == name).with_for_update(skip_locked=True)
        for _ in range(2):
            row = self.conn.execute(locked).first()
            if row is not None:
                return int(row[0])
            exists = self.conn.execute(select(t.c.name).where(t.c.name == name)).first()
            if exists is not None:
                return None  # another worker holds it
            _insert_ignore(self.conn, t, [{"name": name, "position": 0, "updated_at": _wall_now()}])
        return None

    def move_cursor(self, name: str, position: int, now: datetime) -> None:
        t = tables.relay_cursors
        self.conn.execute(
            update(t).where(t.c.name == name).values(position=position, updated_at=now)
        )

    def events_after(self, position: int, limit: int) -> list[StoredEvent]:
        return SqlEventLog(self.conn).published_after(position, limit)

    def append_event(self, event: DomainEvent) -> str:
        return SqlEventLog(self.conn).append([event])[0]

    # --- snapshots ----------------------------------------------------------------------

    def disputes(self, ids: Sequence[str]) -> dict[str, Dispute]:
        return self._snapshots(Dispute, tables.disputes, ids)

    def orders(self, ids: Sequence[str]) -> dict[str, Order]:
        return self._snapshots(Order, tables.orders, ids)

    def _snapshots(
        self, kind: type[Aggregate], table: Any, ids: Sequence[str]
    ) -> dict[str, Aggregate]:
        if not ids:
            return {}
        found = {}
        rows = self.conn.execute(
            select(table.c.doc, table.c.version).where(table.c.id.in_(list(ids)))
        )
        for doc, version in rows:
            aggregate = decode(kind, doc, self.policies)
            aggregate.version = version
            found[aggregate.id] = aggregate
        return found

    def users(self, ids: Sequence[str]) -> dict[str, User]:
        if not ids:
            return {}
        t = tables.users
        rows = self.conn.execute(select(t).where(t.c.id.in_(list(ids)))).mappings()
        return {row["id"]: User(**row) for row in rows}

    # --- webhook endpoints --------------------------------------------------------------

    def add_endpoint(self, endpoint: Endpoint) -> None:
        self.conn.execute(
            insert(E).values(
                id=endpoint.id,
                owner_id=endpoint.owner_id,
                url=endpoint.url,
                events=list(endpoint.events),
                secret=endpoint.secret,
                status=endpoint.status,
                created_at=endpoint.created_at,
            )
        )

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        row = self.conn.execute(select(E).where(E.c.id == endpoint_id)).mappings().first()
        return Endpoint(**row) if row else None

    def endpoints_of(self, owner_id: str) -> list[Endpoint]:
        rows = self.conn.execute(select(E).where(E.c.owner_id == owner_id).order_by(E.c.id))
        return [Endpoint(**row) for row in rows.mappings()]

    def active_endpoints(self) -> list[Endpoint]:
        rows = self.conn.execute(select(E).where(E.c.status == "active").order_by(E.c.id))
        return [Endpoint(**row) for row in rows.mappings()]

    def endpoint_succeeded(self, endpoint_id: str) -> None:
        self.conn.execute(
            update(E)
            .where(E.c.id == endpoint_id, E.c.failing_since.is_not(None))
            .values(failing_since=None)
        )

    def endpoint_failed(self, endpoint_id: str, now: datetime) -> datetime | None:
        self.conn.execute(
            update(E)
            .where(E.c.id == endpoint_id, E.c.status == "active", E.c.failing_since.is_(None))
            .values(failing_since=now)
        )
        row = self.conn.execute(
            select(E.c.failing_since).where(E.c.id == endpoint_id, E.c.status == "active")
        ).first()
        return row[0] if row else None

    def disable_endpoint(self, endpoint_id: str, now: datetime) -> None:
        self.conn.execute(
            update(E).where(E.c.id == endpoint_id).values(status="disabled", disabled_at=now)
        )
        self.conn.execute(
            update(D)
            .where(D.c.target == endpoint_id, D.c.channel == "webhook", PENDING)
            .values(status="failed", last_error="the endpoint was disabled", claim=None)
        )

    def save_endpoint(self, endpoint: Endpoint) -> None:
        self.conn.execute(
            update(E)
            .where(E.c.id == endpoint.id)
            .values(
                url=endpoint.url,
                events=list(endpoint.events),
                secret=endpoint.secret,
                status=endpoint.status,
                failing_since=endpoint.failing_since,
                disabled_at=endpoint.disabled_at,
                previous_secret=endpoint.previous_secret,
                previous_secret_until=endpoint.previous_secret_until,
            )
        )

    def delete_endpoint(self, endpoint_id: str) -> None:
        self.conn.execute(
            update(D)
            .where(D.c.target == endpoint_id, D.c.channel == "webhook", PENDING)
            .values(status="failed", last_error="the endpoint was deleted", claim=None)
        )
        self.conn.execute(delete(E).where(E.c.id == endpoint_id))

    def delivery(self, target: str, seq: int) -> Delivery | None:
        row = (
            self.conn.execute(
                select(D).where(D.c.seq == seq, D.c.target == target, D.c.channel == "webhook")
            )
            .mappings()
            .first()
        )
        return Delivery(**row) if row else None

    def requeue_delivery(self, seq: int, now: datetime) -> None:
        """Send it again now, as a new series of attempts (the give-up clock restarts)."""
        self.conn.execute(
            update(D)
            .where(D.c.seq == seq)
            .values(
                status="pending",
                next_attempt_at=now,
                first_attempt_at=None,
                sent_at=None,
                claim=None,
            )
        )

    # --- deliveries ---------------------------------------------------------------------

    def add_deliveries(self, rows: Sequence[NewDelivery], now: datetime) -> None:
        _insert_ignore(
            self.conn,
            D,
            [
                {
                    "event_id": r.event_id,
                    "event_type": r.event_type,
                    "channel": r.channel,
                    "target": r.target,
                    "address": r.address,
                    "message_id": r.message_id,
                    "payload": r.payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for r in rows
            ],
        )

    def claim_deliveries(
        self, now: datetime, limit: int, lease_until: datetime, claim: str
    ) -> list[Delivery]:
        """Lock the due rows (skipping rows another worker holds), lease them to this claim:
        attempt counted, next attempt moved to the lease's end."""
        due = (
            select(D.c.seq)
            .where(PENDING, D.c.next_attempt_at <= now)
            .order_by(D.c.next_attempt_at, D.c.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        seqs = [row[0] for row in self.conn.execute(due)]
        if not seqs:
            return []
        self.conn.execute(
            update(D)
            .where(D.c.seq.in_(seqs))
            .values(
                attempts=D.c.attempts + 1,
                next_attempt_at=lease_until,
                claim=claim,
                first_attempt_at=func.coalesce(D.c.first_attempt_at, now),
            )
        )
        joined = D.outerjoin(E, and_(D.c.channel == "webhook", E.c.id == D.c.target))
        rows = self.conn.execute(
            select(
                D,
                E.c.secret,
                E.c.status.label("endpoint_status"),
                E.c.previous_secret,
                E.c.previous_secret_until,
            )
            .select_from(joined)
            .where(D.c.seq.in_(seqs))
        ).mappings()
        by_seq = {row["seq"]: _claimed(row, now) for row in rows}
        return [by_seq[seq] for seq in seqs]

    def release(self, claim: str, seqs: Sequence[int], now: datetime) -> None:
        if not seqs:
            return
        self.conn.execute(
            update(D)
            .where(D.c.seq.in_(list(seqs)), D.c.claim == claim)
            .values(next_attempt_at=now, attempts=D.c.attempts - 1, claim=None)
        )

    def record_attempt(
        self,
        delivery: Delivery,
        *,
        status: str,
        next_attempt_at: datetime,
        now: datetime,
        error: str | None,
        status_code: int | None,
    ) -> bool:
        result = self.conn.execute(
            update(D)
            .where(D.c.seq == delivery.seq, D.c.claim == delivery.claim)
            .values(
                status=status,
                next_attempt_at=next_attempt_at,
                last_error=error,
                last_status_code=status_code,
                sent_at=now if status == "sent" else None,
                claim=None,
            )
        )
        return bool(result.rowcount == 1)

    def deliveries_of(self, target: str, after: int | None, limit: int) -> list[Delivery]:
        stmt = select(D).where(D.c.target == target).order_by(D.c.seq.desc()).limit(limit)
        if after is not None:
            stmt = stmt.where(D.c.seq < after)
        return [Delivery(**row) for row in self.conn.execute(stmt).mappings()]

    # --- in-app notifications -----------------------------------------------------------

    def add_notifications(self, rows: Sequence[NewNotification]) -> None:
        _insert_ignore(
            self.conn,
            N,
            [
                {
                    "id": r.id,
                    "user_id": r.user_id,
                    "event_id": r.event_id,
                    "event_type": r.event_type,
                    "dispute_id": r.dispute_id,
                    "title": r.title,
                    "created_at": r.created_at,
                }
                for r in rows
            ],
        )

    def notifications_of(
        self, user_id: str, *, unread_only: bool, after: str | None, limit: int
    ) -> list[Notification]:
        stmt = (
            select(
                N.c.id,
                N.c.event_id,
                N.c.event_type,
                N.c.dispute_id,
                N.c.title,
                N.c.created_at,
                N.c.read_at,
            )
            .where(N.c.user_id == user_id)
            .order_by(N.c.id.desc())
            .limit(limit)
        )
        if unread_only:
            stmt = stmt.where(N.c.read_at.is_(None))
        if after:
            stmt = stmt.where(N.c.id < after)
        return [Notification(**row) for row in self.conn.execute(stmt).mappings()]

    def mark_read(self, user_id: str, ids: Sequence[str] | None, now: datetime) -> int:
        stmt = update(N).where(N.c.user_id == user_id, N.c.read_at.is_(None)).values(read_at=now)
        if ids is not None:
            stmt = stmt.where(N.c.id.in_(list(ids)))
        return int(self.conn.execute(stmt).rowcount)

    # --- reminders ----------------------------------------------------------------------

    def schedule_reminders(self, dispute_id: str, wanted: Sequence[Reminder]) -> None:
        now = _wall_now()
        _insert_ignore(
            self.conn,
            R,
            [
                {
                    "dispute_id": r.dispute_id,
                    "kind": r.kind,
                    "due_at": r.due_at,
                    "party": r.party,
                    "remind_at": r.remind_at,
                    "status": r.status,
                    "created_at": now,
                }
                for r in wanted
            ],
        )
        keep = {(r.kind, r.due_at) for r in wanted}
        scheduled = self.conn.execute(
            select(R.c.kind, R.c.due_at).where(R.c.dispute_id == dispute_id, SCHEDULED)
        ).all()
        for kind, due_at in scheduled:
            if (kind, due_at) not in keep:
                self.conn.execute(
                    update(R)
                    .where(R.c.dispute_id == dispute_id, R.c.kind == kind, R.c.due_at == due_at)
                    .values(status="cancelled")
                )

    def claim_reminders(self, now: datetime, limit: int) -> list[Reminder]:
        stmt = (
            select(R.c.dispute_id, R.c.kind, R.c.due_at, R.c.party, R.c.remind_at, R.c.status)
            .where(SCHEDULED, R.c.remind_at <= now)
            .order_by(R.c.remind_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [Reminder(**row) for row in self.conn.execute(stmt).mappings()]

    def settle_reminder(self, reminder: Reminder, status: str, event_id: str | None) -> None:
        self.conn.execute(
            update(R)
            .where(
                R.c.dispute_id == reminder.dispute_id,
                R.c.kind == reminder.kind,
                R.c.due_at == reminder.due_at,
            )
            .values(status=status, event_id=event_id)
        )


class SqlNotificationUnitOfWork(ConnectionScope):
    """One transaction over the relay's tables; leaving without ``commit`` rolls back."""

    outbox: SqlOutbox

    def __init__(self, engine: Engine, policies: Mapping[str, Policy], *, write: bool) -> None:
        self.engine, self.policies, self.write = engine, policies, write

    def __enter__(self) -> SqlNotificationUnitOfWork:
        self.conn = begin(self.engine, write=self.write)
        self.outbox = SqlOutbox(self.conn, self.policies)
        return self


class SqlNotificationUnitOfWorkFactory:
    def __init__(self, engine: Engine, policies: Mapping[str, Policy]) -> None:
        self.engine, self.policies = engine, policies

    def __call__(self, *, write: bool = True) -> SqlNotificationUnitOfWork:
        return SqlNotificationUnitOfWork(self.engine, self.policies, write=write)


def _claimed(row: Any, now: datetime) -> Delivery:
    """A claimed delivery; its ``secret`` is every secret that signs it, space-separated: the
    endpoint's, and for 24 hours after a rotation the previous one too (Standard Webhooks'
    several ``v1,`` signatures)."""
    fields = dict(row)
    previous = fields.pop("previous_secret")
    until = fields.pop("previous_secret_until")
    if previous and fields.get("secret") and until is not None and until > now:
        fields["secret"] = f"{fields['secret']} {previous}"
    return Delivery(**fields)
