"""``fairdeal worker`` without the notification relay: the same loop (fire_due batches until
SIGTERM), for measuring deadline firing on its own. A deployment can run the relay in
processes of its own the same way (docs/deployment.md)."""

from __future__ import annotations

import logging

from fairdeal.bootstrap import bootstrap
from fairdeal.entrypoints.worker import run


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = bootstrap()
    app.notifier = None  # relay_once does nothing without a notifier
    try:
        fired = run(app)
    finally:
        app.engine.dispose()
    print(f"fired {fired} deadline(s)", flush=True)


if __name__ == "__main__":
    main()
