"""`hub build` runs what is stale, nothing else (orchestration/staleness.py; issue 22): a build
with nothing new runs no Dagster run, one new traffic delivery rebuilds the traffic models, the
marts they feed, their gates and the snapshot — not the weather nor the energy ones — and a
registry change makes every model stale."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import dagster as dg
import pytest

from territoire_hub.orchestration.definitions import defs
from territoire_hub.orchestration.runs import Pipeline, hub_instance
from territoire_hub.orchestration.tags import COMMAND_TAG
from territoire_hub.settings import PACKAGE_SOURCES, Settings
from territoire_hub.warehouse import connect
from tests.conftest import copy_home, hub

TRAFFIC = "montpellier_metropole__comptages_routiers"


@pytest.fixture(scope="module")
def built(demo_home, tmp_path_factory) -> Settings:
    return copy_home(demo_home, tmp_path_factory.mktemp("staleness") / "home")


def _materialised(settings: Settings, run_ids: set[str]) -> set[str]:
    instance = hub_instance(settings)
    keys = set()
    for run_id in run_ids:
        for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            keys.add(event.dagster_event.asset_key.to_user_string())
    return keys


def _build_runs(settings: Settings) -> set[str]:
    return {r.run_id for r in hub_instance(settings).get_runs() if r.tags.get(COMMAND_TAG) == "build"}


def test_a_build_with_nothing_new_runs_nothing(built):
    before = _build_runs(built)
    done = hub(built.home, "build")
    assert "Up to date: no delivery processed" in done.stdout, done.stdout
    assert " nodes in " not in done.stdout            # no "dbt build: N nodes in S s" line
    assert _build_runs(built) == before


def test_a_new_traffic_delivery_rebuilds_the_traffic_branch_only(built):
    con = connect(built.warehouse, read_only=True)
    try:
        delivery, period = con.execute("SELECT delivery_id, period FROM landing.deliveries WHERE dataset_key = ? "
                                       "AND status = 'loaded' ORDER BY sequence DESC LIMIT 1", [TRAFFIC]).fetchone()
    finally:
        con.close()
    first = last = date(int(period[:4]), int(period[4:6]), int(period[6:8]))    # a day file: YYYYMMDD
    hub(built.home, "replay", delivery)        # processed again, outside Dagster: it still counts
    before = _build_runs(built)
    done = hub(built.home, "build")
    assert f"new deliveries of {TRAFFIC}" in done.stdout, done.stdout
    runs = _build_runs(built) - before
    # two runs: the traffic staging table with the day-grain model reading it (daily_job), then
    # the marts, their gates and the snapshot (refresh_job)
    assert len(runs) == 2
    rebuilt = _materialised(built, runs)
    assert {"staging/stg_comptage_routier_horaire", "intermediate/int_traffic__counter_daily",
            "marts/trafic_compteur", "marts/fiche_territoire", "publication/trafic_compteur",
            "shared/snapshot"} <= rebuilt
    assert not {k for k in rebuilt if "weather" in k or "meteo" in k or "energ" in k or "ore_" in k
                or "eclairage" in k or "lighting" in k or "recharge" in k or "irve" in k}, sorted(rebuilt)
    # the staging view's data tests read the days of that delivery only, as literal bounds
    # (macros/series_tests.sql); the delivery suites checked it whole at ingestion
    compiled = (built.data_dir / "dbt" / "runs" / "dbt_daily_models" / "compiled" / "territoire_hub" / "models" / "staging"
                / "traffic" / "_traffic.yml" / "not_null_stg_comptage_routier_horaire_counted_at.sql").read_text()
    assert f"counted_at >= cast('{first - timedelta(days=1)} 00:00:00+00' as timestamp with time zone)" in compiled, compiled
    assert f"counted_at < cast('{last + timedelta(days=1)} 00:00:00+00' as timestamp with time zone)" in compiled
    # and then it is up to date again
    assert "Up to date" in hub(built.home, "build").stdout


def test_a_registry_change_makes_every_model_stale(built, tmp_path, monkeypatch):
    registry = tmp_path / "registry"
    shutil.copytree(PACKAGE_SOURCES / "registry", registry)
    partner = registry / "enedis.yaml"
    partner.write_text(partner.read_text().replace("name: Enedis (", "name: Enedis SA ("))
    monkeypatch.setenv("HUB_HOME", str(built.home))
    monkeypatch.setenv("HUB_REGISTRY", str(registry))
    settings = Settings.from_env()
    pipeline = Pipeline(settings, settings.load_registry(), "build", defs())
    models = pipeline._op_keys("dbt_models") | pipeline._op_keys("dbt_daily_models")
    stale = pipeline._stale(models | pipeline._prefixed("publication"))
    assert set(stale) == models | pipeline._prefixed("publication")
    assert stale[dg.AssetKey(["marts", "trafic_compteur"])] == "its code changed"
    assert stale[dg.AssetKey(["publication", "trafic_compteur"])] == "downstream of marts/trafic_compteur"
