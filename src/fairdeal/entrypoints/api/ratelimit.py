"""Rate limits, in this process (token buckets) or, with FAIRDEAL_REDIS_URL, shared by every
API process through Redis (``adapters/ratelimit.py``), answered 429 with Retry-After: writes per
API token (middleware), and the actions abuse goes through -- login, opening disputes,
messages, uploads -- per user and per client IP (``ActionLimiter``, checked by the API routes
and the web pages)."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from fairdeal.bootstrap import App
from fairdeal.domain.roles import Actor
from fairdeal.entrypoints.api.deps import CurrentActor, api_of
from fairdeal.entrypoints.api.errors import ApiError, problem

WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


class Window(Protocol):
    """A limit for many callers: ``peek``/``take`` answer 0 when ``who`` may go on, else the
    seconds to wait. ``TokenBucket`` here, or a Redis window shared by every process."""

    def peek(self, who: str, now: float) -> float: ...

    def take(self, who: str, now: float) -> float: ...


# Makes the window named ``name`` allowing ``per_minute`` (> 0).
Windows = Callable[[str, int], Window]


def local_windows(name: str, per_minute: int) -> Window:
    return TokenBucket(per_minute)


class TokenBucket:
    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, who: str, now: float) -> float:
        """0 when allowed, else the seconds until a write is allowed again."""
        wait = self.peek(who, now)
        if wait == 0:
            tokens, _last = self.buckets[who]
            self.buckets[who] = (tokens - 1, now)
        return wait

    def peek(self, who: str, now: float) -> float:
        """Like ``take`` without taking: 0 when one is available, else the seconds to wait."""
        if len(self.buckets) > MAX_TRACKED and who not in self.buckets:
            self._forget_full(now)
        tokens, last = self.buckets.get(who, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        self.buckets[who] = (tokens, now)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop the callers whose bucket has refilled (they are as if new): bounded memory
        however many addresses call."""
        refill = self.capacity / self.rate if self.rate else 0.0
        self.buckets = {
            who: (tokens, last)
            for who, (tokens, last) in self.buckets.items()
            if now - last < refill
        }


# Callers tracked per bucket before the full ones are forgotten.
MAX_TRACKED = 50_000


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, per_minute: int, windows: Windows = local_windows) -> None:
        self.app = app
        self.bucket = windows("writes", per_minute) if per_minute > 0 else None

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


ACTION_NAMES = {
    "login": "sign-in attempts",
    "disputes": "disputes opened",
    "messages": "messages",
    "uploads": "uploads",
}


class RateLimited(Exception):
    """Over an action's allowance: retry after ``retry_after`` seconds."""

    def __init__(self, action: str, retry_after: int, scope: str) -> None:
        super().__init__(action)
        self.action, self.retry_after, self.scope = action, retry_after, scope

    @property
    def detail(self) -> str:
        who = "from your network address" if self.scope == "ip" else "for your account"
        return (
            f"too many {ACTION_NAMES.get(self.action, self.action)} {who}; "
            f"try again in {self.retry_after} s"
        )


class ActionLimiter:
    """Allowances per action, per user and per client IP (``Settings.action_limits``). A
    request passes only when both its user's and its address's buckets have room, and then
    takes from both."""

    def __init__(
        self, limits: dict[str, tuple[int, int]], windows: Windows = local_windows
    ) -> None:
        self.limits = limits
        self.buckets = {
            action: (
                windows(f"{action}:user", per_user) if per_user > 0 else None,
                windows(f"{action}:ip", per_ip) if per_ip > 0 else None,
            )
            for action, (per_user, per_ip) in limits.items()
        }
        self.lock = threading.Lock()
        # In-process buckets answer in microseconds; shared ones (Redis) over the network.
        self.in_process = windows is local_windows

    def check(self, action: str, *, user: str | None, ip: str | None) -> None:
        """Raise RateLimited when this user or this address is over the action's allowance."""
        by_user, by_ip = self.buckets.get(action, (None, None))
        now = time.monotonic()
        with self.lock:
            waits = []
            if by_user is not None and user is not None:
                waits.append((by_user.peek(f"u:{user}", now), "user"))
            if by_ip is not None and ip is not None:
                waits.append((by_ip.peek(f"i:{ip}", now), "ip"))
            wait, scope = max(waits, default=(0.0, "user"))
            if wait > 0:
                raise RateLimited(action, max(1, math.ceil(wait)), scope)
            if by_user is not None and user is not None:
                by_user.take(f"u:{user}", now)
            if by_ip is not None and ip is not None:
                by_ip.take(f"i:{ip}", now)


def client_ip(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy: uvicorn's
    --forwarded-allow-ips decides whether X-Forwarded-For counts)."""
    return request.client.host if request.client else "unknown"


def limited(action: str) -> Callable[..., Awaitable[Actor]]:
    """A route dependency: the authenticated actor, refused with 429 when over the action's
    allowance per user or per IP."""

    # ``async``: FastAPI would run a plain ``def`` dependency in its thread pool, a hand-off per
    # request; only the shared (Redis) buckets, which wait on the network, are sent there.
    async def check(request: Request, actor: CurrentActor) -> Actor:
        limiter = api_of(request).action_limiter
        try:
            if limiter.in_process:
                limiter.check(action, user=actor.user_id, ip=client_ip(request))
            else:
                await run_in_threadpool(
                    limiter.check, action, user=actor.user_id, ip=client_ip(request)
                )
        except RateLimited as refused:
            raise ApiError(
                "rate_limited", refused.detail, headers={"Retry-After": str(refused.retry_after)}
            ) from None
        return actor

    return check


DisputeLimit = Annotated[Actor, Depends(limited("disputes"))]
MessageLimit = Annotated[Actor, Depends(limited("messages"))]
UploadLimit = Annotated[Actor, Depends(limited("uploads"))]


def rate_limit_windows(app: App) -> Windows:
    """Shared through Redis when FAIRDEAL_REDIS_URL is set, else this process's own."""
    settings = app.settings
    if not settings.redis_url:
        return local_windows
    from fairdeal.adapters.ratelimit import RedisWindows

    shared = RedisWindows(settings.redis_url, settings.redis_prefix)
    return shared.window
