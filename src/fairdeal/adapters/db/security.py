"""The SecurityStore port on SQL: web sessions, failed sign-ins, disabling users. Small
statements of their own, each committed at once (a failed sign-in must count even though the
request that made it answers with a refusal)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import begin
from fairdeal.services.ports import User

S = tables.web_sessions
F = tables.login_failures
U = tables.users
_SESSION_HOLDER = (
    select(U)
    .select_from(S.join(U, U.c.id == S.c.user_id))
    .where(S.c.id_hash == bindparam("id_hash"), S.c.expires_at > bindparam("now"))
)
# Failure counts are forgotten this long after the last failure (and lockouts with them).
FORGET_FAILURES_AFTER = timedelta(days=1)


class SqlSecurityStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[Connection]:
        conn = begin(self.engine, write=write)
        try:
            yield conn
            conn.commit()
        finally:
            conn.close()

    # --- web sessions ---------------------------------------------------------------------

    def add_session(
        self, id_hash: str, user_id: str, created_at: datetime, expires_at: datetime
    ) -> None:
        with self._tx() as conn:
            conn.execute(delete(S).where(S.c.expires_at <= created_at))
            conn.execute(
                S.insert().values(
                    id_hash=id_hash, user_id=user_id, created_at=created_at, expires_at=expires_at
                )
            )

    def session_holder(self, id_hash: str, now: datetime) -> User | None:
        # Outside a transaction on PostgreSQL (``autocommit_read``): one statement, one round
        # trip, instead of BEGIN, the session, COMMIT and then the user on their own.
        conn = begin(self.engine, write=False, autocommit_read=True)
        try:
            row = conn.execute(_SESSION_HOLDER, {"id_hash": id_hash, "now": now}).mappings().first()
            conn.commit()
        finally:
            conn.close()
        return User(**row) if row else None

    def end_session(self, id_hash: str) -> None:
        with self._tx() as conn:
            conn.execute(delete(S).where(S.c.id_hash == id_hash))

    def end_sessions_of(self, user_id: str) -> int:
        with self._tx() as conn:
            return conn.execute(delete(S).where(S.c.user_id == user_id)).rowcount or 0

    # --- failed sign-ins ------------------------------------------------------------------

    def login_failed(self, key_hash: str, now: datetime) -> int:
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(F)
            .values(key_hash=key_hash, failures=1, last_failed_at=now)
            .on_conflict_do_update(
                index_elements=[F.c.key_hash],
                set_={"failures": F.c.failures + 1, "last_failed_at": now},
            )
            .returning(F.c.failures)
        )
        with self._tx() as conn:
            conn.execute(delete(F).where(F.c.last_failed_at < now - FORGET_FAILURES_AFTER))
            return int(conn.execute(statement).scalar_one())

    def lock_login(self, key_hash: str, until: datetime) -> None:
        with self._tx() as conn:
            conn.execute(update(F).where(F.c.key_hash == key_hash).values(locked_until=until))

    def login_locked_until(self, key_hash: str) -> datetime | None:
        with self._tx(write=False) as conn:
            found: datetime | None = conn.execute(
                select(F.c.locked_until).where(F.c.key_hash == key_hash)
            ).scalar_one_or_none()
        return found

    def login_succeeded(self, key_hash: str) -> None:
        with self._tx() as conn:
            conn.execute(delete(F).where(F.c.key_hash == key_hash))

    # --- users ----------------------------------------------------------------------------

    def disable_user(self, user_id: str) -> bool:
        with self._tx() as conn:
            changed = conn.execute(update(U).where(U.c.id == user_id).values(disabled=True))
            conn.execute(delete(S).where(S.c.user_id == user_id))
            return bool(changed.rowcount)
