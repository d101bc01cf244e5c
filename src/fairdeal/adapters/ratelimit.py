"""Rate-limit windows shared by every API process through Redis (the ``limits`` library's
moving window: at most N hits in any 60 seconds), for FAIRDEAL_REDIS_URL. Each window has
the two methods of the in-process token bucket (``entrypoints/api/ratelimit.TokenBucket``):
``peek`` and ``take``, answering 0 when allowed or the seconds to wait.

Redis unreachable: the request is allowed (a rate limit is not worth an outage) and a warning
is logged at most once a minute."""

from __future__ import annotations

import logging
import threading
import time

from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger("fairdeal.ratelimit")


class RedisWindows:
    """One Redis connection pool and limiter per API process; ``window(name, n)`` makes a
    bucket-like window of ``n`` per minute whose keys start with ``prefix`` and ``name``."""

    def __init__(self, url: str, prefix: str, *, timeout: float = 0.5) -> None:
        self.storage = RedisStorage(
            url, key_prefix=prefix, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self.limiter = MovingWindowRateLimiter(self.storage)
        self._warned_at = 0.0
        self._lock = threading.Lock()

    def window(self, name: str, per_minute: int) -> SharedWindow:
        return SharedWindow(self, name, per_minute)

    def unavailable(self, error: Exception) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._warned_at < 60:
                return
            self._warned_at = now
        log.warning("rate limits are not enforced: Redis does not answer (%s)", error)


class SharedWindow:
    def __init__(self, windows: RedisWindows, name: str, per_minute: int) -> None:
        self.windows, self.name = windows, name
        self.item = RateLimitItemPerMinute(per_minute)

    def peek(self, who: str, now: float) -> float:
        try:
            if self.windows.limiter.test(self.item, self.name, who):
                return 0.0
            return self._wait(who)
        except Exception as error:
            self.windows.unavailable(error)
            return 0.0

    def take(self, who: str, now: float) -> float:
        try:
            if self.windows.limiter.hit(self.item, self.name, who):
                return 0.0
            return self._wait(who)
        except Exception as error:
            self.windows.unavailable(error)
            return 0.0

    def _wait(self, who: str) -> float:
        stats = self.windows.limiter.get_window_stats(self.item, self.name, who)
        return max(1.0, stats.reset_time - time.time())
