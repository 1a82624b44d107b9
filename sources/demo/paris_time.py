"""Europe/Paris local time on arrays of UTC instants (epoch seconds, int64).

zoneinfo is asked once per day for that day's UTC offsets (and once per hour only on the
two change days); every row is then converted with array arithmetic.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

from territoire_hub.sources.demo.writer import STR

PARIS = ZoneInfo("Europe/Paris")
DAY = 86400


def epoch(day: date) -> int:
    """00:00 UTC of ``day`` in epoch seconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


def local_midnight(day: date) -> int:
    """00:00 Europe/Paris of ``day`` in epoch seconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=PARIS).timestamp())


def day_grid(day: date, step: int) -> np.ndarray:
    """UTC instants from local midnight of ``day`` (inclusive) to the next one, every ``step`` s.

    A local day lasts 23, 24 or 25 hours, so this has 138/144/150 points at 10 minutes.
    """
    start, end = local_midnight(day), local_midnight(day + timedelta(days=1))
    return np.arange(start, end, step, dtype=np.int64)


def _transitions(first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Instants where the Paris offset changes between ``first`` and ``last``, and offsets after."""
    d0 = datetime.fromtimestamp(first, timezone.utc).date() - timedelta(days=1)
    d1 = datetime.fromtimestamp(last, timezone.utc).date() + timedelta(days=1)
    starts = [first]
    offsets = [_offset(first)]
    day = d0
    while day <= d1:  # one zoneinfo call per day, 24 more on a change day
        t0 = epoch(day)
        if _offset(t0) != _offset(t0 + DAY):
            for hour in range(1, 25):
                if _offset(t0 + hour * 3600) != _offset(t0 + (hour - 1) * 3600):
                    starts.append(t0 + hour * 3600)
                    offsets.append(_offset(t0 + hour * 3600))
                    break
        day += timedelta(days=1)
    return np.asarray(starts, dtype=np.int64), np.asarray(offsets, dtype=np.int64)


def _offset(t: int) -> int:
    return int(datetime.fromtimestamp(t, PARIS).utcoffset().total_seconds())


def paris_offset(utc: np.ndarray) -> np.ndarray:
    """UTC offset in seconds (3600 or 7200) of each instant."""
    utc = np.asarray(utc, dtype=np.int64)
    if utc.size == 0:
        return utc.copy()
    starts, offsets = _transitions(int(utc.min()), int(utc.max()))
    index = np.searchsorted(starts, utc, side="right") - 1
    return offsets[np.clip(index, 0, None)]


def local_wall(utc: np.ndarray) -> np.ndarray:
    """Local wall-clock epoch seconds (UTC instant + offset), for hour-of-day and day arithmetic."""
    utc = np.asarray(utc, dtype=np.int64)
    return utc + paris_offset(utc)


def iso_local(utc: np.ndarray, *, colon: bool = True) -> np.ndarray:
    """``2024-03-31T03:00:00+02:00`` (or ``+0200`` when ``colon`` is false) for each instant."""
    utc = np.asarray(utc, dtype=np.int64)
    offset = paris_offset(utc)
    stamp = np.datetime_as_string((utc + offset).astype("datetime64[s]"), unit="s").astype(STR)
    hours = offset // 3600
    suffix = np.where(hours == 2, "+02:00" if colon else "+0200", "+01:00" if colon else "+0100").astype(STR)
    return np.strings.add(stamp, suffix)


def iso_utc(utc: np.ndarray) -> np.ndarray:
    """``2024-03-31T01:00:00+0000``: the offset form without colon seen in the IRVE example."""
    stamp = np.datetime_as_string(np.asarray(utc, dtype=np.int64).astype("datetime64[s]"), unit="s").astype(STR)
    return np.strings.add(stamp, "+0000")


def naive_local(wall: np.ndarray, fmt: str = "%d/%m/%Y %H:%M") -> np.ndarray:
    """Local wall-clock seconds as ``dd/mm/yyyy HH:MM`` (no offset, as GMAO exports write them)."""
    assert fmt == "%d/%m/%Y %H:%M"
    minutes = np.asarray(wall, dtype=np.int64).astype("datetime64[s]").astype("datetime64[m]")
    text = np.datetime_as_string(minutes, unit="m").astype(STR)
    # "2024-03-31T14:05" -> "31/03/2024 14:05"
    y, m, d = np.strings.slice(text, 0, 4), np.strings.slice(text, 5, 7), np.strings.slice(text, 8, 10)
    hm = np.strings.slice(text, 11, 16)
    out = np.strings.add(np.strings.add(np.strings.add(d, "/"), np.strings.add(m, "/")), y)
    return np.strings.add(np.strings.add(out, " "), hm)


def dst_change_days(first: date, last: date) -> set[date]:
    """Local days between ``first`` and ``last`` whose length is not 24 hours."""
    out, day = set(), first
    while day <= last:
        if local_midnight(day + timedelta(days=1)) - local_midnight(day) != DAY:
            out.add(day)
        day += timedelta(days=1)
    return out
