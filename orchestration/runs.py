"""Dagster runs launched from the command line: in this process, recorded in the hub's persistent
Dagster instance (``DAGSTER_HOME``, default ``data/dagster``), so that ``dagster dev`` on the same
instance (``make dagster``) shows them with their metadata and check results.

``Pipeline``: the ``hub`` commands (ingest, build, publish, snapshot, the demo run) as selections of
the one asset graph of ``definitions.py``, launched as the graph's jobs. One command may take
several runs — a job is either unpartitioned or partitioned one way — in the order the asset graph
needs on a fresh warehouse:

* ingest: the inventories (``refresh_job``), then each cadence's raw assets over all their
  partitions (``yearly_job``, ``monthly_job``, ``daily_job``, tagged to read every period available);
* build: the unpartitioned models the incremental ones read, if stale (``refresh_job``), the
  incremental models — the series' current rows and the day-grain models — over the days holding
  data (``daily_job``), then the other models, the publication gate and the analysts' snapshot
  (``refresh_job``): two runs for new days of the series;
* publish: the portal assets; freshness: the ``delivery_due`` checks.

The runs of one command share a hub run id (tag ``territoire-hub/run``): the validations, quality
report and publications of a command are recorded under it.

``backfill``: a dataset's partitions from one period to another, in one run (the raw assets'
backfill policy): a year of daily files is read together, not in 365 runs."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from territoire_hub.expectations.docs_renderer import DocsRenderer, Rendering
from territoire_hub.expectations.results import latest_gate_run, new_run_id
from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.orchestration.ingestion import prepare_warehouse
from territoire_hub.orchestration.raw_definitions import raw_definitions
from territoire_hub.orchestration.staleness import NEVER_BUILT, last_processed, stale_assets
from territoire_hub.orchestration.tags import COMMAND_TAG, DOCS_TAG, PERIODS_TAG, RUN_TAG
from territoire_hub.permissions import private_dir
from territoire_hub.registry import Cadence, Registry
from territoire_hub.settings import Settings
from territoire_hub.sources.loading import RAW_SCHEMA
from territoire_hub.warehouse import connect

INSTANCE_YAML = Path(__file__).resolve().parent / "dagster.yaml"
JOB_OF_CADENCE = {Cadence.daily: "daily_job", Cadence.monthly: "monthly_job", Cadence.yearly: "yearly_job"}
# A build that rebuilds the models from the whole history (`--full-refresh`, or their first build)
# of a warehouse holding more raw rows than this runs dbt one model at a time. Two big series'
# staging tables rebuilt side by side share DuckDB's one memory limit, not the memory DuckDB does
# not count: on a three-year region (171 M raw rows, HUB_BUILD_MEMORY=1.25 GiB) the full build's
# largest process was 2.49 GiB on dbt's two threads, 2.04 GiB on one — and 344 s instead of 390 s,
# each big model already using every core. Smaller builds keep the profile's threads: their
# models are short and overlap their fixed costs (the test suite runs twice as long on one).
ONE_AT_A_TIME_ROWS = 20_000_000


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
    loaded = dg.Definitions.merge(raw_definitions())
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


# what the console of an in-process run shows: Dagster's own step events stay in the instance
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@dataclass
class Stage:
    """What the runs of one stage did: per asset its materialisation's metadata (the first of a
    range: they are the same), per check its result."""

    name: str
    run_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0
    materialized: dict[dg.AssetKey, dict] = field(default_factory=dict)
    checks: dict[dg.AssetCheckKey, tuple[bool, str | None, dict]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    stale: dict[dg.AssetKey, str] = field(default_factory=dict)   # a build's: what it had to run, and why
    docs: Rendering | None = None       # a build's Data Docs pages rendered after its runs

    @property
    def success(self) -> bool:
        return not self.failures

    def of_prefix(self, prefix: str) -> dict[dg.AssetKey, dict]:
        return {k: v for k, v in self.materialized.items() if k.path[0] == prefix}

    def delivery_totals(self) -> dict[str, int]:
        """The raw assets' counts (deliveries landed, loaded, quarantined, rows…), summed over the
        datasets: from their delivery_quality checks, which every ingestion run reports."""
        totals: dict[str, int] = {}
        for key, (_, _, meta) in self.checks.items():
            if key.name == "delivery_quality":
                for name, value in meta.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        totals[name] = totals.get(name, 0) + value
        return totals

    def transport_errors(self) -> list[str]:
        return [f"[{key.asset_key.path[-1]}] {message}" for key, (_, _, meta) in self.checks.items()
                if key.name == "delivery_quality" for message in meta.get("transport_error_messages") or []]

    def record(self, result: dg.ExecuteInProcessResult) -> None:
        self.run_ids.append(result.run_id)
        for event in result.get_asset_materialization_events():
            m = event.materialization
            self.materialized.setdefault(m.asset_key, {k: v.value for k, v in m.metadata.items()})
        for event in result.get_asset_check_evaluations():
            self.checks[event.asset_check_key] = (event.passed, event.description,
                                                  {k: v.value for k, v in event.metadata.items()})
        self.failures += [f"{e.step_key}: {_cause(e.step_failure_data.error) if e.step_failure_data.error else e.message}"
                          for e in result.all_events if e.is_step_failure]


def _cause(error) -> str:
    """The message of the error a step raised, not Dagster's wrapper around it ("Error occurred while
    executing op …")."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


class Pipeline:
    """The hub's commands as runs of the asset graph's jobs, in this process. ``definitions``: the
    whole map (``definitions.defs()``), or its raw half for a command that only ingests
    (``raw_definitions.raw_definitions()``: no dbt in the process)."""

    def __init__(self, settings: Settings, registry: Registry, command: str, definitions: dg.Definitions,
                 run_id: str | None = None) -> None:
        self.settings, self.registry, self.command = settings, registry, command
        self.run_id = run_id or new_run_id()
        self.definitions = dg.Definitions.merge(definitions)
        self.graph = self.definitions.resolve_asset_graph()
        self.instance = hub_instance(settings)
        self._ancestry: dict[dg.AssetKey, set[dg.AssetKey]] = {}

    # the graph's parts
    def _op_keys(self, op_name: str) -> set[dg.AssetKey]:
        return next((set(a.keys) for a in self.definitions.assets or []
                     if isinstance(a, dg.AssetsDefinition) and a.node_def.name == op_name), set())

    def _prefixed(self, prefix: str) -> set[dg.AssetKey]:
        return {k for k in self.graph.materializable_asset_keys if k.path[0] == prefix}

    def raw_keys(self, cadence: Cadence, dataset_keys: Iterable[str] | None = None) -> list[dg.AssetKey]:
        chosen = set(dataset_keys) if dataset_keys is not None else set(self.registry.datasets)
        return [dg.AssetKey(["raw", key]) for key, entry in self.registry.datasets.items()
                if key in chosen and entry.dataset.cadence is cadence]

    # one run
    def _execute(self, stage: Stage, job: str, keys: Iterable[dg.AssetKey] | None, *, run_id: str | None = None,
                 partitions: tuple[str, str] | None = None, config: dict | None = None, **tags: str) -> None:
        keys = sorted(keys, key=lambda k: k.to_user_string()) if keys is not None else None
        if keys is not None and not keys:
            return
        run_tags = {RUN_TAG: run_id or self.run_id, COMMAND_TAG: self.command, **tags}
        if partitions:
            run_tags |= {RANGE_START: partitions[0], RANGE_END: partitions[1]}
        started = time.monotonic()
        result = self.definitions.resolve_job_def(job).execute_in_process(
            instance=self.instance, asset_selection=keys, tags=run_tags, raise_on_error=False,
            run_config={**QUIET, **({"ops": config} if config else {})})
        stage.seconds += time.monotonic() - started
        stage.record(result)

    def _last_partition(self, key: dg.AssetKey) -> str | None:
        return self.graph.get(key).partitions_def.get_last_partition_key()

    # the stages
    def ingest(self, dataset_keys: Iterable[str] | None = None) -> Stage:
        """Collect, land, validate and load every period available of the chosen datasets."""
        stage = Stage("ingest")
        dataset_keys = list(dataset_keys) if dataset_keys is not None else None
        self._execute(stage, "refresh_job", self.raw_keys(Cadence.snapshot, dataset_keys))
        for cadence, job in JOB_OF_CADENCE.items():
            keys = self.raw_keys(cadence, dataset_keys)
            if keys and (last := self._last_partition(keys[0])):
                # every period available, under the latest partition; the assets record a
                # materialisation for each partition they loaded (a range run would record a
                # planned and a materialised event per partition of the range, whether delivered or not)
                self._execute(stage, job, keys, partitions=(last, last), **{PERIODS_TAG: "all"})
        return stage

    def build(self, full_refresh: bool = False) -> Stage:
        """dbt build, the publication gate of each mart and the analysts' snapshot, of what is stale
        (``staleness.py``: never built, code changed, new deliveries upstream, downstream of one of
        these); everything for a full refresh. Nothing stale, nothing runs.

        Unpartitioned and incremental (day-partitioned) models interleave (a day-grain model may
        read a table built from another one): each round runs the unpartitioned assets
        (``refresh_job``) none of whose ancestors waits among the incremental models, then the
        incremental models (``daily_job``, over the days holding data) none of whose ancestors
        waits among the unpartitioned ones. The gates' Data Docs pages are rendered once, after the
        runs (a gate launched otherwise renders its own). A big warehouse's history rebuilt whole is
        built one model at a time (``ONE_AT_A_TIME_ROWS``)."""
        stage = Stage("build")
        daily = self._op_keys("dbt_daily_models")
        every = self._op_keys("dbt_models") | daily | self._prefixed("publication") | self._prefixed("shared")
        stage.stale = dict.fromkeys(every, "full refresh") if full_refresh else self._stale(every)
        waiting = (every - daily) & stage.stale.keys()
        waiting_daily = daily & stage.stale.keys()
        span = self._days_to_build(daily, full_refresh) if waiting_daily else None
        refresh = self.dbt_config(stage.stale, full_refresh)
        # the gates leave their pages to render (DOCS_TAG), once for all after the runs, by a process
        # that imports Great Expectations while the runs go on (``docs_renderer.py``)
        renderer = DocsRenderer(QualityContext.for_settings(self.settings)) \
            if any(key.path[0] == "marts" for key in stage.stale) else None
        try:
            self._run_rounds(stage, waiting, waiting_daily, span, refresh)
            if renderer and any(key.name == "publication_gate" for key in stage.checks):
                stage.docs = renderer.render()
        finally:
            if renderer:
                renderer.close()
        return stage

    def _run_rounds(self, stage: Stage, waiting: set[dg.AssetKey], waiting_daily: set[dg.AssetKey],
                    span: tuple[str, str] | None, refresh: dict[str, bool]) -> None:
        while (waiting or waiting_daily) and stage.success:
            ready = {k for k in waiting if not self._ancestors(k) & waiting_daily}
            config = {"dbt_models": {"config": refresh}} if ready & self._op_keys("dbt_models") else None
            self._execute(stage, "refresh_job", ready, config=config, **{DOCS_TAG: "after-runs"})
            waiting -= ready
            ready_daily = {k for k in waiting_daily if not self._ancestors(k) & waiting}
            if ready_daily and span and stage.success:
                self._execute(stage, "daily_job", ready_daily, partitions=span,
                              config={"dbt_daily_models": {"config": {**refresh, "touched_days": True}}})
            waiting_daily -= ready_daily
            if not ready and not ready_daily:
                raise RunError(f"no order runs {sorted(k.to_user_string() for k in waiting | waiting_daily)}")

    def _stale(self, keys: set[dg.AssetKey]) -> dict[dg.AssetKey, str]:
        """The stale ones among ``keys``, after mirroring the registry as it is now (the models
        read it; a change of it changes every model's code version): written only when it changed
        (``prepare_warehouse``), a build otherwise opens with no write to checkpoint."""
        con = connect(self.settings.warehouse)
        try:
            prepare_warehouse(con, self.registry)
            processed = last_processed(con)
        finally:
            con.close()
        return stale_assets(self.instance, self.graph, keys, processed)

    def dbt_config(self, stale: Mapping[dg.AssetKey, str], full_refresh: bool) -> dict[str, bool]:
        """How the dbt steps of a build whose stale assets are ``stale`` run (``DbtBuildConfig``):
        one model at a time when they rebuild a big history whole (``ONE_AT_A_TIME_ROWS``)."""
        models = self._op_keys("dbt_models") | self._op_keys("dbt_daily_models")
        rebuilt_whole = full_refresh or any(stale.get(key) == NEVER_BUILT for key in models)
        return {"full_refresh": full_refresh,
                "one_at_a_time": rebuilt_whole and self._raw_rows() > ONE_AT_A_TIME_ROWS}

    def _raw_rows(self) -> int:
        if not self.settings.warehouse.exists():
            return 0
        con = connect(self.settings.warehouse, read_only=True)
        try:
            return con.execute("SELECT coalesce(sum(estimated_size), 0) FROM duckdb_tables() "
                               "WHERE schema_name = ?", [RAW_SCHEMA]).fetchone()[0]
        finally:
            con.close()

    def _ancestors(self, key: dg.AssetKey) -> set[dg.AssetKey]:
        if key not in self._ancestry:
            parents = self.graph.get(key).parent_keys
            self._ancestry[key] = set(parents).union(*(self._ancestors(p) for p in parents))
        return self._ancestry[key]

    def snapshot(self) -> Stage:
        """The analysts' snapshot alone, from the marts approved by the latest gate."""
        stage = Stage("snapshot")
        self._execute(stage, "refresh_job", self._prefixed("shared"), run_id=self._gate_run())
        return stage

    def publish(self, run_id: str | None = None) -> Stage:
        """The approved indicators to the portal, under the run that approved them."""
        stage = Stage("publish")
        self._execute(stage, "refresh_job", self._prefixed("portal"), run_id=run_id or self._gate_run())
        return stage

    def freshness(self) -> Stage:
        """The delivery_due check of every partner dataset."""
        stage = Stage("freshness")
        self._execute(stage, "freshness_job", None)
        return stage

    def _gate_run(self) -> str:
        con = connect(self.settings.warehouse, read_only=True)
        try:
            run_id = latest_gate_run(con)
        finally:
            con.close()
        if run_id is None:
            raise RunError("no mart has been through the quality gate yet: run `hub build`")
        return run_id

    def _days_to_build(self, daily: set[dg.AssetKey], full_refresh: bool) -> tuple[str, str] | None:
        """The daily partitions the day-grain models' run records: from the first to the last day of
        the partitions of their raw inputs materialised since the models last were (every one for a
        full refresh); the latest day when none (the models still run: they rebuild what new
        inventories touched, and are created on a fresh warehouse)."""
        storage = self.instance.event_log_storage
        materialised = dg.DagsterEventType.ASSET_MATERIALIZATION
        model = min(daily, key=lambda k: k.to_user_string())
        days = self.graph.get(model).partitions_def
        built = {} if full_refresh else storage.get_latest_storage_id_by_partition(model, materialised)
        inputs = [k for k in set().union(*(self._ancestors(d) for d in daily))
                  if k.path[0] == "raw" and self.graph.get(k).partitions_def is not None]
        first = last = None
        for key in inputs:
            definition = self.graph.get(key).partitions_def
            for partition, storage_id in storage.get_latest_storage_id_by_partition(key, materialised).items():
                if definition != days and storage_id <= max(built.values(), default=0):
                    continue
                if definition == days and storage_id <= built.get(partition, 0):
                    continue
                window = definition.time_window_for_partition_key(partition)
                first = min(first or window.start, window.start)
                last = max(last or window.end, window.end)
        known = days.get_partition_keys()
        if not known:
            return None
        if first is None:
            return known[-1], known[-1]
        chosen = [k for k in known if first <= days.time_window_for_partition_key(k).start < last]
        return (chosen[0], chosen[-1]) if chosen else (known[-1], known[-1])


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in this process's environment for the duration (the runs' resources read their
    settings from it: the demo partners' URLs and one-run token), then the previous values back.
    Never on a command line nor in a run's config (kept in the instance)."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
