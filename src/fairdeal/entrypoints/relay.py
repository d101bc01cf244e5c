"""The notification relay's turn in the worker loop: fan the event feed out into emails,
webhooks, in-app notifications and reminders, then send what is due (see
fairdeal.services.notifications)."""

from __future__ import annotations

import logging

from fairdeal.bootstrap import App
from fairdeal.services.notifications import relay_step

log = logging.getLogger("fairdeal.relay")


def relay_once(app: App) -> int:
    """One round of the relay; returns the work it did (0: nothing was waiting)."""
    notifier = app.ctx.notifier
    if notifier is None:
        return 0
    done = relay_step(notifier)
    if done:
        log.debug("relayed %d item(s)", done)
    return done
