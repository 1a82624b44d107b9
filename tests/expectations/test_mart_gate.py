"""The publication gate: a mart failing a critical expectation is not publishable, keeps its last
approved copy, and the next run after a corrected delivery clears the gate — through the CLI's path
and through Dagster (a blocking asset check that stops the downstream publication asset)."""

from __future__ import annotations

import pytest

from territoire_hub.expectations.gate import GateClosed, approve_mart, gate_marts, is_publishable
from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.lineage import mart_datasets
from territoire_hub.settings import Settings
from territoire_hub.warehouse import connect
from tests.dbt_harness import build, deliver, ingest, query
from tests.dbt_project.test_energy import ENERGY, ore

MART = "energie_territoire_annee"
AIMARGUES = "30006"          # 5,705 inhabitants in the COG 2026


def cells(residential_mwh: str) -> str:
    return ore([
        f"Enedis;Electricité;2024;30006;RES;RESIDENTIEL;;1000;{residential_mwh};5.0;5705;0.41",
        "Enedis;Electricité;2024;30020;RES;RESIDENTIEL;;400;1800;4.5;2253;0.35",
    ])


def residential(settings: Settings, schema: str) -> float:
    return query(settings, f"SELECT conso_mwh FROM {schema}.{MART} WHERE niveau = 'commune' "
                           f"AND code_territoire = ? AND secteur = 'RESIDENTIEL' AND annee = 2024", [AIMARGUES])[0][0]


def run_gate(settings: Settings, run_id: str):
    con = connect(settings.warehouse)
    try:
        return {v.mart: v for v in gate_marts(con, QualityContext.for_settings(settings), run_id,
                                              mart_datasets(settings, settings.load_registry()))}
    finally:
        con.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory, registry):
    settings = Settings.from_env({"HUB_HOME": str(tmp_path_factory.mktemp("gate"))})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_INDIRECT_SELECTION", "cautious")
        # 1. a plausible delivery: published
        deliver(settings, "enedis", "conso_elec_commune_2024.csv", cells("25000"))
        ingest(settings, registry, [ENERGY])
        build(settings, f"+{MART}")
        run_gate(settings, "run-0")
        yield settings, registry, mp


def test_a_mart_failing_a_critical_expectation_is_not_published_until_corrected(hub):
    settings, registry, _ = hub
    first = run_gate(settings, "run-1")[MART]
    assert first.publishable and first.critical == [], first.critical
    assert residential(settings, "publication") == 25000

    # 2. a "rectified" delivery in kWh instead of MWh: each value passes the delivery's own
    #    checks (a consumption ≥ 0), but 4,382 MWh per inhabitant is not a territory
    deliver(settings, "enedis", "conso_elec_commune_2024_rectificatif.csv", cells("25000000"))
    (report,) = ingest(settings, registry, [ENERGY])
    assert report.loaded == 1 and report.quarantined == []
    build(settings, f"+{MART}")
    second = run_gate(settings, "run-2")[MART]
    assert not second.publishable
    assert any(c.startswith("implausible_value: conso_mwh_par_habitant = 4382") for c in second.critical), second.critical
    con = connect(settings.warehouse)
    try:
        assert not is_publishable(con, MART)
        with pytest.raises(GateClosed):
            approve_mart(con, MART)
    finally:
        con.close()
    # the bad figure is in the mart, but the published copy is still the last approved one
    assert residential(settings, "marts") == 25000000
    assert residential(settings, "publication") == 25000

    # 3. the partner corrects: the next run clears the gate and publishes the corrected figure
    deliver(settings, "enedis", "conso_elec_commune_2024_rectificatif2.csv", cells("25100"))
    ingest(settings, registry, [ENERGY])
    build(settings, f"+{MART}")
    third = run_gate(settings, "run-3")[MART]
    assert third.publishable and third.critical == []
    assert residential(settings, "publication") == 25100
    status = query(settings, "SELECT mart, publishable FROM quality.mart_status WHERE mart = ?", [MART])
    assert status == [(MART, True)]


def test_dagster_blocking_check_stops_the_publication_asset(hub):
    import dagster as dg

    from territoire_hub.orchestration.dbt import dbt_client_executable, dbt_project
    from territoire_hub.orchestration.dbt_assets import HubDbtCliResource, dbt_model_assets
    from territoire_hub.orchestration.partitions import HubPartitions
    from territoire_hub.orchestration.quality import publication_gate
    from territoire_hub.orchestration.resources import HubResource

    settings, registry, _ = hub
    project = dbt_project(settings)
    models, _daily = dbt_model_assets(project, HubPartitions.from_registry(registry).daily, registry)
    checks, publications = publication_gate({MART})
    resources = {"hub": HubResource(home=str(settings.home)),
                 "dbt": HubDbtCliResource(project_dir=project, dbt_executable=dbt_client_executable())}
    # the mart with the energy models it is built from (a mart rebuilt on stale parents would not
    # reconcile with staging: that is one of the gate's checks); the territory and weather models
    # it also reads have no new data here
    energy = [key for key in models.keys if key.path[-1].startswith(("stg_ore_", "int_energy__", MART))]
    assert len(energy) >= 4
    selection = dg.AssetSelection.assets(*energy) | dg.AssetSelection.assets(["publication", MART])

    def run():
        result = dg.materialize([models, *checks, *publications], selection=selection, resources=resources,
                                raise_on_error=False)
        gate = [e for e in result.get_asset_check_evaluations() if e.check_name == "publication_gate"]
        return result, gate

    before = residential(settings, "publication")
    # a bad delivery again: the check fails with ERROR severity, publication/<mart> does not run
    # (other bytes than the earlier bad delivery: the same bytes twice are one delivery)
    deliver(settings, "enedis", "conso_elec_commune_2024_rectificatif3.csv", cells("26000000"))
    ingest(settings, registry, [ENERGY])
    result, (evaluation,) = run()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", MART]) in materialized
    assert dg.AssetKey(["publication", MART]) not in materialized
    assert residential(settings, "publication") == before

    # corrected: the check passes and the publication asset copies the mart
    deliver(settings, "enedis", "conso_elec_commune_2024_rectificatif4.csv", cells("25200"))
    ingest(settings, registry, [ENERGY])
    result, (evaluation,) = run()
    assert evaluation.passed
    assert dg.AssetKey(["publication", MART]) in {e.asset_key for e in result.get_asset_materialization_events()}
    assert residential(settings, "publication") == 25200
