"""Metrics: the API's /metrics answers from a cached snapshot of the database (no SQL per
scrape, refreshed in the background), and ``fairdeal worker`` serves its own metrics (its
counters, the database gauges, the standard process collectors) on
FAIRDEAL_WORKER_METRICS_PORT. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, text

from e2e.support import PLATFORM_TOKEN, running_world
from fairdeal.adapters.clock import SandboxClock
from ops.support import clean_env, free_port, processes, wait_for


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_scrapes_run_no_sql_once_the_snapshot_exists(db_url: str, tmp_path: Path) -> None:
    with running_world(db_url, tmp_path, metrics_refresh_seconds=3600) as world:
        world.open_dispute()
        statements: list[str] = []
        event.listen(
            world.app.engine,
            "before_cursor_execute",
            lambda *args: statements.append(str(args[2])),
        )
        first = _samples(world.http.get("/metrics").text)  # the first scrape reads once
        assert statements, "the first scrape takes the first snapshot"
        assert _value(first, "fairdeal_disputes", status="awaiting_seller_response") == 1
        assert ("process_cpu_seconds_total", ()) in first  # the standard collectors
        world.open_dispute()
        statements.clear()
        for _ in range(5):
            again = _samples(world.http.get("/metrics").text)
        assert statements == [], statements
        # Cached: the second dispute is not counted until the snapshot is refreshed.
        assert _value(again, "fairdeal_disputes", status="awaiting_seller_response") == 1


def test_metrics_are_refreshed_in_the_background(db_url: str, tmp_path: Path) -> None:
    with running_world(db_url, tmp_path, metrics_refresh_seconds=0.2) as world:
        assert (
            _value(
                _samples(world.http.get("/metrics").text),
                "fairdeal_disputes",
                status="awaiting_seller_response",
            )
            == 0
        )
        dispute = world.open_dispute()
        # The seller's deadline passes without anyone firing it: due, and late.
        clock = world.app.sandbox_clock
        assert clock is not None
        clock.advance_to(clock.now() + timedelta(days=30))

        def refreshed() -> dict[Any, float] | None:
            samples = _samples(world.http.get("/metrics").text)
            counted = _value(samples, "fairdeal_disputes", status="awaiting_seller_response")
            return samples if counted == 1 and _value(samples, "fairdeal_deadlines_due") else None

        samples = wait_for("a refreshed snapshot", refreshed, patience=20)
        assert _value(samples, "fairdeal_deadline_lag_seconds") > 86400
        assert dispute["id"]


def test_money_movements_are_counted_when_the_payments_table_exists(
    db_url: str, tmp_path: Path
) -> None:
    with running_world(db_url, tmp_path, metrics_refresh_seconds=3600) as world:
        with world.app.engine.begin() as conn:
            conn.execute(text("CREATE TABLE payments (id VARCHAR(40), status VARCHAR(20))"))
            conn.execute(
                text(
                    "INSERT INTO payments VALUES ('p1','succeeded'),('p2','succeeded'),('p3','failed')"
                )
            )
        try:
            samples = _samples(world.http.get("/metrics").text)
        finally:
            with world.app.engine.begin() as conn:
                conn.execute(text("DROP TABLE payments"))
        assert _value(samples, "fairdeal_money_movements", status="succeeded") == 2
        assert _value(samples, "fairdeal_money_movements", status="failed") == 1


def test_without_a_payments_table_there_is_no_money_gauge(db_url: str, tmp_path: Path) -> None:
    with running_world(db_url, tmp_path) as world:
        body = world.http.get("/metrics").text
    assert "fairdeal_disputes{" in body and "fairdeal_money_movements" not in body


@pytest.mark.slow
def test_the_worker_serves_its_own_metrics(db_url: str, tmp_path: Path) -> None:
    with running_world(db_url, tmp_path) as world:
        world.open_dispute()
        clock = world.app.sandbox_clock
        assert isinstance(clock, SandboxClock)
        clock.advance_to(clock.now() + timedelta(days=30))  # the seller's deadline is due
    port = free_port()
    env = clean_env(
        FAIRDEAL_DATABASE_URL=db_url,
        FAIRDEAL_SANDBOX="true",
        FAIRDEAL_PLATFORM_TOKEN=PLATFORM_TOKEN,
        FAIRDEAL_WORKER_METRICS_PORT=str(port),
        FAIRDEAL_WORKER_POLL_SECONDS="0.1",
        FAIRDEAL_METRICS_REFRESH_SECONDS="0.2",
    )
    url = f"http://127.0.0.1:{port}/metrics"
    with processes(tmp_path) as group:
        worker = group.spawn("worker", ["worker"], env)

        def scraped() -> dict[Any, float] | None:
            group.check_alive()
            try:
                samples = _samples(httpx.get(url, timeout=2).text)
            except httpx.HTTPError:
                return None
            fired = samples.get(("fairdeal_worker_deadlines_fired_total", ()), 0)
            due = samples.get(("fairdeal_deadlines_due", ()), 1)
            return samples if fired >= 1 and due == 0 else None

        samples = wait_for("the worker's metrics after firing", scraped, patience=90)
        assert _value(samples, "fairdeal_worker_batches_total", outcome="ok") >= 1
        assert _value(samples, "fairdeal_deadline_lag_seconds") == 0
        assert ("fairdeal_outbox_backlog", ()) in samples
        assert ("fairdeal_deliveries", (("channel", "email"), ("status", "sent"))) in samples
        assert _value(samples, "process_resident_memory_bytes") > 0
        assert any(name == "python_gc_objects_collected_total" for name, _ in samples)
        group.stop(worker)
        assert f"127.0.0.1:{port}/metrics" in worker.output()


def test_disposing_the_app_waits_for_a_refresh_in_flight(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A background refresh holding a connection when the pool is disposed gave the
    connection back to a pool nobody closes: psycopg's "deleted while still open" warning in
    a later test (tests/leaks.py traced it here). ``App.dispose`` waits for it first."""
    from fairdeal import metrics

    reading, release = threading.Event(), threading.Event()
    read_snapshot = metrics.read_snapshot

    def slow_read(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "fairdeal-metrics":
            reading.set()
            assert release.wait(20)
        return read_snapshot(*args, **kwargs)

    monkeypatch.setattr(metrics, "read_snapshot", slow_read)

    def scraped_while_reading() -> bool:
        world.http.get("/metrics")  # past the snapshot's age: starts a background refresh
        return reading.is_set()

    with running_world(db_url, tmp_path, metrics_refresh_seconds=0.05) as world:
        world.http.get("/metrics")  # the first snapshot, read by the scrape itself
        wait_for("a background refresh", scraped_while_reading)
        (refresher,) = [t for t in threading.enumerate() if t.name == "fairdeal-metrics"]
        threading.Timer(0.3, release.set).start()
    # Leaving ``running_world`` disposed the app while the refresh was still reading.
    assert not refresher.is_alive(), "the pool was disposed under a running refresh"
