"""`hub backfill` (issue 20.5): a month of daily partitions in one Dagster run, recorded in the hub's
persistent instance (what `make dagster` shows), reading exactly the periods of the range. A build
that rebuilds a big history whole runs dbt one model at a time (issue 22: its memory)."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from territoire_hub.orchestration import runs
from territoire_hub.orchestration.definitions import defs
from territoire_hub.orchestration.runs import Pipeline, Stage, hub_instance
from territoire_hub.orchestration.staleness import NEVER_BUILT
from territoire_hub.warehouse import connect
from tests.conftest import copy_home, drop, hub
from tests.sources.test_loading import TRAFFIC, traffic_file


def test_a_month_of_daily_partitions_backfills_in_one_run(settings):
    november = [date(2024, 11, 1) + timedelta(days=i) for i in range(30)]
    for day in [*november, date(2024, 12, 1)]:
        drop(settings, "montpellier-metropole", f"comptages_routiers_{day:%Y%m%d}.csv", traffic_file(day.isoformat()))
    done = hub(settings.home, "backfill", "--dataset", TRAFFIC, "--from", "2024-11-01", "--to", "2024-11-30")
    assert "Backfill of montpellier_metropole__comptages_routiers: 30 partitions (2024-11-01 … 2024-11-30)" in done.stdout
    assert "30 deliveries landed, 30 loaded" in done.stdout

    con = connect(settings.warehouse, read_only=True)
    try:
        periods = [p for (p,) in con.execute("SELECT period FROM landing.deliveries WHERE status = 'loaded' "
                                             "ORDER BY period").fetchall()]
    finally:
        con.close()
    assert periods == [f"{day:%Y%m%d}" for day in november]
    # the range is honoured: December's file waits for its own partition
    assert [p.name for p in (settings.inbox / "montpellier-metropole").iterdir()] == ["comptages_routiers_20241201.csv"]

    # one run in the hub's Dagster instance (data/dagster), every partition of the month materialised
    instance = hub_instance(settings)
    assert settings.dagster_home == settings.data_dir / "dagster"
    runs = instance.get_runs()
    assert len(runs) == 1 and runs[0].tags["territoire-hub/command"] == "backfill"
    key = dg.AssetKey(["raw", TRAFFIC])
    assert instance.get_materialized_partitions(key) == {day.isoformat() for day in november}


def test_a_backfill_outside_the_partitions_or_of_an_inventory_is_a_clear_error(settings):
    done = hub(settings.home, "backfill", "--dataset", TRAFFIC, "--from", "2023-12-01", "--to", "2023-12-31",
               check=False)
    assert done.returncode == 1 and "no partition 2023-12-01 (its partitions run from 2024-01-01" in done.stderr
    done = hub(settings.home, "backfill", "--dataset", "recharge_sud__irve_statique", "--from", "2024-01-01",
               "--to", "2024-01-31", check=False)
    assert done.returncode == 1 and "is an inventory (cadence snapshot): it has no partitions" in done.stderr
    done = hub(settings.home, "backfill", "--dataset", "nobody__nothing", "--from", "2024", "--to", "2024",
               check=False)
    assert done.returncode == 1 and "unknown dataset 'nobody__nothing'" in done.stderr


def test_a_big_history_rebuilt_whole_is_built_one_model_at_a_time(demo_home, tmp_path, monkeypatch):
    settings = copy_home(demo_home, tmp_path / "home")
    monkeypatch.setenv("HUB_HOME", str(settings.home))      # the dbt steps' resource reads it
    pipeline = Pipeline(settings, settings.load_registry(), "build", defs())
    con = connect(settings.warehouse, read_only=True)
    try:
        raw_rows = con.execute("SELECT sum(estimated_size) FROM duckdb_tables() WHERE schema_name = 'raw'").fetchone()[0]
    finally:
        con.close()
    model = dg.AssetKey(["intermediate", "int_calendar__days"])
    new = {model: "new deliveries of montpellier_metropole__comptages_routiers"}
    # the demo's history is small: a full refresh keeps dbt's threads
    assert pipeline.dbt_config({}, full_refresh=True) == {"full_refresh": True, "one_at_a_time": False}
    monkeypatch.setattr(runs, "ONE_AT_A_TIME_ROWS", raw_rows - 1)     # now it is a big one
    assert pipeline.dbt_config({}, full_refresh=True)["one_at_a_time"]
    assert pipeline.dbt_config({model: NEVER_BUILT}, full_refresh=False)["one_at_a_time"]   # a first build
    assert not pipeline.dbt_config(new, full_refresh=False)["one_at_a_time"]     # new days: incremental
    monkeypatch.setattr(runs, "ONE_AT_A_TIME_ROWS", raw_rows)
    assert not pipeline.dbt_config({}, full_refresh=True)["one_at_a_time"]

    # and dbt is told so
    logs = settings.data_dir / "logs" / "dbt"
    for one_at_a_time, threads in [(True, 1), (False, 2)]:
        before = set(logs.glob("*-dbt_models.log"))
        stage = Stage("build")
        pipeline._execute(stage, "refresh_job", {model},
                          config={"dbt_models": {"config": {"one_at_a_time": one_at_a_time}}})
        assert stage.success, stage.failures
        (log,) = set(logs.glob("*-dbt_models.log")) - before
        assert f"Concurrency: {threads} threads" in log.read_text()
