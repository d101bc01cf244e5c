"""The web pages as a person's browser uses them, without a browser (fastapi's TestClient):
the demo world they are served over, the CSRF token a page's forms carry, and logging in.
One copy for every test module that drives the pages (tests/browser's ``*_http`` files, the
metrics, case-file and scam-warning pages, tests/security's forms)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fairdeal.adapters.db.migrate import upgrade
from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings
from fairdeal.demo import DEMO_PASSWORD, DemoAccounts, seed_sandbox

with warnings.catch_warnings():
    # Starlette 1.x would rather drive its test client with httpx2 (as in tests/e2e).
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = ["DEMO_PASSWORD", "TestClient", "csrf_token", "demo_world", "log_in", "submit_login"]


@contextmanager
def demo_world(folder: Path, database_url: str | None = None) -> Iterator[tuple[App, DemoAccounts]]:
    """The demo's people, orders and disputes (``fairdeal demo``'s seed), in sandbox mode with
    every rate limit off, over ``database_url`` or a new SQLite file in ``folder`` (migrated
    here if it is not); the evidence files in ``folder`` too. The engine is disposed at the
    end."""
    if database_url is None:
        database_url = f"sqlite:///{folder / 'fairdeal.db'}"
    app = bootstrap(
        Settings(
            database_url=database_url,
            sandbox=True,
            storage_dir=str(folder / "files"),
            rate_limit_writes_per_minute=0,
        )
    )
    try:
        upgrade(app.engine)
        yield app, seed_sandbox(app)
    finally:
        app.engine.dispose()


def csrf_token(page: str) -> str:
    """The CSRF token of the page's form (every form of one session carries the same)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def submit_login(
    http: TestClient, handle: str, password: str = DEMO_PASSWORD, **fields: str
) -> Any:
    """The login form sent as the login page serves it, for the demo person ``handle``;
    ``fields`` adds form fields (``next``). The answer, not followed: a refused login too."""
    page = http.get("/login")
    return http.post(
        "/login",
        data={
            "email": f"{handle}@demo.test",
            "password": password,
            "csrf_token": csrf_token(page.text),
            **fields,
        },
        follow_redirects=False,
    )


def log_in(http: TestClient, handle: str) -> None:
    """``handle`` logged in on ``http``: the login must succeed (303 on to their home)."""
    answer = submit_login(http, handle)
    assert answer.status_code == 303, f"{handle} could not log in: {answer.status_code}"
