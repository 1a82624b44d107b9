"""Partitions, declared once: a dataset's cadence decides its partitioning."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from territoire_hub.sources.registry import Cadence, Dataset

YEARLY_CRON = "0 0 1 1 *"


def _exclusive_end(dataset: Dataset) -> datetime | None:
    """Dagster's end date is exclusive; the registry's is the last day included."""
    if dataset.end is None:
        return None
    last = dataset.end
    if dataset.cadence is Cadence.daily:
        nxt = last + timedelta(days=1)
    elif dataset.cadence is Cadence.monthly:
        nxt = date(last.year + (last.month == 12), last.month % 12 + 1, 1)
    else:
        nxt = date(last.year + 1, 1, 1)
    return datetime.combine(nxt, datetime.min.time())


def partitions_for(dataset: Dataset) -> dg.PartitionsDefinition | None:
    """Daily, monthly or yearly time windows in Europe/Paris; inventories are unpartitioned."""
    if dataset.cadence is Cadence.snapshot:
        return None
    start = datetime.combine(dataset.start, datetime.min.time())
    end = _exclusive_end(dataset)
    if dataset.cadence is Cadence.daily:
        return dg.DailyPartitionsDefinition(start_date=start, end_date=end, timezone="Europe/Paris")
    if dataset.cadence is Cadence.monthly:
        return dg.MonthlyPartitionsDefinition(start_date=start, end_date=end, timezone="Europe/Paris")
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=YEARLY_CRON, start=start, end=end, fmt="%Y", timezone="Europe/Paris"
    )


def period_of_partition(dataset: Dataset, partition_key: str) -> str:
    """Dagster partition key (``2024-03-31``) → the period a delivery file name carries."""
    digits = partition_key.replace("-", "")
    return {Cadence.daily: digits[:8], Cadence.monthly: digits[:6], Cadence.yearly: digits[:4]}[dataset.cadence]


def partition_of_period(dataset: Dataset, period: str) -> str:
    """The inverse: ``20240331`` → ``2024-03-31``; ``202403`` → ``2024-03-01``; ``2024`` → ``2024``."""
    if dataset.cadence is Cadence.daily:
        return f"{period[:4]}-{period[4:6]}-{period[6:8]}"
    if dataset.cadence is Cadence.monthly:
        return f"{period[:4]}-{period[4:6]}-01"
    return period[:4]
