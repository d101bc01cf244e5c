"""pgbench baselines: the ceiling PostgreSQL itself sets on this machine for a transaction of
the same shape as a Fairdeal transition, run in the same database as the benchmark."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks.common import libpq_url, percentile

# A refund: lock the dispute row, rewrite it (a JSON document the size of a real dispute's),
# append its event, two ledger entries, move two balances, queue an outbox row, commit.
REFUND_SCRIPT = """\
\\set d random(1, {disputes})
\\set buyer random(1, {accounts})
\\set seller random(1, {accounts})
BEGIN;
SELECT version FROM pgb_disputes WHERE id = :d FOR UPDATE;
UPDATE pgb_disputes SET version = version + 1, status = 'closed', updated_at = now(), doc = jsonb_set(doc, '{{status}}', '"closed"') WHERE id = :d;
INSERT INTO pgb_events (dispute_id, type, created_at, data) VALUES (:d, 'dispute.closed', now(), '{{"outcome": "buyer_favour", "refund": {{"minor": 4000, "currency": "EUR"}}}}');
INSERT INTO pgb_ledger (dispute_id, account, amount, created_at) VALUES (:d, :buyer, 4000, now());
INSERT INTO pgb_ledger (dispute_id, account, amount, created_at) VALUES (:d, :seller, -4000, now());
UPDATE pgb_balances SET amount = amount + 4000 WHERE account = :buyer;
UPDATE pgb_balances SET amount = amount - 4000 WHERE account = :seller;
INSERT INTO pgb_outbox (event_type, payload, created_at) VALUES ('dispute.closed', '{{"dispute_id": 1}}', now());
END;
"""

SETUP = """
DROP TABLE IF EXISTS pgb_disputes, pgb_events, pgb_ledger, pgb_balances, pgb_outbox;
CREATE TABLE pgb_disputes (id int PRIMARY KEY, version int NOT NULL, status text NOT NULL,
  updated_at timestamptz NOT NULL, doc jsonb NOT NULL);
CREATE TABLE pgb_events (seq bigserial PRIMARY KEY, dispute_id int NOT NULL, type text NOT NULL,
  created_at timestamptz NOT NULL, data jsonb NOT NULL);
CREATE INDEX ON pgb_events (dispute_id);
CREATE TABLE pgb_ledger (id bigserial PRIMARY KEY, dispute_id int NOT NULL, account int NOT NULL,
  amount bigint NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX ON pgb_ledger (dispute_id);
CREATE TABLE pgb_balances (account int PRIMARY KEY, amount bigint NOT NULL);
CREATE TABLE pgb_outbox (id bigserial PRIMARY KEY, event_type text NOT NULL,
  payload jsonb NOT NULL, created_at timestamptz NOT NULL);
"""


def setup_refund_tables(url: str, *, disputes: int, accounts: int, doc: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in SETUP.split(";"):
            if statement.strip():
                conn.execute(text(statement))
        conn.execute(
            text(
                "INSERT INTO pgb_disputes SELECT i, 1, 'negotiating', now(), CAST(:doc AS jsonb)"
                " FROM generate_series(1, CAST(:n AS int)) i"
            ),
            {"doc": doc, "n": disputes},
        )
        conn.execute(
            text("INSERT INTO pgb_balances SELECT i, 0 FROM generate_series(1, CAST(:n AS int)) i"),
            {"n": accounts},
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE pgb_disputes, pgb_balances")
        )
    engine.dispose()


def drop_refund_tables(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "DROP TABLE IF EXISTS pgb_disputes, pgb_events, pgb_ledger, pgb_balances, pgb_outbox"
            )
        )
    engine.dispose()


def run(url: str, script: str, *, clients: int, seconds: int) -> dict[str, Any]:
    """pgbench with ``clients`` connections for ``seconds`` (prepared statements, per-
    transaction log): tps and latency percentiles."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise RuntimeError("pgbench is not installed (Debian: apt-get install postgresql-client)")
    folder = tempfile.mkdtemp(prefix="fairdeal-pgbench-")
    path = os.path.join(folder, "script.sql")
    with open(path, "w") as handle:
        handle.write(script)
    done = subprocess.run(
        [
            pgbench,
            "--no-vacuum",
            "--protocol=prepared",
            f"--client={clients}",
            f"--jobs={min(clients, 2)}",
            f"--time={seconds}",
            f"--file={path}",
            "--log",
            f"--log-prefix={folder}/log",
            libpq_url(url),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed: {done.stderr[-2000:]}")
    match = re.search(r"tps = ([\d.]+)", done.stdout)
    tps = float(match.group(1)) if match else float("nan")
    latencies: list[float] = []
    for log in glob.glob(f"{folder}/log*"):
        with open(log) as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 3:
                    latencies.append(int(parts[2]) / 1000)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "clients": clients,
        "tps": round(tps, 1),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "transactions": len(latencies),
    }
