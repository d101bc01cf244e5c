"""Opaque ids that sort by creation time (a millisecond timestamp, then randomness), so that
cursor pagination by id is creation order and index inserts stay at the right-hand end."""

from __future__ import annotations

import secrets
import time


class TimeOrderedIds:
    def new(self, prefix: str) -> str:
        millis = time.time_ns() // 1_000_000
        return f"{prefix}_{millis:012x}{secrets.token_hex(6)}"
