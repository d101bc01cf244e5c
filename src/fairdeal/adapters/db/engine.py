"""Engines for SQLite (the embedded default) and PostgreSQL, configured so that a write
transaction takes its lock up front: on SQLite ``BEGIN IMMEDIATE`` (one writer at a time, no
deadlock on lock upgrade), on PostgreSQL the default READ COMMITTED with row locks."""

from __future__ import annotations

import select
from types import TracebackType
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import QueuePool

from fairdeal.adapters.db.request_tx import borrow


def _dumps_text(value: Any) -> str:
    """A JSON column's value as text (SQLite stores it so)."""
    return orjson.dumps(value).decode()


# Aggregates are JSON documents (ADR 0001): every unit of work decodes the ones it reads and
# encodes the ones it changed, and the standard library's json was the largest piece of a
# transition's database work in the profile (performance.md). orjson writes and reads the
# same JSON (the documents hold only strings, integers, booleans, null, lists and maps), a
# several times faster. PostgreSQL (psycopg) takes the bytes as they are.
JSON_CODEC: dict[str, Any] = {"json_deserializer": orjson.loads}


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        # A file database keeps a small pool of open connections: opening one costs the
        # PRAGMAs below, and closing the last one checkpoints and truncates the WAL with an
        # fsync -- 11 ms of a 20 ms embedded transition when every unit of work did both
        # (docs/performance.md). In-memory databases keep SQLAlchemy's default (one per thread).
        codec = {**JSON_CODEC, "json_serializer": _dumps_text}
        engine = (
            create_engine(url, **codec)
            if ":memory:" in url
            else create_engine(url, poolclass=QueuePool, pool_size=5, max_overflow=10, **codec)
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        json_serializer=orjson.dumps,
        **JSON_CODEC,
    )
    _drop_closed_connections(engine)
    return engine


def _drop_closed_connections(engine: Engine) -> None:
    """A pooled connection that the server has closed (a restart, a crash, an administrator's
    pg_terminate_backend, idle_session_timeout) is replaced before it is handed out, so the
    request that would have used it does not fail.

    SQLAlchemy's ``pool_pre_ping`` does this with a ``SELECT 1`` round trip on every checkout:
    one of the ~10 round trips of a transition and one of two of a read, on every unit of
    work (performance.md). Here the socket says it instead, without a round trip: a pooled
    connection is idle, so the server has nothing to send it -- a connection whose socket is
    readable (the server's goodbye, end of file) or in error has been closed by the server.
    What this cannot see is a server that vanished without closing its sockets (a host cut
    off the network): the first statement fails, SQLAlchemy invalidates the pool, the
    request's caller retries (5xx)."""

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if dbapi_connection.closed or _has_input(dbapi_connection.fileno()):
            raise DisconnectionError("the server closed this connection while it was pooled")


def _has_input(fd: int) -> bool:
    """Whether a socket is readable, hung up or in error, now (no waiting)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN instead of pysqlite's own guess.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        write = connection.info.get("write", True)
        # Straight to the driver: through ``exec_driver_sql`` the BEGIN cost a statement's
        # worth of SQLAlchemy execution machinery, on every unit of work (performance.md,
        # "5. Embedded").
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")


class ConnectionScope:
    """A ``with`` block over one connection (``__enter__`` opens ``conn``): leaving it rolls
    back whatever was not committed and gives the connection back."""

    conn: Connection

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
        finally:
            self.conn.close()

    def commit(self) -> None:
        self.conn.commit()


def begin(engine: Engine, *, write: bool, autocommit_read: bool = False) -> Connection:
    """A connection with its transaction begun; the caller commits or rolls back and closes.
    Inside an HTTP request with an Idempotency-Key: the request's own transaction (see
    ``request_tx``), so that the request's effect commits with its stored answer."""
    borrowed = borrow(engine, write=write)
    if borrowed is not None:
        return borrowed
    connection = engine.connect()
    try:
        connection.info["write"] = write
        if autocommit_read and not write and engine.dialect.name == "postgresql":
            # ``autocommit_read``: a read of a few plain statements (the unit of work's) runs
            # without BEGIN/ROLLBACK -- under READ COMMITTED each statement has a snapshot of
            # its own inside a transaction too, so it reads the same and saves two round trips
            # of the four a GET of a dispute took (performance.md). Not for server-side cursors.
            return connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.begin()
    except BaseException:
        # Nobody else holds this connection yet: closing it here gives it back to the pool
        # instead of leaving it for the garbage collector (a psycopg ResourceWarning in
        # whichever later test the collector happens to run in).
        connection.close()
        raise
    return connection
