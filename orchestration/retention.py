"""Retention (``HUB_RETENTION_DAYS``, default 90): the quality history (expectations/retention.py)
and the Dagster runs with their event logs, older than that, are removed — every night by
``retention_job`` (``retention_schedule``, 03:30 Europe/Paris), or by ``hub prune``."""

from datetime import datetime, timedelta, timezone

import dagster as dg

from territoire_hub.expectations.retention import Pruned, prune_quality
from territoire_hub.orchestration.partitions import TIMEZONE
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.settings import Settings


def cutoff_for(days: int, now: datetime | None = None) -> datetime:
    return (now or datetime.now(timezone.utc)) - timedelta(days=days)


def prune_runs(instance: dg.DagsterInstance, cutoff: datetime, *, dry_run: bool = False) -> list[str]:
    """The finished runs created before ``cutoff`` deleted, with their event logs; returns their ids."""
    records = instance.get_run_records(filters=dg.RunsFilter(created_before=cutoff))
    old = [r.dagster_run.run_id for r in records if r.dagster_run.is_finished]
    if not dry_run:
        for run_id in old:
            instance.delete_run(run_id)
    return old


def prune(settings: Settings, instance: dg.DagsterInstance, days: int | None = None, *,
          dry_run: bool = False) -> tuple[Pruned, list[str]]:
    cutoff = cutoff_for(settings.retention_days if days is None else days)
    return prune_quality(settings, cutoff, dry_run=dry_run), prune_runs(instance, cutoff, dry_run=dry_run)


@dg.op(description="Remove the quality history and the Dagster runs older than HUB_RETENTION_DAYS.")
def prune_history(context: dg.OpExecutionContext, hub: HubResource) -> dg.Output:
    settings = hub.settings()
    pruned, runs = prune(settings, context.instance)
    context.log.info(f"pruned (older than {settings.retention_days} days): {pruned.counts()}, {len(runs)} runs")
    return dg.Output(None, metadata={**pruned.counts(), "runs": len(runs)})


@dg.job(description="Nightly retention: quality results, Data Docs, run reports, outbox, run logs, Dagster runs.")
def retention_job():
    prune_history()


retention_schedule = dg.ScheduleDefinition(name="retention_schedule", job=retention_job, cron_schedule="30 3 * * *",
                                           execution_timezone=TIMEZONE,
                                           description="Every night at 03:30 Europe/Paris.")
