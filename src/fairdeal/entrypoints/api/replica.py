"""Which API requests may read from the replica (adapters/db/replica.py): GET and HEAD of the
JSON API, from a caller who has not written in the last FAIRDEAL_REPLICA_STICKINESS_SECONDS
(read-your-writes: after a write, that caller's reads go to the primary for a while). The
caller is its Authorization header, else its cookies, else its address -- hashed. With
FAIRDEAL_REDIS_URL the stickiness is shared by every API process (a write on one, a read on
another); without it, per process."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from fairdeal.adapters.db.replica import replica_allowed

READS = {"GET", "HEAD"}
PREFIX = "/api/v1/"
MAX_TRACKED = 100_000


class LocalStickiness:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.until: dict[str, float] = {}
        self.lock = threading.Lock()

    def mark(self, who: str) -> None:
        now = time.monotonic()
        with self.lock:
            if len(self.until) > MAX_TRACKED:
                self.until = {k: v for k, v in self.until.items() if v > now}
            self.until[who] = now + self.seconds

    def recent(self, who: str) -> bool:
        return self.until.get(who, 0.0) > time.monotonic()


class RedisStickiness:
    """The same, in Redis: a key per caller that expires. Redis not answering: sticky (read
    the primary), never a stale read."""

    def __init__(self, url: str, prefix: str, seconds: float) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix, self.ms = f"{prefix}:sticky:", max(1, int(seconds * 1000))

    def mark(self, who: str) -> None:
        try:
            self.client.set(self.prefix + who, b"1", px=self.ms)
        except Exception:
            return

    def recent(self, who: str) -> bool:
        try:
            return bool(self.client.exists(self.prefix + who))
        except Exception:
            return True


def _caller(scope: Scope) -> str:
    headers = dict(scope.get("headers", []))
    credential = headers.get(b"authorization") or headers.get(b"cookie")
    if credential is None:
        client = scope.get("client") or ("unknown", 0)
        credential = f"ip:{client[0]}".encode()
    return hashlib.sha256(credential).hexdigest()[:32]


class ReplicaReadsMiddleware:
    def __init__(self, app: ASGIApp, stickiness: LocalStickiness | RedisStickiness) -> None:
        self.app, self.stickiness = app, stickiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        who = _caller(scope)
        if scope["method"] not in READS:
            self.stickiness.mark(who)  # reads racing this write go to the primary too
            try:
                await self.app(scope, receive, send)
            finally:
                self.stickiness.mark(who)  # the window starts when the write has answered
            return
        if self.stickiness.recent(who):
            await self.app(scope, receive, send)
            return
        token = replica_allowed.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            replica_allowed.reset(token)


def replica_stickiness(app: Any) -> LocalStickiness | RedisStickiness:
    settings = app.settings
    seconds = settings.replica_stickiness_seconds
    if settings.redis_url:
        return RedisStickiness(settings.redis_url, settings.redis_prefix, seconds)
    return LocalStickiness(seconds)
