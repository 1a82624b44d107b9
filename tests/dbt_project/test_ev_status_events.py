"""int_ev__status_events is kept incrementally across its two layouts (macros/current_series.sql,
changed_ranges_across): after every wave of deliveries, an incremental build holds what a full
refresh computes, row for row, and recomputed only the instants that changed.

The waves: the national layout and the QualiCharge export report the same point at the same
instant (the latest delivery wins), a new day, a correction withdrawing an event, a new
correspondence moving QualiCharge's point to another roaming id (everything recomputed), the
QualiCharge partner leaving the registry.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from territoire_hub.orchestration.dbt import run_dbt
from territoire_hub.orchestration.ingestion import prepare_warehouse
from territoire_hub.settings import Settings
from territoire_hub.sources.demo.irve import DYNAMIC_HEADER
from territoire_hub.warehouse import connect
from tests import dbt_harness as harness
from tests.dbt_harness import deliver, ingest, query
from tests.dbt_project import partners

PACKAGED = Settings.from_env({}).registry_dir
NATIONAL = "recharge_sud__irve_dynamique"
QUALICHARGE, CORRESPONDENCE = "electra__statuts", "electra__lien_pdc"
MODELS = ["stg_irve_dynamique", "stg_irve_dynamique_qualicharge", "int_ev__status_events"]
QUALICHARGE_HEADER = (",etat_prise_type_2,occupation_pdc,etat_prise_type_combo_ccs,etat_pdc,id,updated_at,"
                      "etat_prise_type_chademo,point_de_charge_id,created_at,etat_prise_type_ef,horodatage")
Q1 = "b1ef81db-f16c-4c40-b31a-f35b1b36c786"   # QualiCharge's id of the point


def write_registry(folder: Path, *, with_electra: bool = True) -> None:
    """The packaged registry, Recharge Sud's dynamic files dropped in its inbox; Electra delivers
    the QualiCharge export of a point Recharge Sud also reports, and the correspondence."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(PACKAGED, folder)
    operator = yaml.safe_load((folder / "recharge-sud.yaml").read_text())
    dynamic = next(d for d in operator["datasets"] if d["id"] == "irve_dynamique")
    dynamic["transport"] = {"type": "inbox"}
    dynamic["filename"] = r"^irve_dynamique_(?P<period>\d{8})(_[a-z]+)?\.csv$"
    dynamic.pop("end", None)
    (folder / "recharge-sud.yaml").write_text(yaml.safe_dump(operator, allow_unicode=True, sort_keys=False))
    if with_electra:
        (folder / "electra.yaml").write_text(partners.electra(start="2024-01-01"))


def national(*events: tuple[str, str, str]) -> str:
    """A national dynamic file: (point, UTC instant, occupation_pdc) per event."""
    rows = [f"{point},en_service,{occupancy},{at},fonctionnel,,," for point, at, occupancy in events]
    return "\n".join([",".join(DYNAMIC_HEADER), *rows]) + "\n"


def qualicharge(*events: tuple[str, str]) -> str:
    """A QualiCharge status export of point Q1: (instant with offset, occupation_pdc) per event."""
    rows = [f"{n},null,{occupancy},fonctionnel,en_service,id-{n},{at},null,{Q1},{at},null,{at}"
            for n, (at, occupancy) in enumerate(events)]
    return "\n".join([QUALICHARGE_HEADER, *rows]) + "\n"


def correspondence(roaming_id: str) -> str:
    return f",id_pdc_itinerance,point_de_charge_id\n0,{roaming_id},{Q1}\n"


COLUMNS = "charge_point_id, observed_at, status, occupancy, source_format, dataset_key, _delivery_id, _delivered_at"


def events(settings: Settings) -> list[tuple]:
    return query(settings, f"SELECT {COLUMNS} FROM intermediate.int_ev__status_events ORDER BY ALL")


def states(settings: Settings) -> dict[tuple[str, str], tuple[str, str]]:
    """(point, UTC instant) → (occupancy, source layout)."""
    return {(p, at): (o, f) for p, at, o, f in query(
        settings, "SELECT charge_point_id, strftime(observed_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M'), occupancy, "
                  "source_format FROM intermediate.int_ev__status_events")}


def build_and_compare(settings: Settings, root: Path, wave: str) -> list[tuple]:
    """Build incrementally; a copy of the warehouse refreshed in full must hold the same events."""
    return harness.build_and_compare(settings, root, wave, MODELS, events)


def compiled(settings: Settings) -> str:
    return harness.compiled(settings, "intermediate", "ev_charging", "int_ev__status_events")


def built_at(settings: Settings) -> dict[tuple[str, str], object]:
    return {(p, at): b for p, at, b in query(
        settings, "SELECT charge_point_id, strftime(observed_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M'), _built_at "
                  "FROM intermediate.int_ev__status_events")}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("status-events")
    write_registry(root / "registry")
    settings = Settings.from_env({"HUB_HOME": str(root / "home"), "HUB_REGISTRY": str(root / "registry")})
    return settings, root


def test_waves_of_deliveries_keep_the_events_of_a_full_refresh(hub):
    settings, root = hub
    registry = settings.load_registry()
    keys = [NATIONAL, QUALICHARGE, CORRESPONDENCE]

    # wave 0: both layouts report FRSUDE1 at 10:00 UTC; the first build creates the table
    deliver(settings, "recharge-sud", "irve_dynamique_20241021.csv", national(
        ("FRSUDE1", "2024-10-21T08:00:00Z", "occupe"), ("FRSUDE1", "2024-10-21T10:00:00Z", "libre"),
        ("FRSUDE2", "2024-10-21T09:00:00Z", "libre")))
    ingest(settings, registry, [NATIONAL])
    deliver(settings, "electra", "export_status_21-10-2024.csv", qualicharge(
        ("2024-10-21 12:00:00+02:00", "occupe"), ("2024-10-21 14:00:00+02:00", "libre")))
    deliver(settings, "electra", "export_lien_id_pdc.csv", correspondence("FRSUDE1"))
    ingest(settings, registry, [QUALICHARGE, CORRESPONDENCE])
    build_and_compare(settings, root, "first")
    first = states(settings)
    assert first[("FRSUDE1", "2024-10-21 08:00")] == ("occupied", "irve_dynamique")
    # the same instant in both layouts: Electra's delivery, processed later, wins
    assert first[("FRSUDE1", "2024-10-21 10:00")] == ("occupied", "irve_dynamique_qualicharge")
    assert first[("FRSUDE1", "2024-10-21 12:00")] == ("free", "irve_dynamique_qualicharge")
    day1 = built_at(settings)

    # wave 1: a new day of the national layout: only its instants are recomputed
    deliver(settings, "recharge-sud", "irve_dynamique_20241022.csv", national(
        ("FRSUDE2", "2024-10-22T07:00:00Z", "occupe")))
    ingest(settings, registry, keys)
    build_and_compare(settings, root, "new day")
    assert "observed_at between '2024-10-22 07:00:00+00' and '2024-10-22 07:00:00+00'" in compiled(settings)
    after = built_at(settings)
    assert {k: v for k, v in after.items() if k in day1} == day1   # the first day's rows kept
    assert states(settings)[("FRSUDE2", "2024-10-22 07:00")] == ("occupied", "irve_dynamique")

    # wave 2: Recharge Sud corrects day 1: FRSUDE1's 08:00 event withdrawn, FRSUDE2 now occupied
    deliver(settings, "recharge-sud", "irve_dynamique_20241021_bis.csv", national(
        ("FRSUDE1", "2024-10-21T10:00:00Z", "libre"), ("FRSUDE2", "2024-10-21T09:00:00Z", "occupe")))
    ingest(settings, registry, keys)
    build_and_compare(settings, root, "correction")
    corrected = states(settings)
    assert ("FRSUDE1", "2024-10-21 08:00") not in corrected
    assert corrected[("FRSUDE2", "2024-10-21 09:00")] == ("occupied", "irve_dynamique")
    # the correction, processed last, now wins the instant both layouts report
    assert corrected[("FRSUDE1", "2024-10-21 10:00")] == ("free", "irve_dynamique")

    # wave 3: a new correspondence: QualiCharge's point is FRSUDE2 — every event recomputed
    deliver(settings, "electra", "export_lien_id_pdc.csv", correspondence("FRSUDE2"))
    ingest(settings, registry, keys)
    build_and_compare(settings, root, "correspondence")
    moved = states(settings)
    assert moved[("FRSUDE2", "2024-10-21 12:00")] == ("free", "irve_dynamique_qualicharge")
    assert ("FRSUDE1", "2024-10-21 12:00") not in moved
    assert moved[("FRSUDE1", "2024-10-21 10:00")] == ("free", "irve_dynamique")

    # wave 4: Electra leaves the registry: its events leave the table
    write_registry(root / "registry", with_electra=False)
    with connect(settings.warehouse) as con:
        prepare_warehouse(con, settings.load_registry())
    rows = build_and_compare(settings, root, "registry")
    assert {r[4] for r in rows} == {"irve_dynamique"}

    # nothing new: the incremental build reads no event
    run_dbt(settings, ["run", "--select", *MODELS])
    assert compiled(settings).count("1 = 0") == 2
    assert events(settings) == rows


def test_a_table_of_an_earlier_version_is_rebuilt_with_the_new_columns(tmp_path):
    """A warehouse built before the table was incremental has it without _built_at nor
    _delivery_id: the next build empties it and fills it again, the columns appended."""
    write_registry(tmp_path / "registry")
    settings = Settings.from_env({"HUB_HOME": str(tmp_path / "home"), "HUB_REGISTRY": str(tmp_path / "registry")})
    deliver(settings, "recharge-sud", "irve_dynamique_20241021.csv", national(
        ("FRSUDE1", "2024-10-21T08:00:00Z", "occupe"), ("FRSUDE2", "2024-10-21T09:00:00Z", "libre")))
    ingest(settings, settings.load_registry(), [NATIONAL])
    run_dbt(settings, ["run", "--select", *MODELS])
    expected = events(settings)
    assert len(expected) == 2
    with connect(settings.warehouse) as con:
        for column in ("_built_at", "_delivery_id", "dataset_key"):
            con.execute(f"ALTER TABLE intermediate.int_ev__status_events DROP COLUMN {column}")
    run_dbt(settings, ["run", "--select", "int_ev__status_events"])
    assert events(settings) == expected
