"""Reads from a PostgreSQL streaming replica (FAIRDEAL_DATABASE_REPLICA_URL).

A read-only unit of work (``ctx.uow(write=False)``) goes to the replica only when the request
being served allows it (``replica_allowed``, set by the API's ``ReplicaReadsMiddleware`` for
list and read endpoints of a caller who has not written in the last few seconds) and the
replica is healthy: it answers, it is in recovery, and it is at most ``max_lag`` seconds
behind. Otherwise -- a write, an authentication, the worker, a lagging or dead replica --
the primary. A replica that fails to give a connection is marked down for ``down_for``
seconds and the unit of work opens on the primary instead, so killing the replica costs no
request that had not yet started its query."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from fairdeal.adapters.db.repository import SqlUnitOfWork, SqlUnitOfWorkFactory

log = logging.getLogger("fairdeal.replica")

replica_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "fairdeal_replica_allowed", default=False
)


@contextmanager
def on_primary() -> Iterator[None]:
    """Inside: every unit of work on the primary (authentication, anything that must be
    current)."""
    token = replica_allowed.set(False)
    try:
        yield
    finally:
        replica_allowed.reset(token)


def make_replica_engine(url: str, *, connect_timeout: int = 2, pool_size: int = 10) -> Engine:
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": connect_timeout},
    )


LAG_SQL = text(
    "SELECT pg_is_in_recovery(),"
    " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


class ReplicaHealth:
    """Whether the replica may be read now: checked at most every ``recheck`` seconds."""

    def __init__(
        self, engine: Engine, max_lag: float, *, recheck: float = 1.0, down_for: float = 5.0
    ) -> None:
        self.engine, self.max_lag = engine, max_lag
        self.recheck, self.down_for = recheck, down_for
        self.lag: float | None = None
        self.reason = "not checked"
        self._ok = False
        self._checked_at = float("-inf")
        self._down_until = float("-inf")
        self._lock = threading.Lock()

    def usable(self) -> bool:
        now = time.monotonic()
        if now < self._down_until:
            return False
        with self._lock:
            if now - self._checked_at < self.recheck:
                return self._ok
            self._checked_at = now
        self._ok = self._check()
        return self._ok

    def _check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                recovering, lag = conn.execute(LAG_SQL).one()
                conn.rollback()
        except DBAPIError as error:
            self.mark_down(f"unreachable: {type(error.orig).__name__}")
            return False
        self.lag = float(lag)
        if not recovering:
            self.reason = "not a replica (not in recovery)"
            return False
        if self.lag > self.max_lag:
            self.reason = f"{self.lag:.1f} s behind"
            return False
        self.reason = "ok"
        return True

    def mark_down(self, reason: str) -> None:
        if time.monotonic() >= self._down_until:
            log.warning("reading from the primary: the replica is %s", reason)
        self.reason = reason
        self._ok = False
        self._down_until = time.monotonic() + self.down_for


class RoutingUnitOfWorkFactory:
    """``ctx.uow``: writes and ordinary reads on the primary, allowed reads on the replica."""

    def __init__(
        self, primary: SqlUnitOfWorkFactory, replica: SqlUnitOfWorkFactory, health: ReplicaHealth
    ) -> None:
        self.primary, self.replica, self.health = primary, replica, health
        self.replica_reads = 0
        self.primary_reads = 0

    def __call__(self, *, write: bool = True) -> Any:
        if write:
            return self.primary(write=True)
        if not replica_allowed.get() or not self.health.usable():
            self.primary_reads += 1
            return self.primary(write=False)
        return _FallingBack(self)


class _FallingBack:
    """A read unit of work on the replica, or on the primary when the replica gives no
    connection."""

    def __init__(self, router: RoutingUnitOfWorkFactory) -> None:
        self.router = router
        self.used: SqlUnitOfWork | None = None

    def __enter__(self) -> SqlUnitOfWork:
        replica = self.router.replica(write=False)
        try:
            entered = replica.__enter__()
            self.used = replica
            self.router.replica_reads += 1
            return entered
        except DBAPIError as error:
            self.router.health.mark_down(f"unreachable: {type(error.orig).__name__}")
        primary = self.router.primary(write=False)
        self.used = primary
        self.router.primary_reads += 1
        return primary.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.used is not None
        self.used.__exit__(exc_type, exc, tb)
