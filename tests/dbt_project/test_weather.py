"""Weather domain: hand-made Météo-France hourly files in, exact daily values, DJU and roll-ups out.

Hourly rows are stamped with the END of their hour (UTC). Météo-France climatological day J:
TN over the rows ending 19 UTC J-1 … 18 UTC J, TX over the rows ending 07 UTC J … 06 UTC J+1.
Mean temperature and rain: the Europe/Paris local day, an hour belonging to the local day of its start.
"""

from __future__ import annotations

import gzip
import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from territoire_hub.orchestration.dbt import run_dbt
from territoire_hub.settings import Settings
from territoire_hub.sources.landing import land
from territoire_hub.orchestration.ingestion import load_delivery
from territoire_hub.sources.transports import Incoming
from territoire_hub.warehouse import connect
from tests.dbt_harness import ingest, query

KEY = "meteo_france__observations_horaires"
HEADER = "NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJHH;RR1;T;TN;TX"
# Two stations at known coordinates: Montpellier-Fréjorgues-like (A) and Beaucaire-like (B).
A = ("34154001", "MONTPELLIER-AEROPORT", 43.5762, 3.9630, 2)
B = ("30032001", "BEAUCAIRE", 43.7930, 4.6520, 10)
UTC = timezone.utc
WEATHER_MODELS = ["+meteo_territoire_jour", "+meteo_territoire_annee", "+int_sun__commune_daily"]


def at(stamp: str) -> datetime:
    """'2024-01-10 05' → that UTC instant."""
    return datetime.strptime(stamp, "%Y-%m-%d %H").replace(tzinfo=UTC)


def hours(first: str, last: str) -> list[datetime]:
    """Every hour-end stamp from first to last inclusive (UTC)."""
    out, t = [], at(first)
    while t <= at(last):
        out.append(t)
        t += timedelta(hours=1)
    return out


def row(station, end: datetime, rr1=None, t=None, tn=None, tx=None) -> str:
    num, name, lat, lon, alti = station
    cells = [f" {num}", name, f"{lat:.6f}", f"{lon:.6f}", str(alti), end.strftime("%Y%m%d%H")]
    cells += ["" if v is None else f"{v}" for v in (rr1, t, tn, tx)]
    return ";".join(cells)  # NUM_POSTE padded with a blank, as in some real vintages


def deliver_meteo(settings: Settings, registry, name: str, rows: list[str]) -> None:
    """Land and load one hand-made H_DD file as the HTTP transport would have delivered it."""
    entry = registry.dataset(KEY)
    period = re.match(entry.dataset.filename, name).group("period")
    path = settings.data_dir / "handmade" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(("\n".join([HEADER, *rows]) + "\n").encode()))
    con = connect(settings.warehouse)
    try:
        landed = land(con, settings.landing, entry, Incoming(KEY, name, f"test:{path}", path, period))
        stored = con.execute("SELECT stored_path FROM landing.deliveries WHERE delivery_id = ?",
                             [landed.delivery_id]).fetchone()[0]
        assert load_delivery(con, entry, landed.delivery_id, Path(stored)) == len(rows)
    finally:
        con.close()


def dbt_build(settings: Settings, *select: str, full_refresh: bool = False, command: str = "build"):
    # cautious: tests of other domains that merely share a source are not selected
    args = [command, "--select", *select, "--indirect-selection", "cautious"]
    return run_dbt(settings, args + (["--full-refresh"] if full_refresh else []))


def haversine_km(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


# --- the hand-made deliveries ----------------------------------------------------------------

GAP = hours("2024-01-11 20", "2024-01-12 01")  # 6 rows missing at station A


def station_a_january() -> list[str]:
    """Station A, rows ending 2024-01-08 01 UTC … 2024-02-01 00 UTC except GAP; TN 5, TX 6, T 5.5,
    RR1 0, except around J = 2024-01-10:"""
    special = {
        at("2024-01-09 18"): dict(tn=1.0),    # last row of J-1's TN window: TN of 01-09, not of 01-10
        at("2024-01-09 19"): dict(tn=2.0),    # first row of J's TN window: TN of J
        at("2024-01-10 06"): dict(tx=15.0),   # last row of J-1's TX window (06 UTC J): TX of 01-09
        at("2024-01-10 07"): dict(tx=10.0),   # first row of J's TX window: TX of J
        at("2024-01-10 20"): dict(tn=-3.0),   # after 18 UTC: TN of J+1, not of J
        at("2024-01-10 00"): dict(rr1=0.6),   # hour 23-24 UTC = 00-01 local: local day 01-10
        at("2024-01-10 23"): dict(rr1=0.6),   # hour 22-23 UTC = 23-24 local: local day 01-10
        at("2024-01-11 00"): dict(rr1=5.0),   # hour 23-24 UTC = 00-01 local on 01-11
    }
    return [row(A, end, **(dict(rr1=0.0, t=5.5, tn=5.0, tx=6.0) | special.get(end, {})))
            for end in hours("2024-01-08 01", "2024-02-01 00") if end not in GAP]


def station_a_february() -> list[str]:
    """Station A, the next month: rows ending 2024-02-01 01 UTC … 2024-03-01 00 UTC, TN 3, TX 8."""
    return [row(A, end, rr1=0.0, t=5.5, tn=3.0, tx=8.0) for end in hours("2024-02-01 01", "2024-03-01 00")]


def station_b_january() -> list[str]:
    """Station B, rows ending 2024-01-08 01 UTC … 2024-01-13 00 UTC: TN 0, TX 4, T 2, RR1 0.5."""
    return [row(B, end, rr1=0.5, t=2.0, tn=0.0, tx=4.0) for end in hours("2024-01-08 01", "2024-01-13 00")]


def dst_rows(first_end: str, n_hours: int) -> list[str]:
    """Station A over one whole local day (n_hours rows, T = 0, 1, 2 …, RR1 = 1.0) plus one row
    on each side (T = 50, RR1 = 100) that must not leak into the day."""
    start = at(first_end)
    rows = [row(A, start - timedelta(hours=1), rr1=100.0, t=50.0)]
    rows += [row(A, start + timedelta(hours=k), rr1=1.0, t=float(k)) for k in range(n_hours)]
    rows.append(row(A, start + timedelta(hours=n_hours), rr1=100.0, t=50.0))
    return rows


STATION_COLUMNS = ("station_id, local_day, tmin_c, tmax_c, tmean_c, rain_mm, hours_observed, completeness, "
                   "tmin_hours_observed, tmax_hours_observed, rain_hours_observed, day_hours")


@pytest.fixture(scope="module")
def built(tmp_path_factory, registry):
    """One warehouse for the module (each dbt parse costs seconds): January to October 2024 built
    and tested, then February delivered and built incrementally, then a full refresh."""
    settings = Settings.from_env({"HUB_HOME": str(tmp_path_factory.mktemp("weather"))})
    ingest(settings, registry, [])  # prepares the warehouse: COG, registry, catalogue
    deliver_meteo(settings, registry, "H_34_202401.csv.gz", station_a_january())
    deliver_meteo(settings, registry, "H_30_202401.csv.gz", station_b_january())
    # 2024-03-31, 23 h: local day = hours starting 2024-03-30 23 UTC … 2024-03-31 21 UTC
    deliver_meteo(settings, registry, "H_34_202403.csv.gz", dst_rows("2024-03-31 00", 23))
    # 2024-10-27, 25 h: local day = hours starting 2024-10-26 22 UTC … 2024-10-27 22 UTC
    deliver_meteo(settings, registry, "H_34_202410.csv.gz", dst_rows("2024-10-26 23", 25))
    dbt_build(settings, *WEATHER_MODELS)
    station_a = ("SELECT local_day, _built_at, tmin_c, tmax_c FROM intermediate.int_weather__station_daily "
                 "WHERE station_id = ?")
    all_rows = f"SELECT {STATION_COLUMNS} FROM intermediate.int_weather__station_daily ORDER BY 1, 2"
    steps = {"before": query(settings, station_a, [A[0]])}
    deliver_meteo(settings, registry, "H_34_202402.csv.gz", station_a_february())
    # the hourly series' current rows (a table kept by delivery), then the weather models
    # downstream of the station days only (other domains read them too)
    dbt_build(settings, "stg_meteo_france_horaire", "int_weather__station_daily", "int_weather__station_days", "int_weather__commune_daily", "int_weather__commune_yearly",
              "meteo_territoire_jour", "meteo_territoire_annee", command="run")
    steps["after"] = query(settings, station_a, [A[0]])
    steps["incremental"] = query(settings, all_rows)
    dbt_build(settings, "int_weather__station_daily", full_refresh=True, command="run")
    steps["full_refresh"] = query(settings, all_rows)
    return settings, steps


@pytest.fixture(scope="module")
def hub(built) -> Settings:
    return built[0]


def station_day(settings, station, day, columns="tmin_c, tmax_c, tmean_c, rain_mm, hours_observed, completeness"):
    return query(settings, f"SELECT {columns} FROM intermediate.int_weather__station_daily "
                           "WHERE station_id = ? AND local_day = ?", [station[0], day])


def test_tn_tx_follow_the_meteo_france_windows_and_give_the_dju(hub):
    # J = 2024-01-10: TN 2.0 (row ending 19 UTC on J-1), TX 10.0 (row ending 07 UTC on J); the TN of
    # 18 UTC on J-1, the TN of 20 UTC on J and the TX of 06 UTC on J are not J's
    assert station_day(hub, A, "2024-01-10", "tmin_c, tmax_c") == [(2.0, 10.0)]
    assert station_day(hub, A, "2024-01-09", "tmin_c, tmax_c") == [(1.0, 15.0)]
    # J+1: TN -3.0 from 20 UTC on J; its TX window (07 UTC 01-11 … 06 UTC 01-12) has 18 of 24 rows → NULL
    assert station_day(hub, A, "2024-01-11", "tmin_c, tmax_c, tmin_hours_observed, tmax_hours_observed") == [
        (-3.0, None, 24, 18)]
    montpellier = query(hub, "SELECT tmin_c, tmax_c, dju_18, dju_17, station_id FROM intermediate.int_weather__commune_daily "
                             "WHERE code_commune = '34172' AND local_day = '2024-01-10'")
    assert montpellier == [(2.0, 10.0, 12.0, 11.0, A[0])]  # 18 - (2 + 10)/2 = 12; 17 - 6 = 11
    assert query(hub, "SELECT temperature_min_c, temperature_max_c, dju_18, temperature_moyenne_c, pluie_mm, motif_absence "
                      "FROM marts.meteo_territoire_jour WHERE niveau = 'commune' AND code_territoire = '34172' "
                        "AND jour = '2024-01-10'") == [(2.0, 10.0, 12.0, 5.5, 1.2, None)]


def test_local_day_rain_in_winter_takes_the_hour_ending_at_local_midnight(hub):
    # rows ending 00 UTC and 23 UTC on 01-10 are the first and last hours of local 01-10 (UTC+1)
    assert station_day(hub, A, "2024-01-10", "rain_mm, hours_observed, completeness") == [(pytest.approx(1.2), 24, 1.0)]
    assert station_day(hub, A, "2024-01-11", "rain_mm") == [(5.0,)]


@pytest.mark.parametrize("day, n, tmean", [("2024-03-31", 23, 11.0), ("2024-10-27", 25, 12.0)])
def test_dst_days_use_the_23_and_25_hour_local_day(hub, day, n, tmean):
    # T = 0 … n-1 over the n hours of the local day → mean (n-1)/2; RR1 = 1.0 each → n mm;
    # the rows just outside (T = 50, RR1 = 100) must not count
    assert station_day(hub, A, day, "tmean_c, rain_mm, hours_observed, completeness, day_hours") == [
        (tmean, float(n), n, 1.0, n)]
    assert query(hub, "SELECT day_hours FROM intermediate.int_calendar__days WHERE local_day = ?", [day]) == [(n,)]


def test_each_commune_takes_the_nearest_station_with_data_that_day(hub):
    communes = query(hub, "SELECT code_commune, latitude, longitude FROM intermediate.int_territory__communes")
    rows = dict((r[0], r[1:]) for r in query(
        hub, "SELECT code_commune, station_id, station_distance_km, dju_18 FROM intermediate.int_weather__commune_daily "
               "WHERE local_day = '2024-01-10'"))
    assert len(rows) == 49
    nearest = {}
    for code, lat, lon in communes:
        da, db = haversine_km(lat, lon, A[2], A[3]), haversine_km(lat, lon, B[2], B[3])
        nearest[code] = (A[0], da, 12.0) if da < db else (B[0], db, 16.0)  # B: 18 - (0 + 4)/2
    for code in ("34172", "30032", "34057"):
        station, km, dju = rows[code]
        assert (station, dju) == (nearest[code][0], nearest[code][2]) and km == pytest.approx(nearest[code][1], abs=1e-6)
    assert rows["34172"][0] == A[0] and rows["30032"][0] == B[0]
    assert rows["30032"][1] == pytest.approx(1.72, abs=0.01)  # Beaucaire town hall ↔ station B, by hand
    assert {code: r[0] for code, r in rows.items()} == {code: n[0] for code, n in nearest.items()}
    # 2024-01-11: A has no TX (incomplete window) → Montpellier falls back on B for temperatures,
    # keeps A for the rain
    assert query(hub, "SELECT station_id, dju_18, rain_station_id, rain_mm, is_rainy FROM intermediate.int_weather__commune_daily "
                      "WHERE code_commune = '34172' AND local_day = '2024-01-11'") == [(B[0], 16.0, A[0], 5.0, True)]
    # the region is the plain mean of its 49 communes
    n_a = sum(1 for n in nearest.values() if n[0] == A[0])
    region = query(hub, "SELECT dju_18 FROM marts.meteo_territoire_jour WHERE niveau = 'region' AND jour = '2024-01-10'")
    assert region == [(round((12.0 * n_a + 16.0 * (49 - n_a)) / 49, 2),)]


def test_marts_cover_every_territory_and_explain_missing_values(hub):
    levels = dict(query(hub, "SELECT niveau, count(*) FROM marts.meteo_territoire_jour WHERE jour = '2024-03-31' GROUP BY 1"))
    assert levels == {"commune": 49, "epci": 4, "departement": 2, "region": 1}
    # 2024-03-31 has T and rain but no TN/TX anywhere: temperatures null with a reason, rain present
    tmin, pluie, motif = query(hub, "SELECT temperature_min_c, pluie_mm, motif_absence FROM marts.meteo_territoire_jour "
                                    "WHERE niveau = 'commune' AND code_territoire = '34172' AND jour = '2024-03-31'")[0]
    assert tmin is None and pluie == 23.0 and "TN et TX" in motif
    # 50 days with TN and TX in 2024 (01-09 … 02-28 but 01-12): the year is not published, and says why
    dju, jours, motif = query(hub, "SELECT dju_18, jours_avec_donnees, motif_absence FROM marts.meteo_territoire_annee "
                                   "WHERE niveau = 'region' AND annee = 2024")[0]
    assert dju is None and jours == 50 and "moins de 90 %" in motif


def test_yearly_sums_keep_the_partial_year_with_its_day_count(hub):
    # Montpellier: 01-09 (A: TN 1, TX 15 → 10), 01-10 (A → 12), 01-11 (B → 16); 01-12 none (A's TN
    # window has 18 rows, B's TX window 18); 01-13 … 01-30 (A: 5, 6 → 12.5 × 18); 01-31 (TN 5,
    # TX 8 from February's first rows → 11.5); 02-01 … 02-28 (TN 3, TX 8 → 12.5 × 28); 02-29 has no TX
    # window yet. Rainy: 01-10 (1.2 mm), 01-11 (5 mm), 03-31 (23 mm), 10-27 (25 mm).
    dju, days, rainy, rain, season = query(
        hub, "SELECT dju_18, days_with_data, rainy_days, rain_mm, heating_season_days_with_data "
                            "FROM intermediate.int_weather__commune_yearly WHERE code_commune = '34172' AND year = 2024")[0]
    assert (dju, days, rainy, season) == (10 + 12 + 16 + 12.5 * 18 + 11.5 + 12.5 * 28, 50, 4, 50)
    assert rain == pytest.approx(1.2 + 5 + 23 + 25)


def test_calendar_spans_the_delivered_years(hub):
    assert query(hub, "SELECT min(local_day), max(local_day), count(*), sum(day_hours) FROM intermediate.int_calendar__days") == [
        (datetime(2024, 1, 1).date(), datetime(2024, 12, 31).date(), 366, 366 * 24)]
    assert query(hub, "SELECT iso_day_of_week, is_weekend, is_public_holiday, is_working_day FROM intermediate.int_calendar__days "
                      "WHERE local_day IN ('2024-01-10', '2024-05-20', '2024-06-22') ORDER BY local_day") == [
        (3, False, False, True), (1, False, True, False), (6, True, False, False)]


def test_sun_of_the_communes_is_the_macro_value(hub):
    sunrise, daylight = query(hub, "SELECT sunrise_at, daylight_hours FROM intermediate.int_sun__commune_daily "
                                   "WHERE code_commune = '34172' AND local_day = '2024-06-21'")[0]
    # astral 3.2: 04:03:31 UTC and 15 h 25 min 46 s of daylight at Montpellier's chef-lieu
    assert abs((sunrise - datetime(2024, 6, 21, 4, 3, 31, tzinfo=UTC)).total_seconds()) <= 60
    assert daylight == pytest.approx(15.4294, abs=1 / 60)


# --- incremental -----------------------------------------------------------------------------

def test_incremental_rebuilds_only_the_touched_days_and_matches_a_full_refresh(built):
    _, steps = built
    before = {day: (at_, tmin, tmax) for day, at_, tmin, tmax in steps["before"]}
    after = {day: (at_, tmin, tmax) for day, at_, tmin, tmax in steps["after"]}
    # February's rows touch local days 02-01 … 03-01, widened by one day: of the days already
    # built, only 01-31 and 02-01 are rebuilt; every other day keeps its _built_at
    rebuilt = sorted(str(day) for day in before if after[day][0] != before[day][0])
    assert rebuilt == ["2024-01-31", "2024-02-01"]
    assert len(before) > 30 and set(before) <= set(after)
    # and it mattered: 01-31's TX window runs to 06 UTC on 02-01; with January alone it had 18 of
    # its 24 rows (NULL), with February's first rows it has TX max(6, 8) = 8
    day = datetime(2024, 1, 31).date()
    assert before[day][1:] == (5.0, None) and after[day][1:] == (5.0, 8.0)
    assert steps["full_refresh"] == steps["incremental"]
    assert len(steps["incremental"]) > 60
