"""`hub backfill` (issue 20.5): a month of daily partitions in one Dagster run, recorded in the hub's
persistent instance (what `make dagster` shows), reading exactly the periods of the range."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from territoire_hub.orchestration.runs import hub_instance
from territoire_hub.warehouse import connect
from tests.conftest import drop, hub
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
