"""Prometheus metrics read from the database, cached: a scrape answers from the last
snapshot and, when it is older than ``metrics_refresh_seconds``, starts one background
refresh (the first scrape waits for the first snapshot). So N scrapers, or one scraping
every second, cost the database at most one short read every N seconds per process.

Used by the API's ``/metrics`` and by the worker's own metrics server
(``FAIRDEAL_WORKER_METRICS_PORT``), which also has the standard process collectors and the
worker's counters."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from fairdeal.adapters.db.gauges import Snapshot, has_payments_table, read_snapshot
from fairdeal.domain.dispute.states import Status

log = logging.getLogger("fairdeal.metrics")

# Every status is reported, at 0 when no dispute has it, so a dashboard's series never vanish.
DISPUTE_STATUSES = tuple(status.value for status in Status)


class DatabaseGauges(Collector):
    """A collector whose values come from a cached ``Snapshot`` of the database."""

    def __init__(self, engine: Engine, now: Callable[[], datetime], refresh_seconds: float) -> None:
        self.engine, self.now, self.refresh_seconds = engine, now, refresh_seconds
        self.snapshot: Snapshot | None = None
        self.taken_at = 0.0  # time.monotonic() of the snapshot
        self.refreshes = 0
        self.failures = 0
        self._lock = threading.Lock()
        self._refreshing = False
        self._refresher: threading.Thread | None = None
        self._with_payments: bool | None = None

    def refresh(self) -> None:
        """Read a new snapshot now (the caller's thread)."""
        try:
            if self._with_payments is None:
                self._with_payments = has_payments_table(self.engine)
            snapshot = read_snapshot(self.engine, self.now(), with_payments=self._with_payments)
        except Exception:
            self.failures += 1
            log.warning("reading the metrics from the database failed", exc_info=True)
            return
        finally:
            with self._lock:
                self._refreshing = False
        self.snapshot, self.taken_at = snapshot, time.monotonic()
        self.refreshes += 1

    def maybe_refresh(self) -> None:
        with self._lock:
            if self._refreshing:
                return
            stale = time.monotonic() - self.taken_at >= self.refresh_seconds
            if self.snapshot is not None and not stale:
                return
            self._refreshing = True
            first = self.snapshot is None
        if first:
            self.refresh()
        else:
            self._refresher = threading.Thread(
                target=self.refresh, daemon=True, name="fairdeal-metrics"
            )
            self._refresher.start()

    def wait(self, timeout: float = 30.0) -> None:
        """Until a background refresh in flight has finished (``App.dispose`` calls this)."""
        refresher = self._refresher
        if refresher is not None:
            refresher.join(timeout)

    def collect(self) -> Iterator[Metric]:
        self.maybe_refresh()
        snap = self.snapshot
        age = GaugeMetricFamily(
            "fairdeal_metrics_snapshot_age_seconds",
            "Age of the database snapshot these gauges come from",
        )
        age.add_metric([], time.monotonic() - self.taken_at if snap else -1.0)
        yield age
        if snap is None:
            return
        disputes = GaugeMetricFamily("fairdeal_disputes", "Disputes by status", labels=["status"])
        for status in sorted({*DISPUTE_STATUSES, *snap.disputes}):
            disputes.add_metric([status], snap.disputes.get(status, 0))
        yield disputes
        yield GaugeMetricFamily(
            "fairdeal_deadlines_due",
            "Deadlines due now and not yet fired",
            value=snap.deadlines_due,
        )
        yield GaugeMetricFamily(
            "fairdeal_deadline_lag_seconds",
            "How long the oldest due deadline has waited to be fired (0: none waiting)",
            value=snap.deadline_lag_seconds,
        )
        deliveries = GaugeMetricFamily(
            "fairdeal_deliveries",
            "Notification deliveries by channel and status (pending, sent, failed)",
            labels=["channel", "status"],
        )
        for channel in ("email", "webhook"):
            for status in ("pending", "sent", "failed"):
                deliveries.add_metric([channel, status], snap.deliveries.get((channel, status), 0))
        yield deliveries
        yield GaugeMetricFamily(
            "fairdeal_outbox_backlog",
            "Deliveries due now and not yet sent",
            value=snap.outbox_backlog,
        )
        yield GaugeMetricFamily(
            "fairdeal_outbox_oldest_due_seconds",
            "How long the oldest due delivery has waited (0: none waiting)",
            value=snap.outbox_oldest_seconds,
        )
        if self._with_payments:
            money = GaugeMetricFamily(
                "fairdeal_money_movements", "Money movements by status", labels=["status"]
            )
            for status, count in sorted(snap.money_movements.items()):
                money.add_metric([status], count)
            yield money


def with_process_collectors(registry: CollectorRegistry) -> CollectorRegistry:
    """The standard process_*, python_info and python_gc_* metrics on ``registry``."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class WorkerMetrics:
    """The worker's own counters, beside the database gauges, on its own registry."""

    def __init__(self, gauges: DatabaseGauges) -> None:
        self.registry = with_process_collectors(CollectorRegistry())
        self.registry.register(gauges)
        self.fired = Counter(
            "fairdeal_worker_deadlines_fired_total",
            "Deadlines fired by this worker",
            registry=self.registry,
        )
        self.batches = Counter(
            "fairdeal_worker_batches_total",
            "Worker loop rounds, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.relayed = Counter(
            "fairdeal_worker_relayed_total",
            "Notification work done by this worker (fan-out, reminders, deliveries claimed)",
            registry=self.registry,
        )
        self.last_round = Gauge(
            "fairdeal_worker_last_round_timestamp_seconds",
            "When this worker last finished a round of its loop",
            registry=self.registry,
        )

    def round(self, fired: int, relayed: int) -> None:
        self.fired.inc(fired)
        self.relayed.inc(relayed)
        self.batches.labels("ok").inc()
        self.last_round.set_to_current_time()

    def failed(self) -> None:
        self.batches.labels("failed").inc()
