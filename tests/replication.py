"""A private PostgreSQL primary and a streaming replica of it, both on free ports, for the
replica tests. The shared server on 5432 cannot serve: its pg_hba.conf has no `replication`
line (its wal_level=replica and max_wal_senders=10 would do), and the tests do not reconfigure
a server they did not start. So, as tests/chaos does for its crashes: ``initdb`` a primary
(initdb's own pg_hba.conf trusts replication from 127.0.0.1), ``pg_basebackup -R`` a replica
from it, both run as the ``postgres`` OS user (initdb refuses root)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from chaos.harness import PG_BIN, free_port, postgres_unavailable, run_as_postgres


def unavailable() -> str | None:
    """Why the pair cannot be made here, or None."""
    return postgres_unavailable("initdb", "pg_ctl", "pg_basebackup")


class Server:
    def __init__(self, root: Path, name: str) -> None:
        self.root = root / name
        self.data = self.root / "data"
        self.port = free_port()

    def url(self, database: str = "fairdeal") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
            " -c max_connections=100 -c fsync=off -c wal_level=replica -c max_wal_senders=5"
            " -c hot_standby=on"
        )
        run_as_postgres(
            PG_BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.root / "server.log",
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def kill(self) -> None:
        """As a crash looks: no shutdown."""
        run_as_postgres(
            PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False
        )

    def mkdir(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")


class ReplicatedPair:
    """``primary`` and ``replica`` (streaming, hot standby) with a database ``fairdeal``, in
    a fresh temporary folder (the ``postgres`` user must reach it: not under pytest's
    root-only tmp_path)."""

    def __init__(self) -> None:
        root = Path(tempfile.mkdtemp(prefix="fairdeal-replica-"))
        self.root = root
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        self.primary = Server(root, "primary")
        self.replica = Server(root, "replica")

    def start(self) -> None:
        self.primary.mkdir()
        run_as_postgres(
            PG_BIN / "initdb", "-D", self.primary.data, "-U", "postgres", "-A", "trust", "--no-sync"
        )
        self.primary.start()
        admin = create_engine(self.primary.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE fairdeal"))
        admin.dispose()
        self.replica.mkdir()
        run_as_postgres(
            PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", self.primary.port, "-U", "postgres",
            "-D", self.replica.data, "-R", "-X", "stream", "--no-sync", "-c", "fast",
        )  # fmt: skip
        self.replica.start()

    def wait_replayed(self, timeout: float = 30) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        primary = create_engine(self.primary.url())
        replica = create_engine(self.replica.url())
        try:
            with primary.connect() as conn:
                target = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
            deadline = time.monotonic() + timeout
            while True:
                with replica.connect() as conn:
                    done = conn.execute(
                        text("SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)"), {"t": target}
                    ).scalar_one()
                if done:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError("the replica did not catch up")
                time.sleep(0.05)
        finally:
            primary.dispose()
            replica.dispose()

    def _on_replica(self, sql: str) -> None:
        engine = create_engine(self.replica.url())
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def pause_replay(self) -> None:
        self._on_replica("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self._on_replica("SELECT pg_wal_replay_resume()")

    def destroy(self) -> None:
        for server in (self.replica, self.primary):
            server.kill()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def prepared_pair(prepare: Callable[[str], None]) -> Iterator[ReplicatedPair]:
    """A started pair whose primary ``prepare`` got ready (given its URL) and whose replica has
    replayed that, destroyed at the end. Skips without the PostgreSQL tests, fails where a pair
    cannot be made."""
    if not os.environ.get("FAIRDEAL_TEST_PG_URL"):
        pytest.skip("FAIRDEAL_TEST_PG_URL is not set (the PostgreSQL tests are off)")
    why = unavailable()
    if why:
        pytest.fail(f"cannot start a primary and a replica here: {why}")
    made = ReplicatedPair()
    try:
        made.start()
        prepare(made.primary.url())
        made.wait_replayed()
        yield made
    finally:
        made.destroy()
