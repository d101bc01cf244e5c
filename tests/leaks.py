"""Where a leaked psycopg connection was opened.

Stop 10 saw psycopg's "connection ... was deleted while still open" ResourceWarning once in
three full runs, at the setup of an unrelated test (the garbage collector ran there, long
after the connection was lost), and could not make it happen again. pyproject.toml shows
that warning instead of failing on it; this makes it say where the connection came from: every
psycopg connection the tests open remembers the stack that opened it, and the warning carries
that stack. Tests only: the application is not patched."""

from __future__ import annotations

import traceback
import warnings
from typing import Any

import psycopg


def name_the_opener_of_leaked_connections() -> None:
    connection = psycopg.Connection
    if getattr(connection, "_fairdeal_opened_at_recorded", False):
        return
    original_init = connection.__init__
    original_del = connection.__del__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._fairdeal_opened_at = "".join(traceback.format_stack(limit=30)[:-1])

    def delete(self: Any) -> None:
        opened_at = getattr(self, "_fairdeal_opened_at", "(not recorded)")

        def warn(message: str, category: type[Warning]) -> None:
            # psycopg's own message first: pyproject's filter matches its start.
            warnings.warn(f"{message}\nIt was opened at:\n{opened_at}", category, stacklevel=2)

        original_del(self, warn)

    connection.__init__ = init  # type: ignore[method-assign]
    connection.__del__ = delete  # type: ignore[method-assign]
    connection._fairdeal_opened_at_recorded = True  # type: ignore[attr-defined]
