"""The worker loop: fire due deadlines in batches until stopped."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from fairdeal.bootstrap import App
from fairdeal.entrypoints.relay import relay_once
from fairdeal.metrics import WorkerMetrics
from fairdeal.services.deadlines import fire_due
from fairdeal.services.payments import process_due

log = logging.getLogger("fairdeal.worker")

# After a failed batch the worker waits this many poll intervals at most (doubling each time).
MAX_BACKOFF_POLLS = 30


def run(
    app: App,
    *,
    once: bool = False,
    stop: threading.Event | None = None,
    metrics: WorkerMetrics | None = None,
) -> int:
    """Fire until nothing is due (``once``), until SIGTERM/SIGINT (in the main thread), or
    until ``stop`` is set. Returns firings made."""
    stop = stop or threading.Event()
    app.warm_up()  # the holiday calendars, before the first batch (docs/performance.md)

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping after the current batch")
        stop.set()

    if not once and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    total = 0
    failures = 0
    batch_size = app.settings.worker_batch_size
    poll = app.settings.worker_poll_seconds
    while not stop.is_set():
        try:
            fired = fire_due(app.ctx, limit=batch_size)
            # Money movements: refunds and payouts through the payment provider.
            paid = process_due(app.ctx)
            # Notifications: emails, webhooks and reminders through the outbox.
            relayed = relay_once(app)
        except Exception:
            # A lost connection, a deadlock victim, a database restart: the batch rolled back
            # and nothing of it is lost, so a long-running worker logs, waits and tries again
            # rather than dying. ``once`` (a cron job, a test) reports the failure instead.
            if once:
                raise
            failures += 1
            if metrics is not None:
                metrics.failed()
            log.exception("firing a batch failed (%d in a row); retrying", failures)
            stop.wait(poll * min(2 ** (failures - 1), MAX_BACKOFF_POLLS))
            continue
        failures = 0
        total += len(fired)
        if metrics is not None:
            metrics.round(len(fired), relayed)
        if fired:
            # One line per batch: at thousands of firings a second a line each would cost
            # more than the firing. Each firing is there at DEBUG.
            log.info("fired %d deadline(s), %d in all", len(fired), total)
            if log.isEnabledFor(logging.DEBUG):
                for item in fired:
                    log.debug(
                        "fired %s %s on %s (due %s)",
                        item.kind,
                        item.aggregate,
                        item.id,
                        item.due_at.isoformat(),
                    )
        elif relayed or paid:
            continue
        elif once:
            break
        else:
            stop.wait(poll)
    return total
