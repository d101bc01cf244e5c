"""One database transaction for a whole HTTP request that carries an Idempotency-Key.

The idempotency middleware opens it before the request runs and commits it after the answer
is known, together with the stored answer: the request's effect and the record that it was
made are one commit, so a process killed in between leaves neither (the retry runs the
request afresh) or both (the retry gets the stored answer) -- never an effect without its
answer, which a retry would apply a second time.

While one is open (a context variable, so it follows the request into FastAPI's thread pool),
``engine.begin`` hands out the request's connection instead of a new one: a write unit of
work gets a SAVEPOINT of it (its commit releases the savepoint, its rollback undoes only its
own work, e.g. a stale write the service retries), a read gets the connection as it is (it
sees the request's own uncommitted writes). Neither commits or closes the real connection.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.engine import Connection, NestedTransaction

_current: ContextVar[RequestTransaction | None] = ContextVar("fairdeal_request_tx", default=None)


class RequestTransaction:
    def __init__(self, engine: Engine, conn: Connection) -> None:
        self.engine, self.conn = engine, conn

    @classmethod
    def open(cls, engine: Engine) -> RequestTransaction:
        conn = engine.connect()
        conn.info["write"] = True  # SQLite: BEGIN IMMEDIATE, the request is one writer
        conn.begin()
        return cls(engine, conn)

    def activate(self) -> Any:
        """Make this the current request's transaction; returns the token for ``deactivate``."""
        return _current.set(self)

    @staticmethod
    def deactivate(token: Any) -> None:
        _current.reset(token)

    def commit(self) -> None:
        try:
            self.conn.commit()
        finally:
            self.conn.close()

    def rollback(self) -> None:
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
        finally:
            self.conn.close()


def borrow(engine: Engine, *, write: bool) -> Connection | None:
    """The current request's connection for ``begin(engine, write=...)``, or None outside
    such a request (or for another engine)."""
    current = _current.get()
    if current is None or current.engine is not engine:
        return None
    # Quacks like the Connection that ``begin`` returns.
    return cast(Connection, _Borrowed(current.conn, savepoint=write))


class _Borrowed:
    """The request's connection as one caller of ``begin`` sees it: commit, rollback and close
    end the caller's savepoint (if any), never the request's transaction."""

    def __init__(self, conn: Connection, *, savepoint: bool) -> None:
        self._conn = conn
        self._savepoint: NestedTransaction | None = conn.begin_nested() if savepoint else None
        self._open = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def in_transaction(self) -> bool:
        return self._open

    def commit(self) -> None:
        if self._savepoint is not None and self._savepoint.is_active:
            self._savepoint.commit()
        self._open = False

    def rollback(self) -> None:
        if self._savepoint is not None and self._savepoint.is_active:
            self._savepoint.rollback()
        self._open = False

    def close(self) -> None:
        if self._open:
            self.rollback()

    def begin(self) -> _Borrowed:
        self._open = True
        if self._savepoint is not None and not self._savepoint.is_active:
            self._savepoint = self._conn.begin_nested()
        return self

    def __enter__(self) -> _Borrowed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
