"""Timestamps as API.md writes them: RFC 3339 in UTC with a ``Z`` (``2026-11-26T10:00:00Z``),
in event data and in the text of refusals as in every response."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC with a ``Z``; a fraction of a second only when it has one."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
