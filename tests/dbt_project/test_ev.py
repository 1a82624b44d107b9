"""EV charging domain: a hand-made IRVE inventory and status feed in, exact counts and occupancy out.

Inventory (IRVE static): Montpellier P1 7.4 kW and P2 22 kW (station S1), P3 50 kW and P8 43 kW (S2);
Castelnau-le-Lez P4 150 kW and P5 3.7 kW (S3); P6 300 kW without an INSEE code, 300 m from Lattes'
chef-lieu (S4); Beaucaire P7 without a power (S5).

Status feed (IRVE dynamic), Paris local times; local days 22nd and 23rd (24 h) and 27th (25 h):
    P1  22nd 08:00 occupe, 10:00 libre (never seen before)  → 22nd: 2 h / 24 h, observed 16 h
    P2  22nd 00:00 libre, 23:00 reserve; 23rd 01:00 libre   → 1 h on the 22nd, 1 h on the 23rd
    P3  27th 00:00 (+02:00) occupe, 12:00 (+01:00) libre    → 13 h of the 25-hour day
    P4  22nd 00:00 libre, 06:00 hors_service, 12:00 occupe, 18:00 libre → 6 h occupied, 18 h in service
A state holds until the point's next event, across days the feed does not cover (24th–26th).
"""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import pytest

from territoire_hub.orchestration.dbt import BUILD, run_dbt
from territoire_hub.settings import Settings
from territoire_hub.sources.demo.irve import DYNAMIC_HEADER
from territoire_hub.sources.landing import land
from territoire_hub.orchestration.ingestion import load_delivery
from territoire_hub.sources.transports import Incoming
from territoire_hub.warehouse import connect
from tests.dbt_harness import query

STATIC = "recharge_sud__irve_statique"
DYNAMIC = "recharge_sud__irve_dynamique"
EV_MARTS = ["+recharge_territoire", "+recharge_territoire_annee"]
MONTPELLIER, CASTELNAU, LATTES, BEAUCAIRE, PEROLS, METROPOLE = "34172", "34057", "34129", "30032", "34198", "243400017"
STATIC_HEADER = ("id_station_itinerance,nom_station,implantation_station,code_insee_commune,coordonneesXY,nbre_pdc,"
                 "id_pdc_itinerance,puissance_nominale,prise_type_2,prise_type_combo_ccs,date_maj")
EVENTS = {
    "20241022": [
        ("P1", "en_service", "occupe", "2024-10-22T08:00:00+02:00"),
        ("P1", "en_service", "libre", "2024-10-22T10:00:00+02:00"),
        ("P2", "en_service", "libre", "2024-10-22T00:00:00+02:00"),
        ("P2", "en_service", "reserve", "2024-10-22T21:00:00+0000"),  # 23:00 local, written in UTC
        ("P4", "en_service", "libre", "2024-10-22T00:00:00+02:00"),
        ("P4", "hors_service", "inconnu", "2024-10-22T06:00:00+02:00"),
        ("P4", "en_service", "occupe", "2024-10-22T12:00:00+02:00"),
        ("P4", "en_service", "libre", "2024-10-22T18:00:00+02:00"),
    ],
    "20241023": [("P2", "en_service", "libre", "2024-10-23T01:00:00+02:00")],
    "20241027": [
        ("P3", "en_service", "occupe", "2024-10-27T00:00:00+02:00"),
        ("P3", "en_service", "libre", "2024-10-27T12:00:00+01:00"),
    ],
}


def pdc(name: str) -> str:
    return f"FRRSDE{name}"


def static_file(lattes: tuple[float, float]) -> str:
    lat, lon = lattes
    points = [  # station, commune, "[lon, lat]", point, kW
        ("S1", MONTPELLIER, "[3.8772, 43.6109]", "P1", "7.4"),
        ("S1", MONTPELLIER, "[3.8772, 43.6109]", "P2", "22"),
        ("S2", MONTPELLIER, "[3.8800, 43.6050]", "P3", "50"),
        ("S2", MONTPELLIER, "[3.8800, 43.6050]", "P8", "43"),
        ("S3", CASTELNAU, "[3.9000, 43.6333]", "P4", "150"),
        ("S3", CASTELNAU, "[3.9000, 43.6333]", "P5", "3.7"),
        ("S4", "", f"[{lon + 0.003:.6f}, {lat + 0.001:.6f}]", "P6", "300"),
        ("S5", BEAUCAIRE, "[4.6442, 43.8081]", "P7", ""),
    ]
    rows = [f'FRRSDP{s},Station {s},Voirie,{commune},"{xy}",2,{pdc(p)},{kw},true,false,2024-10-01'
            for s, commune, xy, p, kw in points]
    return "\n".join([STATIC_HEADER, *rows]) + "\n"


def dynamic_file(period: str) -> bytes:
    rows = [f"{pdc(p)},{etat},{occupation},{stamp},,,," for p, etat, occupation, stamp in EVENTS[period]]
    return gzip.compress(("\n".join([",".join(DYNAMIC_HEADER), *rows]) + "\n").encode())


def land_and_load(settings: Settings, registry, key: str, name: str, content: bytes) -> None:
    """Land and load a hand-made file as the HTTP transport would have delivered it."""
    entry = registry.dataset(key)
    match = re.match(entry.dataset.filename, name) if entry.dataset.filename else None
    period = match.group("period") if match else "snapshot"
    path = settings.data_dir / "handmade" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    con = connect(settings.warehouse)
    try:
        landed = land(con, settings.landing, entry, Incoming(key, name, f"test:{path}", path, period))
        stored = con.execute("SELECT stored_path FROM landing.deliveries WHERE delivery_id = ?",
                             [landed.delivery_id]).fetchone()[0]
        load_delivery(con, entry, landed.delivery_id, Path(stored))
    finally:
        con.close()


def deliver_ev(settings: Settings, registry, template: Path, periods: list[str]) -> None:
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, settings.warehouse)  # COG and catalogue already loaded
    lattes = query(settings, "SELECT latitude, longitude FROM ref.communes WHERE code_commune = ? "
                             "AND type_commune = 'commune-actuelle'", [LATTES])[0]
    land_and_load(settings, registry, STATIC, "irve_statique.csv", static_file(lattes).encode())
    for period in periods:
        land_and_load(settings, registry, DYNAMIC, f"irve_dynamique_{period}.csv.gz", dynamic_file(period))


@pytest.fixture(scope="module")
def built(tmp_path_factory, registry, warehouse_template) -> Settings:
    settings = Settings.from_env({"HUB_HOME": str(tmp_path_factory.mktemp("ev"))})
    deliver_ev(settings, registry, warehouse_template, ["20241022", "20241023", "20241027"])
    run_dbt(settings, [*BUILD, "--select", *EV_MARTS, "--indirect-selection", "cautious"])
    return settings


def daily(settings, point: str) -> dict:
    rows = query(settings, """
        SELECT local_day, day_hours, round(observed_hours, 6), round(occupied_hours, 6), round(in_service_hours, 6),
               round(occupied_share_pct, 6), is_fully_observed
        FROM intermediate.int_ev__charge_point_daily WHERE charge_point_id = ? ORDER BY local_day""", [pdc(point)])
    return {str(r[0]): r[1:] for r in rows}


def test_a_status_holds_until_the_next_event_and_days_are_cut_at_local_midnight(built):
    # 08:00 occupe, 10:00 libre: 2 h of 24 = 8.33 %; before 08:00 the point was not observed
    assert daily(built, "P1") == {
        "2024-10-22": (24, 16.0, 2.0, 16.0, round(100 * 2 / 24, 6), False),
        "2024-10-23": (24, 24.0, 0.0, 24.0, 0.0, True),
        "2024-10-27": (25, 25.0, 0.0, 25.0, 0.0, True),   # libre carried over the 24th–26th
    }
    # reserve from 23:00 on the 22nd to 01:00 on the 23rd: the day's first state is the last event before midnight
    assert daily(built, "P2") == {
        "2024-10-22": (24, 24.0, 1.0, 24.0, round(100 / 24, 6), True),
        "2024-10-23": (24, 24.0, 1.0, 24.0, round(100 / 24, 6), True),
        "2024-10-27": (25, 25.0, 0.0, 25.0, 0.0, True),
    }
    # 22:00 UTC on the 26th (00:00+02:00) to 11:00 UTC (12:00+01:00): 13 real hours of a 25-hour day
    assert daily(built, "P3") == {"2024-10-27": (25, 25.0, 13.0, 25.0, 52.0, True)}
    # out of order 06:00–12:00: 18 h in service, occupied 12:00–18:00
    assert daily(built, "P4")["2024-10-22"] == (24, 24.0, 6.0, 18.0, 25.0, True)


def test_inventory_per_territory_with_power_classes(built):
    columns = ("points_de_charge, stations, puissance_installee_kw, points_jusqu_a_7_4kw, points_7_4_a_22kw, "
               "points_22_a_50kw, points_50_a_150kw, points_150kw_et_plus, points_puissance_inconnue")

    def inventory(niveau, code):
        return query(built, f"SELECT {columns} FROM marts.recharge_territoire WHERE niveau = ? AND code_territoire = ?",
                     [niveau, code])[0]

    # 7.4 is normal charging, 22 accelerated, 50 fast: the class boundaries are inclusive as documented
    assert inventory("commune", MONTPELLIER) == (4, 2, 122.4, 1, 1, 1, 1, 0, 0)
    assert inventory("commune", CASTELNAU) == (2, 1, 153.7, 1, 0, 0, 0, 1, 0)
    assert inventory("commune", LATTES) == (1, 1, 300.0, 0, 0, 0, 0, 1, 0)  # located by its coordinates
    assert inventory("commune", BEAUCAIRE) == (1, 1, 0.0, 0, 0, 0, 0, 0, 1)
    assert inventory("commune", PEROLS) == (0, 0, 0.0, 0, 0, 0, 0, 0, 0)
    # the EPCI is the sum of its communes
    epci = inventory("epci", METROPOLE)
    assert epci == (7, 4, 576.1, 2, 1, 1, 1, 2, 0)
    summed = query(built, f"""
        SELECT sum(points_de_charge), sum(stations), sum(puissance_installee_kw)
        FROM marts.recharge_territoire m JOIN intermediate.int_territory__communes c ON c.code_commune = m.code_territoire
        WHERE m.niveau = 'commune' AND c.code_epci = '{METROPOLE}'""")[0]
    assert summed[:2] == (7, 4) and summed[2] == pytest.approx(576.1, abs=1e-9)  # the test's own float sum
    assert inventory("region", "76")[0] == 8


def test_points_per_1000_inhabitants_use_the_cog_population(built):
    population = query(built, "SELECT population FROM intermediate.int_territory__communes WHERE code_commune = ?",
                       [MONTPELLIER])[0][0]
    assert population == 310240  # COG 2026 population municipale of Montpellier
    assert query(built, "SELECT points_pour_1000_habitants FROM marts.recharge_territoire "
                        "WHERE niveau = 'commune' AND code_territoire = ?", [MONTPELLIER]) == [(0.0129,)]  # 4000 / 310240
    epci_population = query(built, "SELECT population FROM intermediate.int_territory__levels "
                                   "WHERE niveau = 'epci' AND code_territoire = ?", [METROPOLE])[0][0]
    assert query(built, "SELECT points_pour_1000_habitants FROM marts.recharge_territoire "
                        "WHERE niveau = 'epci' AND code_territoire = ?", [METROPOLE]) == [
        (round(7000 / epci_population, 4),)]


def test_occupancy_rate_per_territory_is_time_weighted(built):
    columns = "points_observes, taux_occupation_pct, taux_en_service_pct, part_point_dominant_pct, motif_absence"

    def usage(niveau, code):
        return query(built, f"SELECT {columns} FROM marts.recharge_territoire_annee "
                            "WHERE niveau = ? AND code_territoire = ? AND annee = 2024", [niveau, code])[0]

    # observed hours: P1 16 + 24 + 25, P2 24 + 24 + 25, P3 25 = 163; occupied 2 + 2 + 13 = 17
    assert usage("commune", MONTPELLIER) == (3, 10.43, 100.0, 76.47, None)
    # P4: 73 h observed, 6 occupied, 67 in service
    assert usage("commune", CASTELNAU) == (1, 8.22, 91.78, 100.0, None)
    # 23 / 236, 230 / 236, 13 / 23
    assert usage("epci", METROPOLE) == (4, 9.75, 97.46, 56.52, None)
    assert usage("commune", BEAUCAIRE) == (
        0, None, None, None,
        "taux_occupation_pct, taux_en_service_pct, part_point_dominant_pct : "
        "aucun point de charge du territoire dans le flux d'états cette année")
    current = query(built, "SELECT annee_usage, points_observes, taux_occupation_pct, motif_absence "
                           "FROM marts.recharge_territoire WHERE niveau = 'epci' AND code_territoire = ?", [METROPOLE])
    assert current == [(2024, 4, 9.75, None)]
    assert query(built, "SELECT niveau, count(*) FROM marts.recharge_territoire GROUP BY 1 ORDER BY 1") == [
        ("commune", 49), ("departement", 2), ("epci", 4), ("region", 1)]


def test_a_late_day_rebuilds_the_following_days_and_matches_a_full_build(settings, registry, built,
                                                                         warehouse_template):
    """The 23rd arrives after the 27th was built: P2's reserve state must stop at 01:00 on the 23rd."""
    deliver_ev(settings, registry, warehouse_template, ["20241022", "20241027"])
    run_dbt(settings, ["run", "--select", "+int_ev__charge_point_daily"])
    assert daily(settings, "P2")["2024-10-27"][2] == 25.0  # still reserved, for now
    before = dict(query(settings, "SELECT local_day, max(_built_at) FROM intermediate.int_ev__charge_point_daily GROUP BY 1"))

    land_and_load(settings, registry, DYNAMIC, "irve_dynamique_20241023.csv.gz", dynamic_file("20241023"))
    # the events' current rows (a table kept by delivery), the events of every layout, then the days
    run_dbt(settings, ["run", "--select", "stg_irve_dynamique", "int_ev__status_events", "int_ev__charge_point_daily"])
    after = dict(query(settings, "SELECT local_day, max(_built_at) FROM intermediate.int_ev__charge_point_daily GROUP BY 1"))
    assert sorted(str(d) for d in after if d not in before or after[d] != before[d]) == ["2024-10-23", "2024-10-27"]

    sql = "SELECT * EXCLUDE (_built_at) FROM intermediate.int_ev__charge_point_daily ORDER BY 1, 2"
    assert query(settings, sql) == query(built, sql)
