"""What the metrics read from the database, in one short read transaction: disputes by
status, deadlines due and how late the oldest is, deliveries by channel and status, the
outbox's backlog, and (when the payments table exists) money movements by status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, column, func, inspect, select, table

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import begin


@dataclass(frozen=True)
class Snapshot:
    disputes: dict[str, int] = field(default_factory=dict)
    deadlines_due: int = 0
    deadline_lag_seconds: float = 0.0
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)
    outbox_backlog: int = 0
    outbox_oldest_seconds: float = 0.0
    money_movements: dict[str, int] = field(default_factory=dict)


def read_snapshot(engine: Engine, now: datetime, *, with_payments: bool) -> Snapshot:
    d, o, dl = tables.disputes, tables.orders, tables.deliveries
    with begin(engine, write=False) as conn:
        disputes = {
            str(k): int(v)
            for k, v in conn.execute(select(d.c.status, func.count()).group_by(d.c.status))
        }
        due = 0
        oldest: datetime | None = None
        for source in (d, o):
            count, first = conn.execute(
                select(func.count(), func.min(source.c.fire_at)).where(source.c.fire_at <= now)
            ).one()
            due += int(count)
            if first is not None and (oldest is None or first < oldest):
                oldest = first
        deliveries = {
            (str(channel), str(status)): int(count)
            for channel, status, count in conn.execute(
                select(dl.c.channel, dl.c.status, func.count()).group_by(dl.c.channel, dl.c.status)
            )
        }
        backlog, waiting_since = conn.execute(
            select(func.count(), func.min(dl.c.next_attempt_at)).where(
                dl.c.status == "pending", dl.c.next_attempt_at <= now
            )
        ).one()
        money: dict[str, int] = {}
        if with_payments:
            payments = table("payments", column("status"))
            money = {
                str(k): int(v)
                for k, v in conn.execute(
                    select(payments.c.status, func.count()).group_by(payments.c.status)
                )
            }
        conn.rollback()
    return Snapshot(
        disputes=disputes,
        deadlines_due=due,
        deadline_lag_seconds=_age(now, oldest),
        deliveries=deliveries,
        outbox_backlog=int(backlog),
        outbox_oldest_seconds=_age(now, waiting_since),
        money_movements=money,
    )


def has_payments_table(engine: Engine) -> bool:
    """The payments table (another part of the product adds it) with a status column."""
    try:
        columns = inspect(engine).get_columns("payments")
    except Exception:
        return False
    return any(c["name"] == "status" for c in columns)


def _age(now: datetime, then: datetime | None) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None and now.tzinfo is not None:
        then = then.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - then).total_seconds())
