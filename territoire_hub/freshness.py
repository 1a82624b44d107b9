"""When a partner's delivery is late: the periods past their deadline that no delivery covers.

A period's file is due ``days_after`` days after the period's last day, at ``at`` Europe/Paris time (the
registry's ``due``, or the cadence's default), and late once ``grace_hours`` more have passed.
Deadlines are computed in Paris time, then compared as instants: on the October DST change,
"06:00 the next morning" is 05:00 UTC, not 04:00. Only the last few periods are looked at
(``WINDOW``): an older gap is history, filled by a backfill, not news for an alert. An inventory is
late when its latest delivery is older than ``max_age_days``; a dataset whose period is read from
its records (``period: content``) when nothing arrived for a period's length plus the delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from territoire_hub.registry import Cadence, Dataset

PARIS = ZoneInfo("Europe/Paris")
WINDOW = {Cadence.daily: 7, Cadence.monthly: 3, Cadence.yearly: 2}   # past-due periods looked at
PERIOD_DAYS = {Cadence.daily: 1, Cadence.monthly: 31, Cadence.yearly: 366}   # the longest period


@dataclass(frozen=True)
class Lateness:
    """What is overdue for one dataset: its missing periods (as file names carry them), each with
    its deadline, and the latest delivery received (None: never)."""

    partner: str
    dataset: str
    missing: tuple[tuple[str, datetime], ...]
    latest: datetime | None

    def message(self) -> str:
        newest = list(reversed(self.missing))   # the newest first: what an operator chases now
        periods = ", ".join(f"{period} (late since {deadline.astimezone(PARIS):%Y-%m-%d %H:%M} Europe/Paris)"
                            for period, deadline in newest[:5])
        more = f" and {len(newest) - 5} earlier" if len(newest) > 5 else ""
        last = f"latest delivery received {self.latest.astimezone(PARIS):%Y-%m-%d %H:%M}" if self.latest \
            else "nothing ever received"
        return f"{self.partner}/{self.dataset}: overdue {periods}{more}; {last}"


def next_period(cadence: Cadence, start: date) -> date:
    if cadence is Cadence.daily:
        return start + timedelta(days=1)
    if cadence is Cadence.monthly:
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return date(start.year + 1, 1, 1)


def period_start(cadence: Cadence, day: date) -> date:
    """The first day of the period ``day`` belongs to."""
    return {Cadence.daily: day, Cadence.monthly: day.replace(day=1), Cadence.yearly: date(day.year, 1, 1)}[cadence]


def deadline(dataset: Dataset, start: date) -> datetime:
    """When the file of the period starting ``start`` is late (an aware instant)."""
    rule = dataset.due_rule
    last_day = next_period(dataset.cadence, start) - timedelta(days=1)
    due_day = last_day + timedelta(days=rule.days_after)
    return datetime.combine(due_day, rule.at, tzinfo=PARIS) + timedelta(hours=rule.grace_hours)


def late_periods(dataset: Dataset, delivered: set[str], now: datetime) -> list[tuple[str, datetime]]:
    """The periods among the last ``WINDOW`` past their deadline at ``now`` that no delivery covers
    (``delivered``: periods as file names carry them, ``20241026``, ``202410``, ``2024``)."""
    cadence = dataset.cadence
    today = now.astimezone(PARIS).date()
    last = min(dataset.end, today) if dataset.end else today
    start = period_start(cadence, last)
    past_due: list[date] = []
    while len(past_due) < WINDOW[cadence] and start >= period_start(cadence, dataset.start):
        if deadline(dataset, start) <= now:
            past_due.append(start)
        start = period_start(cadence, start - timedelta(days=1))
    return [(p.strftime(cadence.period_format), deadline(dataset, p)) for p in reversed(past_due)
            if p.strftime(cadence.period_format) not in delivered]


def ended_periods(dataset: Dataset, now: datetime) -> list[str]:
    """The last ``WINDOW`` periods that have ended at ``now`` (Paris time), due or not yet: those a
    partner may have published (what an HTTP poll asks for), oldest first."""
    cadence = dataset.cadence
    today = now.astimezone(PARIS).date()
    start = period_start(cadence, min(dataset.end, today) if dataset.end else today)
    found: list[date] = []
    while len(found) < WINDOW[cadence] and start >= period_start(cadence, dataset.start):
        if next_period(cadence, start) <= today:
            found.append(start)
        start = period_start(cadence, start - timedelta(days=1))
    return [p.strftime(cadence.period_format) for p in reversed(found)]


def lateness(partner: str, dataset: Dataset, delivered: set[str], latest: datetime | None,
             now: datetime) -> Lateness | None:
    """What is overdue for ``dataset`` at ``now`` (None: nothing), from the periods delivered and the
    time the latest delivery was received."""
    rule = dataset.due_rule
    if dataset.cadence is Cadence.snapshot or dataset.period == "content":
        if dataset.cadence is Cadence.snapshot:
            allowed = timedelta(days=rule.max_age_days, hours=rule.grace_hours)
        else:
            allowed = timedelta(days=PERIOD_DAYS[dataset.cadence] + rule.days_after, hours=rule.grace_hours)
        due = (latest + allowed) if latest else None
        if due is not None and due > now:
            return None
        return Lateness(partner, dataset.id, (("snapshot" if dataset.cadence is Cadence.snapshot else "content",
                                              due or now),), latest)
    missing = late_periods(dataset, delivered, now)
    return Lateness(partner, dataset.id, tuple(missing), latest) if missing else None
