"""The worker loop: fire due deadlines in batches until stopped."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from fairdeal.bootstrap import App
from fairdeal.services.deadlines import fire_due

log = logging.getLogger("fairdeal.worker")


def run(app: App, *, once: bool = False) -> int:
    """Fire until nothing is due (``once``) or until SIGTERM/SIGINT. Returns firings made."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping after the current batch")
        stop.set()

    if not once and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    total = 0
    batch_size = app.settings.worker_batch_size
    while not stop.is_set():
        fired = fire_due(app.ctx, limit=batch_size)
        total += len(fired)
        for item in fired:
            log.info(
                "fired %s %s on %s (due %s)",
                item.kind,
                item.aggregate,
                item.id,
                item.due_at.isoformat(),
            )
        if not fired:
            if once:
                break
            stop.wait(app.settings.worker_poll_seconds)
    return total
