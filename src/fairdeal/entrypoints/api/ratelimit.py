"""Write rate limits per API token (token bucket, in this process). 429 with Retry-After."""

from __future__ import annotations

import hashlib
import math
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from fairdeal.entrypoints.api.errors import problem

WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


class TokenBucket:
    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, who: str, now: float) -> float:
        """0 when allowed, else the seconds until a write is allowed again."""
        tokens, last = self.buckets.get(who, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self.buckets[who] = (tokens - 1, now)
            return 0.0
        self.buckets[who] = (tokens, now)
        return (1 - tokens) / self.rate


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app = app
        self.bucket = TokenBucket(per_minute) if per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.bucket is None or scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        credential = headers.get(b"authorization")
        if credential is None:
            client = scope.get("client") or ("unknown", 0)
            credential = f"ip:{client[0]}".encode()
        who = hashlib.sha256(credential).hexdigest()
        wait = self.bucket.take(who, time.monotonic())
        if wait > 0:
            response = problem(
                "rate_limited",
                "too many writes; slow down and retry later",
                headers={"Retry-After": str(math.ceil(wait))},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
