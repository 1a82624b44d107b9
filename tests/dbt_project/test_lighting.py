"""Public lighting: hand-made partner deliveries in, exact indicators (computed by hand) out.

The scene, all in 2024:
- Mauguio (34154, CA du Pays de l'Or): 4 syndicate points on cabinet ARM-MAU, one LED (27,5 W) and
  three SHP (100, 70, 150 W); the cabinet index goes 100 → 160 over the year; tickets repaired in
  2 h, 4 h, 30 h plus one still open.
- Candillargues (34050, same EPCI): 2 LED points on ARM-CAN; index 1000, 1010, then the meter is
  reset (5) the day before the last reading (25): 10 + 20 kWh, never a negative day; tickets
  repaired in 20 h and 24 h.
- Montpellier (34172): one point carrying sensor CPT-1, on at night and from 12:00 to 12:50 local
  on 12 June (6 readings in daylight), and a 25-hour day (27 October) all off.
- Beaucaire (30032): the commune's own inventory (cp1252, French labels) and one ticket, no meter.
- CC de Petite Camargue (243000593) and Vauvert (30341): no lighting data at all.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from territoire_hub.settings import Settings
from tests.dbt_harness import build, deliver, ingest, query

PARIS = ZoneInfo("Europe/Paris")
MART = "marts.eclairage_territoire_annee"
PAYS_DE_L_OR, PETITE_CAMARGUE = "243400470", "243000593"
BOM = "\ufeff"

INVENTORY_HEADER = "idPointLumineux;insee;idArmoire;typeSource;puissance;hauteurFeu;support;eclairageAdaptatif"
SYNDICATE_POINTS = [
    "HE-MAU-1;34154;ARM-MAU;LED;27,5;8,0;MAT;EN",
    "HE-MAU-2;34154;ARM-MAU;SHP;100;8,0;MAT;EN",
    "HE-MAU-3;34154;ARM-MAU;SHP;70;6,5;MUR;",
    "HE-MAU-4;34154;ARM-MAU;SHP;150;10,0;MAT;EN",
    "HE-CAN-1;34050;ARM-CAN;LED;50;6,0;MAT;CO",
    "HE-CAN-2;34050;ARM-CAN;LED;50;6,0;MAT;CO",
    "HE-MTP-1;34172;;SHP;100;9,0;MAT;EN",
]
BEAUCAIRE_POINTS = [
    "BCR-1;30032;BCR-ARM-1;LED;40;5,0;Façade;Toute la nuit",
    "BCR-2;30032;BCR-ARM-1;SHP;70;8,0;Mât;Extinction 1h–5h",
]
READINGS_HEADER = "id_armoire;code_insee;date_releve;index_kwh"
TICKETS_HEADER = "numero_ticket;code_insee;id_point_lumineux;date_signalement;date_resolution;type_panne;canal"
SENSOR_HEADER = "id_capteur;id_point_lumineux;horodatage;etat;puissance_w"


def ticket(number: str, insee: str, opened: str, hours: float | None) -> str:
    """A GMAO row in naive local time, resolved ``hours`` later (None: still open)."""
    start = datetime.strptime(opened, "%d/%m/%Y %H:%M")
    resolved = "" if hours is None else (start + timedelta(hours=hours)).strftime("%d/%m/%Y %H:%M")
    return f"{number};{insee};;{opened};{resolved};Lampe HS;Téléphone"


def sensor_day(day: date, lit) -> str:
    """CPT-1 on HE-MTP-1 every 10 minutes of a Paris local day; ``lit(local_time)`` says on/off (100 W)."""
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(timezone.utc)
    rows, instant = [], start
    while instant.astimezone(PARIS).date() == day:
        local = instant.astimezone(PARIS)
        on = lit(local)
        rows.append(f"CPT-1;HE-MTP-1;{local.isoformat()};{'on' if on else 'off'};{'100,0' if on else ''}")
        instant += timedelta(minutes=10)
    return "\n".join([SENSOR_HEADER, *rows]) + "\n"


def night_and_noon(noon_readings: int):
    """On before 05:00 and from 22:00 (night, June), and for ``noon_readings`` steps from 12:00."""
    return lambda t: t.hour < 5 or t.hour >= 22 or 0 <= (t.hour - 12) * 60 + t.minute < 10 * noon_readings


def deliver_scene(settings: Settings) -> None:
    deliver(settings, "herault-energies", "points_lumineux_20240101.csv",
            BOM + "\n".join([INVENTORY_HEADER, *SYNDICATE_POINTS]) + "\n")
    deliver(settings, "ville-beaucaire", "points_lumineux_20240101.csv",
            "\n".join([INVENTORY_HEADER, *BEAUCAIRE_POINTS]) + "\n", encoding="cp1252")
    deliver(settings, "herault-energies", "releves_armoires_202401.csv", BOM + "\n".join([
        READINGS_HEADER,
        "ARM-MAU;34154;01/01/2024;100",
        "ARM-CAN;34050;01/01/2024;1000",
        "ARM-CAN;34050;02/01/2024;1010",
    ]) + "\n")
    deliver(settings, "herault-energies", "releves_armoires_202412.csv", BOM + "\n".join([
        READINGS_HEADER,
        "ARM-MAU;34154;31/12/2024;160",
        "ARM-CAN;34050;30/12/2024;5",  # meter reset: the 2 Jan → 30 Dec interval is unknown
        "ARM-CAN;34050;31/12/2024;25",
    ]) + "\n")
    deliver(settings, "herault-energies", "tickets_pannes_202406.csv", BOM + "\n".join([
        TICKETS_HEADER,
        ticket("HE-1", "34154", "03/06/2024 08:00", 2),
        ticket("HE-2", "34154", "04/06/2024 09:30", 4),
        ticket("HE-3", "34154", "05/06/2024 20:00", 30),
        ticket("HE-4", "34154", "28/06/2024 10:00", None),
        ticket("HE-5", "34050", "10/06/2024 07:00", 20),
        ticket("HE-6", "34050", "11/06/2024 07:00", 24),
    ]) + "\n")
    deliver(settings, "ville-beaucaire", "tickets_pannes_202406.csv", "\n".join([
        TICKETS_HEADER, "BCR-2406-1;30032;BCR-2;12/06/2024 21:00;13/06/2024 00:00;Lampe grillée;Téléphone mairie",
    ]) + "\n", encoding="cp1252")
    deliver(settings, "montpellier-metropole", "capteurs_eclairage_20240612.csv",
            sensor_day(date(2024, 6, 12), night_and_noon(6)))
    deliver(settings, "montpellier-metropole", "capteurs_eclairage_20241027.csv",
            sensor_day(date(2024, 10, 27), lambda t: False))


@pytest.fixture(scope="module")
def built(tmp_path_factory, registry):
    """The scene ingested and built once (models and their tests) for the module's assertions; the
    last test delivers a correction and rebuilds, so it runs last (file order)."""
    settings = Settings.from_env({"HUB_HOME": str(tmp_path_factory.mktemp("lighting"))})
    deliver_scene(settings)
    reports = ingest(settings, registry, [
        "herault_energies__points_lumineux", "ville_beaucaire__points_lumineux",
        "herault_energies__releves_armoires", "herault_energies__tickets_pannes",
        "ville_beaucaire__tickets_pannes", "montpellier_metropole__capteurs_eclairage"])
    assert [(r.loaded, len(r.quarantined)) for r in reports] == [(1, 0), (1, 0), (2, 0), (1, 0), (1, 0), (2, 0)]
    build(settings, "+eclairage_territoire_annee")
    return settings


def row(settings, niveau: str, code: str, columns: str):
    found = query(settings, f"SELECT {columns} FROM {MART} WHERE niveau = ? AND code_territoire = ? AND annee = 2024",
                  [niveau, code])
    assert len(found) == 1, (niveau, code, found)
    return found[0]


def test_led_share_power_and_kwh_per_point_of_a_commune(built):
    points, led, kw, conso, per_point = row(
        built, "commune", "34154",
        "points_lumineux, part_led_pct, puissance_installee_kw, conso_armoires_kwh, kwh_par_point_lumineux")
    assert (points, led) == (4, 25.0)                      # 1 LED of 4 points
    assert kw == pytest.approx(0.3475, abs=1e-12)          # 27.5 + 100 + 70 + 150 W
    assert conso == pytest.approx(60.0, abs=1e-9)          # index 100 → 160
    assert per_point == pytest.approx(15.0, abs=1e-9)      # 60 kWh / 4 points


def test_a_meter_reset_gives_no_negative_day_and_is_flagged(built):
    days = dict(query(built, """
        SELECT consumption_status, count(*) FROM intermediate.int_lighting__cabinet_daily
        WHERE cabinet_id = 'ARM-CAN' GROUP BY 1"""))
    assert days == {"first_reading": 1, "measured": 2, "index_reset": 363}  # 3 Jan … 30 Dec of a leap year
    assert query(built, "SELECT min(consumption_kwh) FROM intermediate.int_lighting__cabinet_daily")[0][0] >= 0
    conso, per_point = row(built, "commune", "34050", "conso_armoires_kwh, kwh_par_point_lumineux")
    assert conso == pytest.approx(30.0, abs=1e-9)          # 10 (2 Jan) + 20 (31 Dec)
    assert per_point == pytest.approx(15.0, abs=1e-9)


def test_epci_rollup_is_the_sum_of_its_communes_for_additive_measures(built):
    additive = ["points_lumineux", "puissance_installee_kw", "conso_armoires_kwh", "pannes", "capteurs_suivis",
                "heures_allumage_en_journee", "energie_allumage_en_journee_kwh"]
    sums = ", ".join(f"sum(m.{c})" for c in additive)
    for code_epci, in query(built, "SELECT DISTINCT code_epci FROM intermediate.int_territory__communes"):
        epci = row(built, "epci", code_epci, ", ".join(additive))
        communes = query(built, f"""
            SELECT {sums} FROM {MART} AS m
            JOIN intermediate.int_territory__communes AS c ON c.code_commune = m.code_territoire
            WHERE m.niveau = 'commune' AND m.annee = 2024 AND c.code_epci = ?""", [code_epci])[0]
        assert epci == pytest.approx(communes, abs=1e-9), code_epci
    # by hand for the Pays de l'Or: 6 points, 60 + 30 kWh, 6 tickets
    pays_de_l_or = row(built, "epci", PAYS_DE_L_OR, "points_lumineux, conso_armoires_kwh, pannes, part_led_pct")
    assert pays_de_l_or == pytest.approx((6, 90.0, 6, 50.0))  # 3 LED of 6 points


def test_kwh_per_inhabitant_uses_the_real_cog_population(built):
    population, = query(
        built, "SELECT population FROM intermediate.int_territory__communes WHERE code_commune = '34154'")[0]
    assert population > 10_000  # Mauguio, COG 2026
    per_inhabitant, mart_population = row(built, "commune", "34154", "kwh_par_habitant, population")
    assert mart_population == population
    assert per_inhabitant == pytest.approx(60.0 / population, rel=1e-12)


def test_hours_lit_in_daylight_from_sensor_readings(built):
    day = query(built, """
        SELECT code_commune, readings_count, expected_readings, hours_lit, hours_lit_in_daylight,
               energy_kwh, energy_in_daylight_kwh
        FROM intermediate.int_lighting__sensor_daily WHERE sensor_id = 'CPT-1' AND local_day = DATE '2024-06-12'""")
    # 30 readings before 05:00, 12 from 22:00 (both in the dark in June), 6 from 12:00: 48 on
    assert day == [("34172", 144, 144, 8.0, 1.0, pytest.approx(0.8), pytest.approx(0.1))]
    autumn = query(built, """
        SELECT readings_count, expected_readings, hours_lit FROM intermediate.int_lighting__sensor_daily
        WHERE sensor_id = 'CPT-1' AND local_day = DATE '2024-10-27'""")
    assert autumn == [(150, 150, 0.0)]                     # the 25-hour day
    hours, kwh, sensors, rate = row(built, "commune", "34172",
                                    "heures_allumage_en_journee, energie_allumage_en_journee_kwh, capteurs_suivis, "
                                    "taux_releves_capteurs_pct")
    assert (hours, sensors, rate) == (1.0, 1, 100.0)
    assert kwh == pytest.approx(0.1, abs=1e-12)            # 6 × 100 W × 10 min


def test_median_repair_time_of_an_epci_comes_from_its_tickets(built):
    mauguio = row(built, "commune", "34154",
                  "pannes, pannes_resolues, delai_median_reparation_h, pannes_pour_1000_points")
    candillargues = row(built, "commune", "34050", "pannes, delai_median_reparation_h")
    epci = row(built, "epci", PAYS_DE_L_OR, "pannes, delai_median_reparation_h")
    assert mauguio == (4, 3, 4.0, 1000.0)                  # 2, 4, 30 h (+1 open) ; 4 tickets / 4 points
    assert candillargues == (2, 22.0)                      # 20, 24 h
    assert epci == (6, 20.0)                               # 2, 4, 20, 24, 30 h — not (4 + 22) / 2 = 13
    # Montpellier is covered by the syndicate's tickets: no failure is a real 0, with no median
    assert row(built, "commune", "34172", "pannes, delai_median_reparation_h") == (0, None)
    assert row(built, "commune", "30032", "points_lumineux, part_led_pct, pannes, delai_median_reparation_h") == (
        2, 50.0, 1, 3.0)                                   # Beaucaire's own inventory and GMAO


def test_a_territory_without_lighting_data_has_null_measures_and_a_reason(built):
    measures = ("points_lumineux, part_led_pct, puissance_installee_kw, conso_armoires_kwh, kwh_par_point_lumineux, "
                "kwh_par_habitant, heures_allumage_en_journee, energie_allumage_en_journee_kwh, capteurs_suivis, "
                "pannes, delai_median_reparation_h, pannes_pour_1000_points")
    for niveau, code in [("epci", PETITE_CAMARGUE), ("commune", "30341")]:
        *values, population, reason = row(built, niveau, code, measures + ", population, motif_absence")
        assert values == [None] * 12 and population > 0
        assert reason == ("aucun inventaire de points lumineux; aucun relevé d'armoire sur l'année; "
                          "aucun capteur de luminaire; aucun ticket de panne transmis pour ce territoire")
    # Beaucaire: points and tickets, no meter, no sensor — only those measures are null, with their reason
    conso, sensors, reason = row(built, "commune", "30032", "conso_armoires_kwh, capteurs_suivis, motif_absence")
    assert (conso, sensors) == (None, None)
    assert reason == "aucun relevé d'armoire sur l'année; aucun capteur de luminaire"
    levels = query(built, f"SELECT niveau, count(*) FROM {MART} GROUP BY 1")
    assert dict(levels) == {"commune": 49, "epci": 4, "departement": 2, "region": 1}


def test_a_corrected_sensor_day_is_rebuilt_incrementally_like_a_full_refresh(built, registry):
    deliver(built, "montpellier-metropole", "capteurs_eclairage_20240612_rectificatif.csv",
            sensor_day(date(2024, 6, 12), night_and_noon(12)))  # lit 12:00–13:50 in fact
    ingest(built, registry, ["montpellier_metropole__capteurs_eclairage"])
    columns = "sensor_id, local_day, readings_count, hours_lit, hours_lit_in_daylight, energy_kwh, energy_in_daylight_kwh"
    sql = f"SELECT {columns} FROM intermediate.int_lighting__sensor_daily ORDER BY ALL"
    built_at = "SELECT local_day, _built_at FROM intermediate.int_lighting__sensor_daily ORDER BY 1"
    (june, first_build), (_, untouched) = query(built, built_at)
    # the sensors' current rows (a table kept by delivery), the day model, the mart
    build(built, "stg_eclairage_capteurs", "int_lighting__sensor_daily", "eclairage_territoire_annee")
    incremental = query(built, sql)
    (_, june_rebuilt), (_, october_kept) = query(built, built_at)
    assert june_rebuilt > first_build and october_kept == untouched  # only the corrected day was rebuilt
    assert incremental[0] == ("CPT-1", june, 144, 9.0, 2.0, pytest.approx(0.9), pytest.approx(0.2))
    assert row(built, "commune", "34172", "heures_allumage_en_journee")[0] == 2.0
    build(built, "int_lighting__sensor_daily", full_refresh=True)
    assert query(built, sql) == incremental
