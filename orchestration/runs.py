"""Dagster runs launched from the command line: in this process, recorded in the hub's persistent
Dagster instance (``DAGSTER_HOME``, default ``data/dagster``), so that ``dagster dev`` on the same
instance (``make dagster``) shows them with their metadata and check results.

``backfill``: a dataset's partitions from one period to another, in one run (the raw assets'
backfill policy): a year of daily files is read together, not in 365 runs."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from territoire_hub.orchestration.definitions import defs
from territoire_hub.permissions import private_dir
from territoire_hub.registry import Cadence, Registry
from territoire_hub.settings import Settings

INSTANCE_YAML = Path(__file__).resolve().parent / "dagster.yaml"
JOB_OF_CADENCE = {Cadence.daily: "daily_job", Cadence.monthly: "monthly_job", Cadence.yearly: "yearly_job"}


class RunError(RuntimeError):
    """A run cannot be launched (an unknown dataset, a range outside its partitions)."""


@dataclass(frozen=True)
class Backfilled:
    run_id: str
    success: bool
    partitions: list[str]
    metadata: dict[str, object]
    failure: str | None


def hub_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance of ``settings.dagster_home`` (created with the hub's dagster.yaml)."""
    home = private_dir(settings.dagster_home)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def partition_key(cadence: Cadence, day: date) -> str:
    return {Cadence.daily: day.isoformat(), Cadence.monthly: day.replace(day=1).isoformat(),
            Cadence.yearly: str(day.year)}[cadence]


def backfill(settings: Settings, registry: Registry, dataset_key: str, first: date, last: date) -> Backfilled:
    """Ingest ``dataset_key``'s partitions from the one holding ``first`` to the one holding ``last``."""
    try:
        entry = registry.dataset(dataset_key)
    except KeyError as exc:
        raise RunError(exc.args[0]) from None
    cadence = entry.dataset.cadence
    if cadence is Cadence.snapshot:
        raise RunError(f"{dataset_key} is an inventory (cadence snapshot): it has no partitions; run `hub ingest`")
    if last < first:
        raise RunError(f"--from {first} is after --to {last}")
    loaded = dg.Definitions.merge(defs())
    key = dg.AssetKey(["raw", dataset_key])
    partitions = loaded.resolve_assets_def(key).partitions_def
    start, end = partition_key(cadence, first), partition_key(cadence, last)
    known = partitions.get_partition_keys()
    for bound in (start, end):
        if bound not in known:
            raise RunError(f"{dataset_key}: no partition {bound} (its partitions run from {known[0]} to {known[-1]})")
    keys = partitions.get_partition_keys_in_range(dg.PartitionKeyRange(start, end))
    result = loaded.resolve_job_def(JOB_OF_CADENCE[cadence]).execute_in_process(
        instance=hub_instance(settings), asset_selection=[key], raise_on_error=False,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end,
              "territoire-hub/command": "backfill"})
    materialized = result.get_asset_materialization_events()
    metadata = {k: v.value for k, v in materialized[0].materialization.metadata.items()} if materialized else {}
    failure = next((e.message for e in result.all_events if e.is_step_failure), None)
    return Backfilled(result.run_id, result.success, keys, metadata, failure)
