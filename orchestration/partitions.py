"""Partitions, declared once from the registry and shared: a dataset's cadence picks one.

All daily datasets share one daily definition (Europe/Paris days from the earliest start in
the registry), so a day's raw assets and day-grain models run together in ``daily_job``;
likewise monthly and yearly. A dataset's own start/end only bound what is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import dagster as dg

from territoire_hub.registry import Cadence, Dataset, Registry

YEARLY_CRON = "0 0 1 1 *"
TIMEZONE = "Europe/Paris"


@dataclass(frozen=True)
class HubPartitions:
    daily: dg.DailyPartitionsDefinition
    monthly: dg.MonthlyPartitionsDefinition
    yearly: dg.TimeWindowPartitionsDefinition

    @classmethod
    def from_registry(cls, registry: Registry) -> "HubPartitions":
        def start(cadence: Cadence) -> datetime:
            days = [e.dataset.start for e in registry.datasets.values() if e.dataset.cadence is cadence]
            days = days or [e.dataset.start for e in registry.datasets.values() if e.dataset.start]
            return datetime.combine(min(days), datetime.min.time())

        return cls(
            daily=dg.DailyPartitionsDefinition(start_date=start(Cadence.daily), timezone=TIMEZONE),
            monthly=dg.MonthlyPartitionsDefinition(start_date=start(Cadence.monthly), timezone=TIMEZONE),
            yearly=dg.TimeWindowPartitionsDefinition(cron_schedule=YEARLY_CRON, start=start(Cadence.yearly),
                                                     fmt="%Y", timezone=TIMEZONE),
        )

    def for_dataset(self, dataset: Dataset) -> dg.PartitionsDefinition | None:
        """Inventories (snapshots) are unpartitioned."""
        return {Cadence.daily: self.daily, Cadence.monthly: self.monthly,
                Cadence.yearly: self.yearly}.get(dataset.cadence)


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
