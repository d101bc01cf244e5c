"""The crash harness (harness.py) in a bounded form: real ``fairdeal serve`` and ``fairdeal
worker`` processes SIGKILLed at random points while lifecycles run over HTTP; on PostgreSQL
also the database server crashed (``pg_ctl stop -m immediate``) -- a throwaway cluster of the
test's own, never the shared server other tests use. Nothing acknowledged may be lost, nothing
applied twice, every ledger balanced, every due deadline fired once.

The number of kills and the seed come from FAIRDEAL_CHAOS_KILLS / FAIRDEAL_CHAOS_SEED; the long
run is ``python -m tests.chaos.harness --kills 200`` (docs/chaos.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from chaos.harness import Cluster, Report, run

pytestmark = pytest.mark.slow

# Kills of the PostgreSQL run (processes exec'd as `python -m fairdeal.cli ...`, each restart
# paying the imports); the SQLite run forks its processes (harness.py: --spawn fork) and makes
# half as many again.
KILLS = int(os.environ.get("FAIRDEAL_CHAOS_KILLS", "8"))
SEED = int(os.environ.get("FAIRDEAL_CHAOS_SEED", "20261201"))


def _assert_clean(report: Report, record_property: Any) -> None:
    print("\n" + report.summary())
    for name in ("kills", "pg_crashes", "lifecycles", "rounds"):
        record_property(name, getattr(report, name))
    record_property("failures", report.failures)
    assert report.failures == 0, report.summary() + "\n" + report.details()
    assert report.kills >= KILLS
    assert report.lifecycles > 0


def test_postgres_api_and_worker_and_database_killed_lose_nothing(
    tmp_path: Path, record_property: Any, request: pytest.FixtureRequest
) -> None:
    why = Cluster.available()
    if why is None:
        report = run(
            db="postgres",
            kills=KILLS,
            seed=SEED,
            per_round=6,
            pg_crash_every=max(KILLS // 2 - 1, 1),
            workdir=tmp_path,
            spawn="exec",
        )
        assert report.pg_crashes >= 1
    else:
        # No cluster of our own here (e.g. not root and not the postgres user): the shared
        # server, in the test's schema, without crashing it.
        url = request.getfixturevalue("pg_base_url")  # skips when there is no server
        report = run(
            db="postgres",
            kills=KILLS,
            seed=SEED,
            per_round=6,
            workdir=tmp_path,
            database_url=url,
            spawn="exec",
        )
    _assert_clean(report, record_property)


def test_sqlite_api_and_worker_killed_lose_nothing(tmp_path: Path, record_property: Any) -> None:
    report = run(
        db="sqlite",
        kills=KILLS * 3 // 2,
        seed=SEED + 1,
        per_round=6,
        workdir=tmp_path,
        spawn="fork",
    )
    _assert_clean(report, record_property)
