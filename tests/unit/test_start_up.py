"""Start-up (issue 16): work that can wait -- the holiday warm-up, the demo's worker -- starts
only once the server accepts connections, so that it does not compete with the imports and
the first pages."""

from __future__ import annotations

import socket
import threading

from fairdeal.cli import _once_listening


def test_background_work_waits_until_the_port_accepts_connections() -> None:
    with socket.socket() as probe:  # a free port, closed again: nothing listens there yet
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    started = threading.Event()
    _once_listening("127.0.0.1", port, {"warm-up": started.set})
    assert not started.wait(0.5), "started before anything listened"
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        assert started.wait(10), "did not start once the port listened"
