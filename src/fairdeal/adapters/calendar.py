"""Public holidays of the payment country, from the maintained ``holidays`` package, for the
refund schedule's business days."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

import holidays


@lru_cache(maxsize=64)
def _calendar(country: str) -> Any:
    try:
        return holidays.country_holidays(country)
    except NotImplementedError:
        return None  # a country the package does not know: weekends only


class HolidaysCalendar:
    def is_holiday(self, country: str, day: date) -> bool:
        calendar = _calendar(country.upper())
        return calendar is not None and day in calendar


def warm_up() -> None:
    """Load the package's calendars now. The first ``country_holidays`` call in a process
    imports every country module (about 0.7 s here, several seconds on a loaded machine):
    paid at start-up rather than by the first request that books a refund."""
    _calendar("DE")
