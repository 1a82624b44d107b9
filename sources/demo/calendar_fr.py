"""French public holidays and day kinds (traffic and lighting behave like Sunday on holidays)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * l) // 433
    month = (h + l - 7 * m + 90) // 25
    return date(year, month, (h + l - 7 * m + 33 * month + 19) % 32)


@lru_cache(maxsize=None)
def holidays(year: int) -> frozenset[date]:
    e = easter(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    moving = [e + timedelta(days=1), e + timedelta(days=39), e + timedelta(days=50)]
    return frozenset([date(year, m, d) for m, d in fixed] + moving)


def day_kind(day: date) -> str:
    """``weekday``, ``saturday`` or ``sunday`` (public holidays count as Sunday)."""
    if day in holidays(day.year) or day.weekday() == 6:
        return "sunday"
    return "saturday" if day.weekday() == 5 else "weekday"
