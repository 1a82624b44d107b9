"""dbt models as Dagster assets (dagster-dbt), downstream of the raw assets.

Two ``@dbt_assets``, one per partitioning scheme: the incremental day-grain models are
partitioned by Europe/Paris day (the partition window reaches dbt as ``--vars min_date/max_date``),
every other model is unpartitioned. dbt sources ``formats.<format>`` are the views over the raw
assets of every dataset of that format.
"""

import hashlib
import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from contextlib import redirect_stdout
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from territoire_hub.orchestration.dbt import BUILD, warehouse_for_dbt
from territoire_hub.orchestration.progress import progress
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.permissions import private_dir
from territoire_hub.registry import Registry

# The incremental models, partitioned by Europe/Paris day: the day-grain intermediate models
# (rebuilt by day: macros/incremental_days.sql) and the big series' staging tables of current rows
# (kept by delivery: macros/current_series.sql), which the former read. One dbt step builds both:
# a build of new days is one Dagster run and one dbt invocation fewer (~5 s each), and the daily
# schedule's run refreshes the rows its day-grain models read.
DAY_GRAIN = "config.materialized:incremental"
WAREHOUSE_POOL = "duckdb_warehouse"  # one writer at a time on the DuckDB file


# A selection of models (a job, a build in rounds) runs the tests whose parents are selected or built
# before them: a test joining a model to one not built yet waits for the run that builds it.
# dbt writes no manifest.json nor run_results.json (~1 s a step, the manifest twice): the step's
# results are Dagster's events and its log file (_build); the parse state is still kept.
DAGSTER_BUILD = [*BUILD, "--indirect-selection", "buildable", "--no-write-json"]


class HubDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two costs per dbt step that the hub does not use (measured:
    ~5 s of each of a build's three dbt steps): ``dbt --version`` in a subprocess to learn the
    version (once per run: the resource is made anew for each) — it is the dbt-core installed
    beside this code; and a dbt adapter set up in this process, macros parsed, which serves only
    ``fetch_row_counts`` / ``fetch_column_metadata`` (not called: ``_build``)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


class DbtBuildConfig(dg.Config):
    """How a dbt step builds. ``full_refresh``: incremental models rebuilt from the whole history.
    ``touched_days`` (day-grain models, a range of partitions): rebuild only the days of the range
    that deliveries loaded since the last build touched (the models find them: macros/incremental_days.sql)
    instead of every day of the range — what `hub build` asks after an ingest. ``one_at_a_time``:
    dbt builds one node at a time instead of the profile's threads (``runs.py`` asks it when a big
    history is rebuilt whole)."""

    full_refresh: bool = False
    touched_days: bool = False
    one_at_a_time: bool = False


def _threads(config: DbtBuildConfig) -> list[str]:
    return ["--threads", "1"] if config.one_at_a_time else []


def shared_version(project_dir: Path, registry: Registry) -> str:
    """What every model's code depends on besides its own SQL: the project's macros and variables
    (``dbt_project.yml``) and the registry the models read (territory, partners, secrecy rules)."""
    digest = hashlib.sha256()
    for path in sorted([project_dir / "dbt_project.yml", *(project_dir / "macros").rglob("*.sql")]):
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    # the structure's logo is an absolute path and the portal's concern: a registry moved with its
    # hub home keeps the models' versions (not every model rebuilt as "its code changed")
    digest.update(registry.model_dump_json(exclude={"structure": {"logo"}}).encode())
    return digest.hexdigest()[:16]


class HubDbtTranslator(DagsterDbtTranslator):
    """Sources keep their schema as key prefix (``formats/<format>``: the view over the raw assets
    of that format); models are keyed ``<layer>/<model>`` and grouped by domain folder. A node's
    code version is dagster-dbt's (its SQL, a seed's checksum) with ``shared``, the version of what
    all of them depend on: a `hub build` rebuilds what changed (``staleness.py``)."""

    def __init__(self, shared: str = "") -> None:
        super().__init__()
        self.shared = shared

    def get_code_version(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        own = super().get_code_version(dbt_resource_props)
        return hashlib.sha256(f"{own}:{self.shared}".encode()).hexdigest()[:16] if own else None

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        fqn = dbt_resource_props["fqn"]
        return dg.AssetKey([fqn[1], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props["fqn"]
        if dbt_resource_props["resource_type"] == "source":
            return None
        layer = fqn[1]
        if layer == "staging" or len(fqn) < 4:
            return layer
        return fqn[2]


def warehouse_table_specs(project: DbtProject, registry: Registry) -> list[dg.AssetSpec]:
    """The dbt sources: one view per format (``formats/<format>``, downstream of the raw assets of
    every dataset of that format in the registry), and the tables the hub's ingestion writes
    (landing catalogue, COG reference, registry mirror), declared so the models' lineage and the
    dbt tests resolve them."""
    manifest = json.loads(project.manifest_path.read_text())
    specs = []
    for source in manifest["sources"].values():
        description = source.get("description") or source.get("source_description") or None
        if source["source_name"] == "formats":
            specs.append(dg.AssetSpec(
                key=["formats", source["name"]], group_name="formats", description=description, kinds={"duckdb"},
                deps=[dg.AssetKey(["raw", entry.key]) for entry in registry.of_format(source["name"])]))
        else:
            specs.append(dg.AssetSpec(key=[source["source_name"], source["name"]], group_name="warehouse",
                                      description=description, kinds={"duckdb"}))
    return specs


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, hub: HubResource, op: str, args: list[str]):
    """``dbt build`` of the selected models, streamed as Dagster events. dbt's target folder is the
    hub home's ``<data>/dbt/runs/<op>`` (its parse state reused by the next run); dbt's per-node
    output goes to ``<data>/logs/dbt/<time>-<op>.log`` (0600; pruned with the run logs), not to the
    console; a progress line every few seconds when not on a terminal."""
    settings = hub.settings()
    target = private_dir(settings.data_dir / "dbt" / "runs" / op)
    log = private_dir(settings.data_dir / "logs" / "dbt") / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{op}.log"
    context.log.info(f"dbt's log: {log}")
    if "--threads" in args:
        context.log.info("dbt builds one model at a time: a big history is rebuilt whole (runs.py, ONE_AT_A_TIME_ROWS)")
    with warehouse_for_dbt(settings), progress("dbt nodes") as tick, open(log, "a") as out, redirect_stdout(out):
        for event in dbt.cli([*DAGSTER_BUILD, *args], context=context, target_path=target).stream():
            tick()
            yield event


def dbt_model_assets(project: DbtProject, daily: dg.PartitionsDefinition,
                     registry: Registry) -> list[dg.AssetsDefinition]:
    translator = HubDbtTranslator(shared_version(Path(project.project_dir), registry))

    @dbt_assets(manifest=project.manifest_path, project=project, exclude=DAY_GRAIN,
                dagster_dbt_translator=translator, pool=WAREHOUSE_POOL, name="dbt_models")
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, hub: HubResource, config: DbtBuildConfig):
        yield from _build(context, dbt, hub, "dbt_models",
                          (["--full-refresh"] if config.full_refresh else []) + _threads(config))

    @dbt_assets(manifest=project.manifest_path, project=project, select=DAY_GRAIN, partitions_def=daily,
                dagster_dbt_translator=translator, pool=WAREHOUSE_POOL, name="dbt_daily_models",
                backfill_policy=dg.BackfillPolicy.single_run())   # a range of days is one dbt build
    def dbt_daily_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, hub: HubResource,
                         config: DbtBuildConfig):
        if config.full_refresh:
            args = ["--full-refresh"]
        elif config.touched_days:
            args = []         # no window: the models rebuild the days new deliveries touched
        else:
            window = context.partition_time_window
            last_day = window.end.date().toordinal() - 1  # the window's end is exclusive
            args = ["--vars", json.dumps({"min_date": window.start.date().isoformat(),
                                          "max_date": type(window.start.date()).fromordinal(last_day).isoformat()})]
        yield from _build(context, dbt, hub, "dbt_daily_models", args + _threads(config))

    return [dbt_models, dbt_daily_models]
