"""The big series' current rows are a table kept incrementally (macros/current_series.sql): after
every wave of deliveries, what an incremental build leaves equals what a full refresh computes from
the whole history, row for row, and the build read only the changed stamps.

Two traffic datasets of the same format deliver the same counter id (dataset scope: two things);
two weather datasets deliver the same station (national scope: the latest delivery wins). The
waves: corrections that withdraw records, a partial re-delivery by key (`upsert`), a repeated
line, a refused correction (the earlier file stays current), a dataset leaving the registry.
"""

from __future__ import annotations

import gzip
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from territoire_hub.orchestration.dbt import run_dbt
from territoire_hub.orchestration.ingestion import prepare_warehouse
from territoire_hub.settings import Settings
from territoire_hub.sources.demo.traffic import HEADER
from territoire_hub.warehouse import connect
from tests import dbt_harness as harness
from tests.dbt_harness import deliver, ingest, query
from tests.dbt_project.test_traffic import count_row, local_hours

PACKAGED = Settings.from_env({}).registry_dir
COUNTS_A = "montpellier_metropole__comptages_routiers"     # replaces a day's file as a whole
COUNTS_B = "ville_beaucaire__comptages_routiers"           # partial files, records replaced by key
WEATHER_A = "meteo_france__observations_horaires"
WEATHER_B = "ville_beaucaire__station_meteo"
MODELS = {"stg_comptage_routier_horaire": "counted_until", "stg_meteo_france_horaire": "observed_at"}
DAY1, DAY2, DAY3 = date(2024, 10, 21), date(2024, 10, 22), date(2024, 10, 23)
WEATHER_HEADER = "NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJHH;RR1;T;TN;TX"
UTC = timezone.utc


def write_registry(folder: Path, *, with_beaucaire_series: bool = True) -> None:
    """The packaged registry; Météo-France's hourly files dropped in its inbox; Beaucaire also
    delivers road counts and one station's hourly observations, in the same formats."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(PACKAGED, folder)
    meteo = yaml.safe_load((folder / "meteo-france.yaml").read_text())
    hourly = next(d for d in meteo["datasets"] if d["id"] == "observations_horaires")
    hourly["transport"] = {"type": "inbox"}
    hourly.pop("end", None)
    (folder / "meteo-france.yaml").write_text(yaml.safe_dump(meteo, allow_unicode=True, sort_keys=False))
    if with_beaucaire_series:
        beaucaire = yaml.safe_load((folder / "ville-beaucaire.yaml").read_text())
        beaucaire["datasets"] += [
            {"id": "comptages_routiers", "domain": "traffic", "format": "comptage_routier_horaire",
             "transport": {"type": "inbox"}, "filename": r"^comptages_(?P<period>\d{8})(_[a-z0-9]+)?\.csv$",
             "cadence": "daily", "start": "2024-01-01", "separator": ";", "encoding": "utf-8-sig",
             "supersession": "upsert", "licence": "odbl", "sensitivity": "open"},
            {"id": "station_meteo", "domain": "weather", "format": "meteo_france_horaire",
             "transport": {"type": "inbox"}, "filename": r"^station_(?P<period>\d{8})\.csv$",
             "cadence": "daily", "start": "2024-01-01", "licence": "licence-ouverte-2.0", "sensitivity": "open"}]
        (folder / "ville-beaucaire.yaml").write_text(yaml.safe_dump(beaucaire, allow_unicode=True, sort_keys=False))


def counts(day: date, arcs: dict[str, float], hours: slice = slice(None)) -> str:
    rows = [count_row(arc, start, flow, 10.0) for arc, flow in arcs.items() for start in local_hours(day)[hours]]
    return "\ufeff" + "\n".join([";".join(HEADER), *rows]) + "\n"


def weather(first_end: datetime, hours: int, temperature: float) -> str:
    rows = [f"34154001;STATION TEST;43.576200;3.963000;2;{first_end + timedelta(hours=h):%Y%m%d%H};0.0;"
            f"{temperature};{temperature};{temperature}" for h in range(hours)]
    return "\n".join([WEATHER_HEADER, *rows]) + "\n"


def deliver_meteo_france(settings: Settings, name: str, text: str) -> None:
    inbox = settings.inbox / "meteo-france"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_bytes(gzip.compress(text.encode()))


def current(settings: Settings, model: str) -> list[tuple]:
    return query(settings, f"SELECT * EXCLUDE (_built_at) FROM staging.{model} ORDER BY ALL")


def build_and_compare(settings: Settings, root: Path, wave: str) -> dict[str, list[tuple]]:
    """Build the two series incrementally; a copy of the warehouse refreshed in full must hold
    the same rows. Returns the incremental rows."""
    return harness.build_and_compare(settings, root, wave, list(MODELS),
                                     lambda home: {model: current(home, model) for model in MODELS})


def compiled(settings: Settings, model: str) -> str:
    return harness.compiled(settings, "staging", "traffic" if "comptage" in model else "weather", model)


def flows(settings: Settings, dataset: str, arc: str, day: date) -> list[float]:
    """The hourly flows of counter ``arc`` of ``dataset`` over a Paris local day, sorted."""
    return [r[0] for r in query(settings, "SELECT flow_veh_h FROM staging.stg_comptage_routier_horaire WHERE dataset_key = ? "
                                          "AND counter_id = ? AND timezone('Europe/Paris', counted_at)::DATE = ? ORDER BY 1",
                                [dataset, arc, day])]


def temperatures(settings: Settings) -> dict[datetime, tuple[str, float]]:
    """Which dataset's temperature is current for each hour of the test station."""
    return {at: (key, t) for at, key, t in query(
        settings, "SELECT observed_at, dataset_key, temperature_c FROM staging.stg_meteo_france_horaire "
                  "WHERE station_id = '34154001'")}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    write_registry(root / "registry")
    settings = Settings.from_env({"HUB_HOME": str(root / "home"), "HUB_REGISTRY": str(root / "registry")})
    return settings, root


def test_waves_of_deliveries_keep_the_current_rows_of_a_full_refresh(hub):
    settings, root = hub
    registry = settings.load_registry()
    keys = [COUNTS_A, COUNTS_B, WEATHER_A, WEATHER_B]

    # wave 0: the first build creates the tables
    deliver(settings, "montpellier-metropole", f"comptages_routiers_{DAY1:%Y%m%d}.csv", counts(DAY1, {"101": 100.0, "102": 50.0}))
    deliver(settings, "montpellier-metropole", f"comptages_routiers_{DAY2:%Y%m%d}.csv", counts(DAY2, {"101": 110.0}))
    deliver(settings, "ville-beaucaire", f"comptages_{DAY1:%Y%m%d}.csv", counts(DAY1, {"101": 7.0}))
    deliver_meteo_france(settings, "H_34_202410.csv.gz", weather(datetime(2024, 10, 20, 22, tzinfo=UTC), 72, 15.0))
    ingest(settings, registry, keys)
    build_and_compare(settings, root, "first")
    assert flows(settings, COUNTS_A, "102", DAY1) == [50.0] * 24
    assert flows(settings, COUNTS_B, "101", DAY1) == [7.0] * 24      # the same counter id: another thing

    # wave 1: Montpellier corrects day 1 without counter 102 (withdrawn); Beaucaire re-delivers
    # three hours of day 1 by key; a private station delivers hours Météo-France had (national key)
    deliver(settings, "montpellier-metropole", f"comptages_routiers_{DAY1:%Y%m%d}_rectificatif.csv",
            counts(DAY1, {"101": 101.0}))
    deliver(settings, "ville-beaucaire", f"comptages_{DAY1:%Y%m%d}_bis.csv", counts(DAY1, {"101": 8.0}, slice(10, 13)))
    (settings.inbox / "ville-beaucaire" / f"station_{DAY2:%Y%m%d}.csv").write_text(
        weather(datetime(2024, 10, 22, 10, tzinfo=UTC), 3, 21.0))
    ingest(settings, registry, keys)
    build_and_compare(settings, root, "corrections")
    assert flows(settings, COUNTS_A, "102", DAY1) == []
    assert flows(settings, COUNTS_A, "101", DAY1) == [101.0] * 24
    assert flows(settings, COUNTS_B, "101", DAY1) == [7.0] * 21 + [8.0] * 3
    assert flows(settings, COUNTS_A, "101", DAY2) == [110.0] * 24
    hours = temperatures(settings)
    assert len(hours) == 72
    assert hours[datetime(2024, 10, 22, 11, tzinfo=UTC)] == (WEATHER_B, 21.0)
    assert hours[datetime(2024, 10, 22, 13, tzinfo=UTC)] == (WEATHER_A, 15.0)
    # the build read the changed stamps of the changed datasets only
    sql = compiled(settings, "stg_comptage_routier_horaire")
    assert f"r.dataset_key = '{COUNTS_A}' and r.date_et_heure_de_comptage between" in sql, sql
    assert f"r.dataset_key = '{COUNTS_B}' and r.date_et_heure_de_comptage between" in sql, sql
    # (dbt's session is in UTC: the literals are UTC instants)
    assert "r.aaaammjjhh between '2024-10-22 10:00:00+00' and '2024-10-22 12:00:00+00'" in compiled(
        settings, "stg_meteo_france_horaire")

    # wave 2: a new day with a line repeated (kept once); Météo-France's month file again,
    # now newer than the private station's
    deliver(settings, "montpellier-metropole", f"comptages_routiers_{DAY3:%Y%m%d}.csv",
            counts(DAY3, {"101": 120.0}).rstrip("\n") + "\n" + count_row("101", local_hours(DAY3)[5], 120.0, 10.0) + "\n")
    deliver_meteo_france(settings, "H_34_202410.csv.gz", weather(datetime(2024, 10, 20, 22, tzinfo=UTC), 96, 16.0))
    ingest(settings, registry, keys)
    build_and_compare(settings, root, "new day")
    assert flows(settings, COUNTS_A, "101", DAY3) == [120.0] * 24   # the repeated line kept once
    assert set(temperatures(settings).values()) == {(WEATHER_A, 16.0)}
    assert COUNTS_B not in compiled(settings, "stg_comptage_routier_horaire")

    # wave 3: a correction of day 2 that is refused: day 2's first file stays current
    deliver(settings, "montpellier-metropole", f"comptages_routiers_{DAY2:%Y%m%d}_rectificatif.csv", "foo;bar\n1;2\n")
    ingest(settings, registry, keys)
    with connect(settings.warehouse, read_only=True) as con:
        assert con.execute("SELECT status FROM landing.deliveries WHERE filename LIKE '%20241022_rectificatif%'").fetchall() \
            == [("quarantined",)]
    build_and_compare(settings, root, "refused")
    assert flows(settings, COUNTS_A, "101", DAY2) == [110.0] * 24
    assert "1 = 0" not in compiled(settings, "stg_comptage_routier_horaire")   # day 2 was looked at again

    # wave 4: Beaucaire's series leave the registry: their rows leave the current data
    write_registry(root / "registry", with_beaucaire_series=False)
    with connect(settings.warehouse) as con:
        prepare_warehouse(con, settings.load_registry())
    rows = build_and_compare(settings, root, "registry")
    assert {r[1] for r in rows["stg_comptage_routier_horaire"]} == {COUNTS_A}
    assert {r[1] for r in rows["stg_meteo_france_horaire"]} == {WEATHER_A}

    # nothing new: the incremental build reads no raw row
    run_dbt(settings, ["run", "--select", *MODELS])
    assert "1 = 0" in compiled(settings, "stg_comptage_routier_horaire")
    assert current(settings, "stg_comptage_routier_horaire") == rows["stg_comptage_routier_horaire"]


def test_the_winners_order_puts_the_delivery_before_any_line_and_the_microsecond_before_the_sequence(
        tmp_path, warehouse_template):
    """current_rows and int_ev__status_events pick a winner by one number (a max over a struct held a
    region-year's traffic build ~1 GiB above DuckDB's limit): a later delivery wins whatever the
    line numbers (a file can hold more than 2^32 lines), and processing order is kept to the
    microsecond before the landing sequence counts."""
    settings = Settings.from_env({"HUB_HOME": str(tmp_path / "home"), "HUB_CACHE_DIR": str(tmp_path / "cache")})
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(warehouse_template, settings.warehouse)
    first, second = "timestamp '2024-10-21 08:00:00.000001'", "timestamp '2024-10-21 08:00:00.000002'"
    shown = run_dbt(settings, ["show", "--inline",
        "select {{ delivery_order(2, 1) }} > {{ delivery_order(1, 5000000000) }} as later_delivery, "
        "{{ delivery_order(1, 3) }} > {{ delivery_order(1, 2) }} as later_line, "
        f"{{{{ processing_order(\"{second}\", 1) }}}} > {{{{ processing_order(\"{first}\", 9) }}}} as later_processing, "
        f"{{{{ processing_order(\"{first}\", 2) }}}} > {{{{ processing_order(\"{first}\", 1) }}}} as later_landing"]).stdout
    header, values = [line for line in shown.splitlines() if line.startswith("|") and set(line) - set("|- ")][:2]
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "later_delivery", "later_line", "later_processing", "later_landing"]
    assert [c.strip() for c in values.strip("|").split("|")] == ["True"] * 4, shown
