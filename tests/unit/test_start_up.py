"""Start-up (issue 16): work that can wait -- the holiday warm-up, the demo's worker -- starts
only once the server accepts connections, so that it does not compete with the imports and
the first pages; compiled templates are cached on disk without ever failing a page."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import jinja2

from fairdeal.cli import _once_listening
from fairdeal.entrypoints.web import site


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


def test_a_page_renders_when_the_template_cache_cannot_be_written(tmp_path: Path) -> None:
    """The compiled templates are kept in a temp folder (start-up speed); a folder cleaned
    away under the running server must not fail a page: the template is compiled instead."""
    cache = site.environment().bytecode_cache
    assert isinstance(cache, site._BestEffortBytecodeCache)
    cache.directory = str(tmp_path / "cleaned-away")  # neither readable nor writable now
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"page.html": "<p>{{ detail }}</p>"}), bytecode_cache=cache
    )
    assert env.get_template("page.html").render(detail="Nothing here.") == "<p>Nothing here.</p>"
