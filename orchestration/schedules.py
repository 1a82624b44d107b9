"""Jobs and schedules, one per cadence of the registry's datasets, and the hourly freshness check.

* ``daily_job`` (one Europe/Paris day: its raw deliveries and the incremental models — the series'
  current rows, the day-grain models) runs every
  morning at 07:00 for the day before — after the daily files' default deadline (06:00);
* ``monthly_job`` on the 6th at 07:00 for the month before, ``yearly_job`` on 1 April for the year
  before (the default ``due`` of those cadences);
* ``refresh_job`` (inventories and the unpartitioned models: marts, gate, publication) every day at
  08:00, after the daily run;
* ``freshness_job`` (the ``delivery_due`` check of every dataset) every hour.

A cadence no dataset has gets no job. Schedules start stopped, like the sensors: an operator turns
them on in the UI (or ``dagster schedule start``) once the partners' transports are configured.
"""

from __future__ import annotations

import dagster as dg

from territoire_hub.orchestration.partitions import TIMEZONE, HubPartitions

# cadence: job, description, the schedule's offset from the partition's end
PARTITIONED = {
    "daily": ("daily_job", "One Europe/Paris day: its raw deliveries, the series' current rows and the day-grain models.", {}),
    "monthly": ("monthly_job", "One month: the monthly deliveries.", {"day_of_month": 6}),
    "yearly": ("yearly_job", "One year: the yearly deliveries.", {}),
}


def jobs_and_schedules(assets: list[dg.AssetsDefinition], partitions: HubPartitions,
                       freshness: list[dg.AssetChecksDefinition]) -> tuple[list, list]:
    """The jobs of the graph (the freshness checks only in their own job) and their schedules."""
    without_freshness = dg.AssetSelection.checks(*freshness)
    partitioned = [a for a in assets if a.partitions_def is not None]
    jobs, schedules = [], []
    for cadence, definition in (("daily", partitions.daily), ("monthly", partitions.monthly),
                                ("yearly", partitions.yearly)):
        chosen = [a for a in partitioned if a.partitions_def == definition]
        if not chosen:
            continue
        name, description, when = PARTITIONED[cadence]
        # (partitioned like the assets it selects)
        job = dg.define_asset_job(name, selection=dg.AssetSelection.assets(*chosen) - without_freshness,
                                  description=description)
        jobs.append(job)
        if cadence == "yearly":
            schedules.append(_yearly_schedule(job))
        else:
            schedules.append(dg.build_schedule_from_partitioned_job(
                job, name=f"{cadence}_schedule", hour_of_day=7, minute_of_hour=0, **when,
                description=f"The {cadence} partition just ended, at 07:00 Europe/Paris."))
    refresh = dg.define_asset_job("refresh_job",
                                  selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*partitioned)
                                  - without_freshness,
                                  description="Inventories and every unpartitioned model (marts, gate, publication).")
    fresh = dg.define_asset_job("freshness_job", selection=dg.AssetSelection.checks(*freshness),
                                description="Is every partner's delivery on time? (the delivery_due checks)")
    jobs += [refresh, fresh]
    schedules += [
        dg.ScheduleDefinition(name="refresh_schedule", job=refresh, cron_schedule="0 8 * * *",
                              execution_timezone=TIMEZONE, description="Every day at 08:00 Europe/Paris."),
        dg.ScheduleDefinition(name="freshness_schedule", job=fresh, cron_schedule="15 * * * *",
                              execution_timezone=TIMEZONE, description="Every hour: late deliveries raise an alert."),
    ]
    return jobs, schedules


def _yearly_schedule(job) -> dg.ScheduleDefinition:
    """The year before, on 1 April at 07:00 (a yearly file is due within a quarter)."""
    @dg.schedule(name="yearly_schedule", job=job, cron_schedule="0 7 1 4 *", execution_timezone=TIMEZONE,
                 description="The year before, on 1 April at 07:00 Europe/Paris.")
    def _yearly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(partition_key=str(context.scheduled_execution_time.year - 1))

    return _yearly
