"""Time helpers. The domain never reads the system clock: every method that needs "now" is
given it, and the services get it from the Clock port (``fairdeal.services.ports.Clock``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta


def utc(moment: datetime) -> datetime:
    """Normalise to an aware UTC datetime with whole microseconds (databases keep no more)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not accepted; pass an aware UTC time")
    return moment.astimezone(UTC)


def add_business_days(start: datetime, days: int, is_holiday: Callable[[date], bool]) -> datetime:
    """The moment ``days`` business days after ``start``: weekends and the payment country's
    public holidays do not count."""
    moment = start
    remaining = days
    while remaining > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5 and not is_holiday(moment.date()):
            remaining -= 1
    return moment


def no_holidays(_: date) -> bool:
    return False
