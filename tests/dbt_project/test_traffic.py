"""Traffic domain: hand-made counter files in, exact daily and yearly traffic out.

The hand-made week is Monday 2024-10-21 … Sunday 2024-10-27, whose local day has 25 hours (the
02:00 hour twice). Counter 101 (Montpellier) counts b vehicles every hour of day d and 4·b in the
08:00 local hour, so a day of H hours carries (H + 3)·b vehicles and its peak-hour share is 4/(H + 3):

    day  21 Mon  22 Tue  23 Wed  24 Thu  25 Fri  26 Sat  27 Sun (25 h)
    b       100     110     120     130     140      90      80
    total  2700    2970    3240    3510    3780    2430    2240 = 28 × 80

Counter 102 (Castelnau-le-Lez) counts 50 every hour (1200 a day, 1250 on the 27th). Monday 28th is
incomplete for 101 (one 'Inconnu' hour) and carries 10,000 veh/h elsewhere, so it would show if it
leaked. Counter 104 counts Monday 21st but is missing from the site list.

Weather: one hand-made Météo-France station, hence the nearest of every commune, over the local
days 21st–27th; rain: 2.0 mm on the 22nd, exactly 1.0 mm on the 26th (rainy: ≥ 1 mm), 0.9 mm on the
24th (dry); no weather on the 28th.
"""

from __future__ import annotations

import gzip
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from territoire_hub.orchestration.dbt import BUILD, run_dbt
from territoire_hub.settings import Settings
from territoire_hub.sources.demo.traffic import HEADER, SITE_HEADER
from territoire_hub.sources.landing import land
from territoire_hub.orchestration.ingestion import load_delivery
from territoire_hub.sources.transports import Incoming
from territoire_hub.warehouse import connect
from tests.dbt_harness import deliver, ingest, query

PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc
PARTNER = "montpellier-metropole"
COUNTS = "montpellier_metropole__comptages_routiers"
SITES = "montpellier_metropole__compteurs_routiers"
WEATHER = "meteo_france__observations_horaires"
TRAFFIC_MARTS = ["+trafic_compteur", "+trafic_territoire_annee"]
WEEK = [date(2024, 10, 21) + timedelta(days=k) for k in range(7)]
BASE = dict(zip(WEEK, [100, 110, 120, 130, 140, 90, 80]))
MONTPELLIER, CASTELNAU, LATTES, METROPOLE = "34172", "34057", "34129", "243400017"


def local_hours(day: date) -> list[datetime]:
    """The UTC start of every hour of a Paris local day (23, 24 or 25 of them)."""
    instant = datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)
    out = []
    while instant.astimezone(PARIS).date() == day:
        out.append(instant)
        instant += timedelta(hours=1)
    return out


def count_row(arc: str, start: datetime, flow: float | None, occupancy: float | None) -> str:
    """One row of the Paris layout, stamped in local time with the Paris offset, at the END of
    the counted hour (the portal's convention)."""
    cells = [arc, f"Arc {arc}", (start + timedelta(hours=1)).astimezone(PARIS).isoformat(),
             "" if flow is None else f"{flow:.1f}", "" if occupancy is None else f"{occupancy:.1f}",
             "Inconnu" if flow is None else "Fluide", "1", "A", "2", "B", "Ouvert", "2020-01-01", "",
             '"43.61, 3.87"', ""]
    return ";".join(cells)


def counter_101(day: date) -> list[str]:
    """b per hour, 4·b at 08:00 local; occupancy 10 % except the congestion-boundary hours."""
    occupancy = {date(2024, 10, 21): {8: 25.0, 9: 25.1, 17: 30.0},  # 25.0 is NOT above 25: 2 congested hours
                 date(2024, 10, 22): {8: 26.0}}.get(day, {})
    rows = []
    for start in local_hours(day):
        hour = start.astimezone(PARIS).hour
        if day == date(2024, 10, 28):  # incomplete: the 03:00 hour unknown, 10,000 veh/h elsewhere
            flow, occ = (None, None) if hour == 3 else (10000.0, 10.0)
        else:
            flow, occ = BASE[day] * (4 if hour == 8 else 1), occupancy.get(hour, 10.0)
        rows.append(count_row("101", start, flow, occ))
    return rows


def counts_file(day: date) -> str:
    rows = counter_101(day)
    if day in WEEK:
        rows += [count_row("102", start, 50.0, 5.0) for start in local_hours(day)]
    if day == date(2024, 10, 21):
        rows += [count_row("104", start, 1000.0, 5.0) for start in local_hours(day)]
    return "\ufeff" + "\n".join([";".join(HEADER), *rows]) + "\n"


def sites_file(lattes: tuple[float, float]) -> str:
    """101 and 102 with their INSEE code; 103 without one, 300 m from Lattes' chef-lieu."""
    lat, lon = lattes
    rows = [
        f'101,,"Arc 101",{MONTPELLIER},3.8772,43.6109,,',
        f'102,,"Arc 102",{CASTELNAU},3.9000,43.6333,,',
        f'103,,"Arc 103",,{lon + 0.003:.6f},{lat + 0.001:.6f},,',
    ]
    return "\n".join([",".join(SITE_HEADER), *rows]) + "\n"


def weather_rows() -> list[str]:
    """Hourly rows of one station ending 2024-10-20 20 UTC … 2024-10-27 23 UTC (the local days
    21st–27th; the 28th has no weather); RR1 per hour."""
    rain = {datetime(2024, 10, 22, 10, tzinfo=UTC): 2.0,   # 11:00–12:00 local on the 22nd
            datetime(2024, 10, 26, 10, tzinfo=UTC): 1.0,   # exactly the rainy-day threshold
            datetime(2024, 10, 24, 10, tzinfo=UTC): 0.5,
            datetime(2024, 10, 24, 11, tzinfo=UTC): 0.4}   # 0.9 mm: a dry day
    rows, end = [], datetime(2024, 10, 20, 20, tzinfo=UTC)
    while end <= datetime(2024, 10, 27, 23, tzinfo=UTC):
        rows.append(f"34154001;STATION TEST;43.576200;3.963000;2;{end:%Y%m%d%H};{rain.get(end, 0.0)};15.0;14.0;16.0")
        end += timedelta(hours=1)
    return rows


def deliver_weather(settings: Settings, registry) -> None:
    """Land and load a hand-made H_DD file as the HTTP transport would have delivered it."""
    entry = registry.dataset(WEATHER)
    path = settings.data_dir / "handmade" / "H_34_202410.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(["NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJHH;RR1;T;TN;TX", *weather_rows()]) + "\n"
    path.write_bytes(gzip.compress(text.encode()))
    con = connect(settings.warehouse)
    try:
        landed = land(con, settings.landing, entry, Incoming(WEATHER, path.name, f"test:{path}", path, "202410"))
        stored = con.execute("SELECT stored_path FROM landing.deliveries WHERE delivery_id = ?",
                             [landed.delivery_id]).fetchone()[0]
        load_delivery(con, entry, landed.delivery_id, Path(stored))
    finally:
        con.close()


def dbt_build(settings: Settings, *select: str, full_refresh: bool = False):
    # cautious: tests of other domains that merely share a source are not selected
    args = [*BUILD, "--select", *select, "--indirect-selection", "cautious"]
    return run_dbt(settings, args + (["--full-refresh"] if full_refresh else []))


def deliver_traffic(settings: Settings, registry, template: Path, days: list[date]) -> None:
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, settings.warehouse)  # COG and catalogue already loaded
    lattes = query(settings, "SELECT latitude, longitude FROM ref.communes WHERE code_commune = ? "
                             "AND type_commune = 'commune-actuelle'", [LATTES])[0]
    deliver(settings, PARTNER, "compteurs_routiers_20241001.csv", sites_file(lattes))
    for day in days:
        deliver(settings, PARTNER, f"comptages_routiers_{day:%Y%m%d}.csv", counts_file(day))
    ingest(settings, registry, [SITES, COUNTS])


@pytest.fixture(scope="module")
def built(tmp_path_factory, registry, warehouse_template) -> Settings:
    settings = Settings.from_env({"HUB_HOME": str(tmp_path_factory.mktemp("traffic"))})
    deliver_traffic(settings, registry, warehouse_template, WEEK + [date(2024, 10, 28)])
    deliver_weather(settings, registry)
    dbt_build(settings, *TRAFFIC_MARTS)
    return settings


def daily(settings, counter, day, columns):
    return query(settings, f"SELECT {columns} FROM intermediate.int_traffic__counter_daily "
                           "WHERE counter_id = ? AND local_day = ?", [counter, day])[0]


def test_the_25_hour_day_sums_25_hourly_flows(built):
    assert daily(built, "101", "2024-10-27", "day_hours, hours_measured, is_complete, daily_flow_veh, peak_hour_flow") == (
        25, 25, True, 2240.0, 320.0)
    assert daily(built, "101", "2024-10-21", "day_hours, daily_flow_veh, is_working_day") == (24, 2700.0, True)
    assert daily(built, "102", "2024-10-27", "daily_flow_veh") == (1250.0,)
    assert daily(built, "101", "2024-10-27", "round(peak_hour_share_pct, 6)") == (round(100 * 320 / 2240, 6),)


def test_an_incomplete_day_has_no_daily_traffic(built):
    assert daily(built, "101", "2024-10-28", "hours_measured, is_complete, daily_flow_veh, peak_hour_share_pct, "
                                             "congestion_hours") == (23, False, None, None, None)


def test_congestion_counts_hours_strictly_above_the_threshold(built):
    assert daily(built, "101", "2024-10-21", "congestion_hours") == (2,)  # 25.1 and 30; 25.0 is not above 25
    assert daily(built, "101", "2024-10-22", "congestion_hours") == (1,)
    assert daily(built, "101", "2024-10-23", "congestion_hours") == (0,)


def test_rain_flag_comes_from_the_counters_commune_weather(built):
    flags = query(built, "SELECT local_day, is_rainy FROM intermediate.int_traffic__counter_daily "
                         "WHERE counter_id = '101' ORDER BY 1")
    assert [(str(d), r) for d, r in flags] == [
        ("2024-10-21", False), ("2024-10-22", True), ("2024-10-23", False), ("2024-10-24", False),
        ("2024-10-25", False), ("2024-10-26", True), ("2024-10-27", False), ("2024-10-28", None)]


def test_counter_year_by_hand(built):
    row = query(built, """
        SELECT code_commune, jours_mesures, jours_complets, tmj_tous_jours, jours_ouvres_complets, tmj_jours_ouvres,
               part_heure_de_pointe_pct, heures_congestion_par_jour, jours_pluie_complets, tmj_jours_pluie,
               jours_secs_complets, tmj_jours_secs, motif_absence
        FROM marts.trafic_compteur WHERE id_compteur = '101' AND annee = 2024""")[0]
    assert row == (
        MONTPELLIER, 8, 7,
        2981.4,   # (2700 + 2970 + 3240 + 3510 + 3780 + 2430 + 2240) / 7 = 20870 / 7; the 28th left out
        5, 3240.0,  # Monday–Friday: 16200 / 5 (the 26th–27th are a weekend)
        14.76,    # 4 × (100 + 110 + 120 + 130 + 140 + 90 + 80) / 20870 = 3080 / 20870
        0.43,     # (2 + 1) congested hours / 7 days with occupancy every hour
        2, 2700.0,  # rainy: 22nd (2970) and 26th (2430)
        5, 3094.0,  # dry: 2700, 3240, 3510, 3780, 2240
        None)
    assert query(built, "SELECT tmj_tous_jours, tmj_jours_ouvres FROM marts.trafic_compteur WHERE id_compteur = '102'") == [
        (1207.1, 1200.0)]  # (6 × 1200 + 1250) / 7


def test_a_counter_missing_from_the_site_list_is_published_but_not_rolled_up(built):
    assert query(built, "SELECT code_commune, tmj_tous_jours, motif_absence FROM marts.trafic_compteur "
                        "WHERE id_compteur = '104'") == [
        (None, 24000.0, "tmj_jours_pluie, tmj_jours_secs : pas de données de pluie pour la commune du compteur ; "
                        "code_commune : compteur absent de la liste des sites ou non localisé")]
    assert query(built, "SELECT code_commune, commune_source FROM intermediate.int_traffic__counters ORDER BY counter_id") == [
        (MONTPELLIER, "code"), (CASTELNAU, "code"), (LATTES, "coordonnees")]


# the demo's traffic partners deliver counters, no road sections (national or departmental TMJA)
NO_SECTIONS = ("tmja_moyen_troncons, part_poids_lourds_pct : aucun tronçon routier avec un TMJA mesuré dans le "
               "territoire cette année")


def test_territory_year_rolls_up_the_counters(built):
    columns = ("compteurs, tmj_moyen_par_compteur, tmj_jours_ouvres, part_heure_de_pointe_pct, heures_congestion, "
               "compteurs_pluie_sec, tmj_jours_pluie, tmj_jours_secs, ecart_pluie_sec_pct, motif_absence")

    def territory(niveau, code):
        return query(built, f"SELECT {columns} FROM marts.trafic_territoire_annee "
                            "WHERE niveau = ? AND code_territoire = ? AND annee = 2024", [niveau, code])[0]

    assert territory("commune", MONTPELLIER) == (1, 2981.4, 3240.0, 14.76, 0.43, 1, 2700.0, 3094.0, -12.73, NO_SECTIONS)
    expected_epci = (
        2,
        2094.3,   # mean of the counters' TMJ: (20870 / 7 + 8450 / 7) / 2
        2220.0,   # (3240 + 1200) / 2
        11.70,    # (3080 + 350) / (20870 + 8450): flow-weighted over both counters
        0.21,     # (3 + 0) / (7 + 7)
        2,
        1950.0,   # (2700 + 1200) / 2
        2152.0,   # (3094 + (4 × 1200 + 1250) / 5) / 2
        -9.39,    # 100 × (1950 − 2152) / 2152
        NO_SECTIONS)
    assert territory("epci", METROPOLE) == expected_epci
    assert territory("departement", "34") == expected_epci
    assert territory("region", "76") == expected_epci
    # every territory of every level is there; one without counters says why
    assert query(built, "SELECT niveau, count(*) FROM marts.trafic_territoire_annee GROUP BY 1 ORDER BY 1") == [
        ("commune", 49), ("departement", 2), ("epci", 4), ("region", 1)]
    assert territory("commune", "30032") == (
        0, None, None, None, None, 0, None, None, None,
        "mesures des compteurs (tmj_*, part_heure_de_pointe_pct, heures_congestion, ecart_pluie_sec_pct) : aucun compteur "
        "routier avec un jour complet de comptage dans le territoire cette année ; " + NO_SECTIONS)


def test_incremental_rebuilds_new_days_and_late_weather_and_matches_a_full_build(settings, registry, built,
                                                                                 warehouse_template):
    """The same deliveries as `built`, arriving in three waves; `built` was built in one go."""

    def run(*select):
        run_dbt(settings, ["run", "--select", *select])

    def built_at():
        return dict(query(settings, "SELECT local_day, max(_built_at) FROM intermediate.int_traffic__counter_daily GROUP BY 1"))

    def rebuilt(before, after):
        return sorted(str(d) for d in after if d not in before or after[d] != before[d])

    deliver_traffic(settings, registry, warehouse_template, WEEK[:3])  # no weather yet
    run("+int_traffic__counter_daily")
    first = built_at()

    later = WEEK[3:] + [date(2024, 10, 28)]
    for day in later:  # the rest of the counts: only their days are built
        deliver(settings, PARTNER, f"comptages_routiers_{day:%Y%m%d}.csv", counts_file(day))
    ingest(settings, registry, [COUNTS])
    run("stg_comptage_routier_horaire", "int_traffic__counter_daily")  # the counts' current rows, then the days
    second = built_at()
    assert rebuilt(first, second) == [str(d) for d in later]
    assert daily(settings, "101", "2024-10-22", "is_rainy") == (None,)

    deliver_weather(settings, registry)  # late weather: the days whose rain flag changes are rebuilt
    run("+int_traffic__counter_daily")
    assert rebuilt(second, built_at()) == [str(d) for d in WEEK]  # not the 28th: still no weather
    assert daily(settings, "101", "2024-10-22", "is_rainy") == (True,)

    sql = "SELECT * EXCLUDE (_built_at) FROM intermediate.int_traffic__counter_daily ORDER BY counter_id, local_day"
    incremental = query(settings, sql)
    assert len(incremental) == 8 + 7 + 1
    assert incremental == query(built, sql)
