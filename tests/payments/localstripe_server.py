"""Run localstripe (PyPI: a stateful fake of Stripe's API, by Adrien Vergé) on a loopback port.

``python tests/payments/localstripe_server.py PORT``. localstripe's own ``start()`` listens on
every interface (``::``) and pickles its whole store to the fixed file /tmp/localstripe.pickle
after every write, which several test processes would share; this launcher serves the very
same aiohttp application on 127.0.0.1 only and keeps the store in memory. Nothing of the API
itself is changed."""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe.resources import store
from localstripe.server import app


def main() -> None:
    port = int(sys.argv[1])
    # The instance attribute shadows Store.dump_to_disk: every write stays in memory.
    store.dump_to_disk = lambda: None  # type: ignore[method-assign]
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
