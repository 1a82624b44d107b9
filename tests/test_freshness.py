"""When a delivery is late: deadlines in Paris time (DST days included), the window of periods looked
at, inventories by age, datasets dated by their records."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from territoire_hub.freshness import PARIS, deadline, late_periods, lateness
from territoire_hub.registry import Dataset, Due


def dataset(cadence: str = "daily", **extra) -> Dataset:
    fields = {"id": "comptages", "format": "x", "transport": {"type": "inbox"}, "filename": r"c_(?P<period>\d+)\.csv",
              "cadence": cadence, "start": date(2024, 1, 1), "licence": "licence-ouverte-2.0",
              "sensitivity": "open", **extra}
    if cadence == "snapshot":
        fields.pop("start")
    return Dataset(**fields)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_a_daily_file_is_due_the_next_morning_in_paris_time_across_the_dst_change():
    daily = dataset()
    # 26 October 2024 (CEST): due 27 October 06:00 Paris — after the clocks went back: 05:00 UTC; +6 h
    assert deadline(daily, date(2024, 10, 26)) == utc(2024, 10, 27, 11, 0)
    # a summer day: 06:00 CEST is 04:00 UTC
    assert deadline(daily, date(2024, 6, 13)) == utc(2024, 6, 14, 10, 0)
    # 30 March 2025, the spring change: due 31 March 06:00 CEST
    assert deadline(daily, date(2025, 3, 30)) == utc(2025, 3, 31, 10, 0)
    delivered = {f"202410{d:02d}" for d in range(19, 26)}
    assert late_periods(daily, delivered, utc(2024, 10, 27, 10, 59)) == []
    assert late_periods(daily, delivered, utc(2024, 10, 27, 11, 0)) == [("20241026", utc(2024, 10, 27, 11, 0))]


def test_only_the_last_periods_are_looked_at_and_a_gap_among_them_is_named():
    daily = dataset()
    delivered = {f"202410{d:02d}" for d in range(1, 32)} - {"20241022"}
    late = late_periods(daily, delivered, utc(2024, 11, 5, 12, 0))
    # the window: the 7 days past due on 5 Nov at 12:00 UTC, 29 Oct … 4 Nov (late since 5 Nov 11:00 UTC)
    assert [p for p, _ in late] == ["20241101", "20241102", "20241103", "20241104"]
    assert "20241022" not in [p for p, _ in late]   # outside the window: history, not news


def test_monthly_and_yearly_deadlines_and_the_registry_s_own_due():
    monthly = dataset("monthly")
    assert deadline(monthly, date(2024, 12, 1)) == utc(2025, 1, 5, 11, 0)   # 5 January 06:00 CET, +6 h
    assert late_periods(monthly, {"202410", "202411"}, utc(2025, 1, 5, 11, 0)) == [("202412", utc(2025, 1, 5, 11, 0))]
    assert deadline(monthly, date(2024, 2, 1)) == utc(2024, 3, 5, 11, 0)    # a leap February ends on the 29th
    strict = dataset("monthly", due={"days_after": 1, "at": "09:30", "grace_hours": 0})
    assert deadline(strict, date(2024, 12, 1)) == utc(2025, 1, 1, 8, 30)
    yearly = dataset("yearly")
    # 31 December + 90 days = 31 March 2025 06:00 (CEST since the 30th: 04:00 UTC), + 7 days' grace
    assert deadline(yearly, date(2024, 1, 1)) == utc(2025, 4, 7, 4, 0)


def test_a_dataset_that_ended_is_only_due_until_its_end():
    ended = dataset(end=date(2024, 3, 31))
    delivered = {d.strftime("%Y%m%d") for d in (date(2024, 3, 25 + i) for i in range(7))}
    assert late_periods(ended, delivered, utc(2026, 1, 1)) == []


def test_a_long_gap_names_the_newest_periods_first():
    daily = dataset()
    late = lateness("montpellier-metropole", daily, set(), utc(2024, 10, 1), utc(2024, 11, 10, 12))
    assert len(late.missing) == 7
    assert late.message().startswith("montpellier-metropole/comptages: overdue 20241109 (late since 2024-11-10 12:00")
    assert late.message().endswith("20241105 (late since 2024-11-06 12:00 Europe/Paris) and 2 earlier; "
                                   "latest delivery received 2024-10-01 02:00")


def test_inventories_are_late_by_age_and_a_dataset_never_delivered_is_late():
    inventory = dataset("snapshot")
    received = utc(2024, 1, 10, 8)
    assert lateness("p", inventory, set(), received, utc(2025, 1, 9)) is None
    late = lateness("p", inventory, set(), received, utc(2025, 1, 12))
    assert late.missing[0][0] == "snapshot" and "latest delivery received 2024-01-10 09:00" in late.message()
    never = lateness("herault-energies", dataset(), set(), None, utc(2024, 1, 3, 12))
    assert never.message().startswith("herault-energies/comptages: overdue 20240102 (late since 2024-01-03 12:00 "
                                      "Europe/Paris), 20240101 (late since 2024-01-02 12:00 Europe/Paris);")
    assert "nothing ever received" in never.message()


def test_a_dataset_dated_by_its_records_is_late_when_nothing_arrives_for_a_period_and_its_delay():
    rolling = dataset("monthly", period="content")
    received = utc(2024, 10, 3)
    assert lateness("p", rolling, set(), received, utc(2024, 11, 8, 5)) is None      # 31 + 5 days + 6 h
    assert lateness("p", rolling, set(), received, utc(2024, 11, 8, 7)).missing[0][0] == "content"


def test_a_due_rule_must_fit_the_cadence():
    with pytest.raises(ValueError, match="inventory"):
        dataset("snapshot", due={"days_after": 1})
    with pytest.raises(ValueError, match="inventory"):
        dataset("daily", due={"max_age_days": 30})
    assert dataset("snapshot", due={"max_age_days": 30}).due_rule == Due(max_age_days=30)
    assert dataset().due_rule.at == time(6, 0) and PARIS.key == "Europe/Paris"
