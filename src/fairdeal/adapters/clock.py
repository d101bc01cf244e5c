"""Clocks: the system clock, and the sandbox clock stored in the database so that the API and
every worker process agree on the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select, update

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import begin


def _real_now() -> datetime:
    return datetime.now(UTC)


class SystemClock:
    def now(self) -> datetime:
        return _real_now()

    def real_now(self) -> datetime:
        return _real_now()


class SandboxClock:
    """Real time plus a stored offset: time keeps moving as usual and jumps when advanced."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def offset(self) -> timedelta:
        # A read transaction: on SQLite a write one would queue behind the caller's own open
        # unit of work, which asks for the time while holding the write lock.
        conn = begin(self.engine, write=False)
        try:
            seconds = conn.execute(
                select(tables.sandbox_clock.c.offset_seconds).where(tables.sandbox_clock.c.id == 1)
            ).scalar()
        finally:
            conn.close()
        return timedelta(seconds=seconds or 0)

    def now(self) -> datetime:
        return _real_now() + self.offset()

    def real_now(self) -> datetime:
        return _real_now()

    def advance_to(self, moment: datetime) -> None:
        # Whole seconds, rounded up, so the clock is never behind the moment asked for.
        offset = moment - _real_now()
        seconds = int(offset.total_seconds()) + (offset.total_seconds() % 1 > 0)
        conn = begin(self.engine, write=True)
        try:
            t = tables.sandbox_clock
            updated = conn.execute(update(t).where(t.c.id == 1).values(offset_seconds=seconds))
            if updated.rowcount == 0:
                conn.execute(insert(t).values(id=1, offset_seconds=seconds))
            conn.commit()
        finally:
            conn.close()


class FixedClock:
    """A clock that moves only when told: for tests and deterministic demos."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def real_now(self) -> datetime:
        # Leases run on this clock too: a test ends one by moving the clock past it.
        return self.current

    def advance_to(self, moment: datetime) -> None:
        self.current = moment

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current
