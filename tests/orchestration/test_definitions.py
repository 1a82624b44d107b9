"""Dagster: the definitions load and validate, raw assets materialise a partition, the inbox sensor asks for runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from territoire_hub.dbt_project import DBT_PROJECT_DIR
from territoire_hub.orchestration.dbt import dbt_executable
from territoire_hub.orchestration.dbt_assets import HubDbtCliResource
from territoire_hub.orchestration.definitions import defs
from territoire_hub.orchestration.raw_definitions import raw_definitions
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.orchestration.assets import raw_asset
from territoire_hub.orchestration.partitions import HubPartitions
from territoire_hub.orchestration.sensors import inbox_sensor
from tests.conftest import drop
from tests.sources.test_loading import TRAFFIC, traffic_file

ROOT = Path(__file__).resolve().parents[2]


def test_dagster_definitions_validate(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "HUB_HOME": str(tmp_path)}
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "territoire_hub.orchestration.definitions"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_the_raw_half_runs_the_same_assets_under_the_same_jobs_without_dbt(registry, tmp_path):
    """`hub ingest` loads raw_definitions: the whole map's raw assets (keys, partitions, checks) and
    its jobs by name, each selecting the raw assets the whole map's job of that name selects, and
    the process that loads it imports no dbt."""
    whole, half = dg.Definitions.merge(defs()), dg.Definitions.merge(raw_definitions())
    raw = {k for k in whole.resolve_asset_graph().materializable_asset_keys if k.path[0] == "raw"}
    assert half.resolve_asset_graph().materializable_asset_keys == raw
    for key in raw:
        assert half.resolve_assets_def(key).partitions_def == whole.resolve_assets_def(key).partitions_def
        assert half.resolve_assets_def(key).check_keys == whole.resolve_assets_def(key).check_keys
    for job in ("refresh_job", "daily_job", "monthly_job", "yearly_job"):
        selected = {k for k in whole.resolve_job_def(job).asset_layer.executable_asset_keys if k.path[0] == "raw"}
        assert half.resolve_job_def(job).asset_layer.executable_asset_keys == selected, job
    imported = subprocess.run(
        [sys.executable, "-c", "import sys; from territoire_hub.orchestration.raw_definitions import raw_definitions; "
         "raw_definitions(); print(sorted(m for m in sys.modules if m.split('.')[0] in ('dbt', 'dagster_dbt')))"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HUB_HOME": str(tmp_path)})
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "[]"


def test_one_asset_per_partner_dataset_partitioned_by_cadence(registry):
    loaded = dg.Definitions.merge(defs())
    graph = {spec.key: spec for spec in loaded.resolve_all_asset_specs()}
    raw = {k for k in graph if k.path[0] == "raw"}
    assert raw == {dg.AssetKey(["raw", key]) for key in registry.datasets}
    traffic = loaded.resolve_assets_def(dg.AssetKey(["raw", TRAFFIC]))
    assert isinstance(traffic.partitions_def, dg.DailyPartitionsDefinition)
    assert traffic.partitions_def.timezone == "Europe/Paris"
    weather = loaded.resolve_assets_def(dg.AssetKey(["raw", "meteo_france__observations_horaires"]))
    assert isinstance(weather.partitions_def, dg.MonthlyPartitionsDefinition)
    assert weather.partitions_def.get_first_partition_key() == "2024-01-01"
    assert loaded.resolve_assets_def(dg.AssetKey(["raw", "recharge_sud__irve_statique"])).partitions_def is None
    energy = loaded.resolve_assets_def(dg.AssetKey(["raw", "enedis__conso_annuelle_commune"]))
    assert energy.partitions_def.get_first_partition_key() == "2023"


def test_dbt_models_are_assets_downstream_of_the_raw_assets(registry):
    loaded = dg.Definitions.merge(defs())
    graph = {spec.key: spec for spec in loaded.resolve_all_asset_specs()}
    territory = graph[dg.AssetKey(["intermediate", "int_territory__communes"])]
    assert dg.AssetKey(["ref", "communes"]) in {d.asset_key for d in territory.deps}
    staging = [spec for key, spec in graph.items() if key.path[0] == "staging"]
    for spec in staging:  # every staging model reads the view of its format (one per format) …
        views = {d.asset_key for d in spec.deps if d.asset_key.path[0] == "formats"}
        assert spec.key.path[1] in {f"stg_{view.path[1]}" for view in views}, spec.key
        # (a register completed by its fiches, statuses read through their link table: two views)
        assert len(views) == 1 or spec.key.path[1] in {"stg_meteo_france_postes", "stg_irve_dynamique_qualicharge"}
        # … which follows the raw assets of every dataset of that format (lineage is connected)
        for view in views:
            assert {d.asset_key for d in graph[view].deps} == {
                dg.AssetKey(["raw", e.key]) for e in registry.of_format(view.path[1])}, view
    assert {j.name for j in loaded.resolve_all_job_defs()} >= {"daily_job", "refresh_job"}
    # every mart has its blocking publication gate and an approved copy downstream of it
    checks = {key for key in loaded.resolve_asset_graph().asset_check_keys if key.name == "publication_gate"}
    marts = {key for key in graph if key.path[0] == "marts"}
    assert {c.asset_key for c in checks} == marts
    for mart in marts:
        assert mart in {d.asset_key for d in graph[dg.AssetKey(["publication", mart.path[1]])].deps}
    # the analysts' snapshot follows every approved copy
    snapshot = graph[dg.AssetKey(["shared", "snapshot"])]
    assert {d.asset_key for d in snapshot.deps} == {dg.AssetKey(["publication", m.path[1]]) for m in marts}


def test_materialising_a_daily_partition_loads_only_that_day(settings, registry):
    drop(settings, "montpellier-metropole", "comptages_routiers_20240331.csv", traffic_file("2024-03-31"))
    drop(settings, "montpellier-metropole", "comptages_routiers_20240401.csv", traffic_file("2024-04-01"))
    hub = HubResource(home=str(settings.home))
    result = dg.materialize([raw_asset(registry.dataset(TRAFFIC), HubPartitions.from_registry(registry))], partition_key="2024-03-31", resources={"hub": hub})
    assert result.success
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["rows_loaded"].value == 23 and meta["deliveries_quarantined"].value == 0
    (check,) = result.get_asset_check_evaluations()      # the delivery suites' verdict, in the UI
    assert check.check_name == "delivery_quality" and check.passed
    # the other day stays in the drop zone for its own partition
    assert [p.name for p in (settings.inbox / "montpellier-metropole").iterdir()] == ["comptages_routiers_20240401.csv"]


def test_inbox_sensor_requests_the_partition_of_each_new_file(settings, registry):
    drop(settings, "montpellier-metropole", "comptages_routiers_20241027.csv", traffic_file("2024-10-27"))
    drop(settings, "montpellier-metropole", "compteurs_routiers_20240101.csv", "site_id\n1\n")
    drop(settings, "montpellier-metropole", "notes.txt", "hello")
    sensor = inbox_sensor(registry)
    context = dg.build_sensor_context(resources={"hub": HubResource(home=str(settings.home))})
    requests = list(sensor(context))
    got = sorted((r.asset_selection[0].path[-1], r.partition_key) for r in requests)
    assert got == [("montpellier_metropole__comptages_routiers", "2024-10-27"),
                   ("montpellier_metropole__compteurs_routiers", None)]
    assert all(r.run_key for r in requests)


def test_monthly_http_partition_fetches_that_month_with_conditional_get(settings, registry, monkeypatch):
    from datetime import date

    from territoire_hub.sources.demo import Scale, generate_demo
    from territoire_hub.sources.demo.server import PartnerServer

    generate_demo(settings.data_dir, registry, seed=3,
                  scale=Scale(start=date(2024, 2, 27), days=4, counters=1, lamp_sensors=1, stations=3,
                              charge_points=2, lamp_points=20))
    key = "meteo_france__observations_horaires"
    with PartnerServer(settings.data_dir / "remote") as server:
        monkeypatch.setenv("HUB_URL_METEO_FRANCE", f"{server.url}/meteo-france")
        hub = HubResource(home=str(settings.home))
        asset = raw_asset(registry.dataset(key), HubPartitions.from_registry(registry))
        first = dg.materialize([asset], partition_key="2024-03-01", resources={"hub": hub})
        again = dg.materialize([asset], partition_key="2024-03-01", resources={"hub": hub})
        requested = [(path, status) for _, path, status in server.requests]
    meta = first.get_asset_materialization_events()[0].materialization.metadata
    # March only (two départements), not February; the second run is answered 304
    assert sorted(requested) == sorted([
        ("/meteo-france/horaire/H_30_202403.csv.gz", 200), ("/meteo-france/horaire/H_34_202403.csv.gz", 200),
        ("/meteo-france/horaire/H_30_202403.csv.gz", 304), ("/meteo-france/horaire/H_34_202403.csv.gz", 304),
    ])
    assert meta["deliveries_loaded"].value == 2 and meta["rows_loaded"].value > 0
    assert again.get_asset_materialization_events()[0].materialization.metadata["deliveries_landed"].value == 0


def test_http_sensor_requests_each_partition_with_a_new_file_once(settings, registry, monkeypatch):
    from datetime import date, datetime, timezone

    from territoire_hub.settings import Settings
    from territoire_hub.sources.demo import Scale, generate_demo
    from territoire_hub.sources.demo.server import PartnerServer
    from territoire_hub.orchestration.sensors import http_requests, http_sensor

    generate_demo(settings.data_dir, registry, seed=3,
                  scale=Scale(start=date(2024, 2, 27), days=4, counters=1, lamp_sensors=1, stations=3,
                              charge_points=2, lamp_points=20))
    key = "meteo_france__observations_horaires"
    entry = registry.dataset(key)
    april = datetime(2024, 4, 10, 12, tzinfo=timezone.utc)   # January, February, March have ended
    with PartnerServer(settings.data_dir / "remote") as server:
        monkeypatch.setenv("HUB_URL_METEO_FRANCE", f"{server.url}/meteo-france")
        polled = Settings.from_env({**os.environ, "HUB_HOME": str(settings.home)})
        first = http_requests(polled, [entry], april)
        assert sorted(r.partition_key for r in first) == ["2024-02-01", "2024-03-01"]   # January: not published
        assert all(r.asset_selection == [dg.AssetKey(["raw", key])] and r.run_key for r in first)
        # March is fetched and landed (its ETags recorded): the next poll asks with If-None-Match
        asset = raw_asset(entry, HubPartitions.from_registry(registry))
        dg.materialize([asset], partition_key="2024-03-01", resources={"hub": HubResource(home=str(settings.home))})
        second = http_requests(polled, [entry], april)
        statuses = [(path.rsplit("/", 1)[-1], status) for _, path, status in server.requests]
    assert [r.partition_key for r in second] == ["2024-02-01"]
    assert [r.run_key for r in second] == [r.run_key for r in first if r.partition_key == "2024-02-01"]
    assert statuses[-3:].count(("H_30_202403.csv.gz", 304)) + statuses[-3:].count(("H_34_202403.csv.gz", 304)) == 2
    assert ("H_30_202401.csv.gz", 404) in statuses
    # the sensor itself, today: nothing recent on a server (or no URL set): it says so
    result = http_sensor(registry)(dg.build_sensor_context(resources={"hub": HubResource(home=str(settings.home))}))
    assert isinstance(result, dg.SkipReason)


def test_new_raw_data_requests_the_refresh_once_and_the_refresh_does_not_request_itself(registry):
    from territoire_hub.orchestration.sensors import build_sensor

    instance = dg.DagsterInstance.ephemeral()
    sensor = build_sensor(registry)
    keys = [dg.AssetKey(["raw", key]) for key in registry.datasets]

    def evaluate(cursor):
        context = dg.build_multi_asset_sensor_context(monitored_assets=keys, instance=instance, cursor=cursor,
                                                      definitions=dg.Definitions(sensors=[sensor], jobs=[refresh_job]))
        return sensor(context), context.cursor

    @dg.op
    def inventory_read_again(context):
        yield dg.AssetMaterialization(asset_key=["raw", "recharge_sud__irve_statique"])
        yield dg.Output(None)

    @dg.job(name="refresh_job")
    def refresh_job():
        inventory_read_again()

    nothing, cursor = evaluate(None)
    assert isinstance(nothing, dg.SkipReason)
    # a day of traffic loaded (by the daily job, say): one refresh requested, tagged with what is new
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=["raw", TRAFFIC], partition="2024-10-27"))
    requested, cursor = evaluate(cursor)
    assert isinstance(requested, dg.RunRequest) and requested.tags["territoire-hub/new-raw"] == TRAFFIC
    again, cursor = evaluate(cursor)
    assert isinstance(again, dg.SkipReason)                   # nothing new since: no second request
    # the refresh re-reads the inventories (a materialisation of a raw asset): no loop
    refresh_job.execute_in_process(instance=instance)
    after_refresh, cursor = evaluate(cursor)
    assert isinstance(after_refresh, dg.SkipReason)


def test_the_dbt_resource_knows_the_version_dbt_prints_without_asking_it():
    """Each dbt step used to run ``dbt --version`` (seconds): the resource reads the installed
    dbt-core instead, which must be what the executable the steps run reports."""
    resource = HubDbtCliResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable())
    printed = subprocess.run([dbt_executable(), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"installed: {resource._cli_version}" in printed and resource._cli_version.major == 1
