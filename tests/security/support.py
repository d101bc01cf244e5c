"""Helpers of the hostile-input tests: a web client per test over the demo-seeded site (its
login and CSRF token are tests/webpages.py's); images with and without hidden payloads."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from PIL import Image

from fairdeal.bootstrap import App
from fairdeal.demo import DemoAccounts
from fairdeal.entrypoints.api.app import create_app
from webpages import TestClient

HANDLES = ("alice", "bob", "sam", "sue", "maya", "ada")


@dataclass
class Site:
    app: App
    accounts: DemoAccounts

    @contextmanager
    def client(self, **settings: Any) -> Iterator[TestClient]:
        """A browser of its own (cookies) on a fresh process of the app (fresh rate limits);
        ``settings`` override the app's for this client only."""
        saved = {name: getattr(self.app.settings, name) for name in settings}
        for name, value in settings.items():
            setattr(self.app.settings, name, value)
        try:
            with TestClient(create_app(self.app), follow_redirects=False) as http:
                yield http
        finally:
            for name, value in saved.items():
                setattr(self.app.settings, name, value)

    def actor(self, handle: str) -> Any:
        return self.accounts.actors[handle]

    def dispute(self, label: str) -> str:
        return self.accounts.dispute_ids[label]


def jpeg(size: tuple[int, int] = (64, 48), exif: Any = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (180, 90, 40))
    if exif is None:
        image.save(buffer, format="JPEG")
    else:
        image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()
