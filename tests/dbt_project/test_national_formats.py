"""The national layouts reach the marts: real public lines of every family delivered by the
partners of one territory, ingested, built with every dbt test, values checked by hand.

The territory: the Ain (01, a whole département, for the ORE département totals) and the
communes the real samples are about — Montpellier (34172: lighting inventories and counting
campaigns), Belmont (67027: a Bas-Rhin weather station), Paris (75056: permanent counters),
Roissy-en-France (95527: the A1 in the national TMJA file) and Oudon (44115: the Champtoceaux
counting site, see below).
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from territoire_hub.orchestration.dbt import run_dbt
from territoire_hub.orchestration.ingestion import ingest_all
from territoire_hub.settings import Settings
from territoire_hub.warehouse import connect
from tests.conftest import SHARED_FORMATS
from tests.dbt_project import partners
from tests.sources.shapefiles import write_points_shapefile

pytestmark = pytest.mark.skipif(not SHARED_FORMATS.is_dir(), reason="../shared/formats not present")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"

TERRITORY = """territory:
  name: "Formats nationaux"
  cog_vintage: 2026
  departements: ["01"]
  communes: ["34172", "67027", "75056", "95527", "44115"]
"""

PARTNERS = {
    "meteo-france.yaml": """
partner: {id: meteo-france, name: Météo-France, kind: public_agency}
datasets:
  - {id: quotidien, format: meteo_france_quotidien, transport: {type: inbox}, filename: '^Q_.*_RR-T-Vent.*\\.csv$',
     cadence: daily, period: content, start: "2020-01-01", licence: licence-ouverte-2.0, sensitivity: open}
  - {id: quotidien_autres, format: meteo_france_quotidien_autres, transport: {type: inbox}, filename: '^Q_.*_autres-parametres.*\\.csv$',
     cadence: daily, period: content, start: "2020-01-01", licence: licence-ouverte-2.0, sensitivity: open}
  - {id: horaire, format: meteo_france_horaire, transport: {type: inbox}, filename: '^H_.*\\.csv$',
     cadence: daily, period: content, start: "2020-01-01", licence: licence-ouverte-2.0, sensitivity: open}
  - {id: six_minutes, format: meteo_france_6min, transport: {type: inbox}, filename: '^MN_.*\\.csv$',
     cadence: daily, period: content, start: "2020-01-01", licence: licence-ouverte-2.0, sensitivity: open}
  - {id: stations, format: meteo_france_postes, transport: {type: inbox}, filename: '^liste-stations.*\\.csv$',
     cadence: snapshot, licence: licence-ouverte-2.0, sensitivity: open}
  - {id: fiches, format: meteo_france_fiches, transport: {type: inbox}, filename: '^fiches.*\\.json$',
     cadence: snapshot, licence: licence-ouverte-2.0, sensitivity: open}
""",
    "agence-ore.yaml": """
partner: {id: agence-ore, name: Agence ORE, kind: public_agency}
datasets:
  - {id: departement, format: ore_conso_departement, transport: {type: inbox}, filename: '^ore_departement_\\d{4}\\.csv$',
     cadence: yearly, period: content, start: "2011-01-01", licence: licence-ouverte-2.0, sensitivity: open}
  - {id: departement_large, format: ore_conso_departement_large, transport: {type: inbox}, filename: '^ore_departement_large.*\\.csv$',
     cadence: yearly, period: content, start: "2011-01-01", licence: licence-ouverte-2.0, sensitivity: open}
  - {id: region_naf, format: ore_conso_region_naf, transport: {type: inbox}, filename: '^ore_region_naf.*\\.csv$',
     cadence: yearly, period: content, start: "2011-01-01", licence: licence-ouverte-2.0, sensitivity: open}
""",
    "ministere-transports.yaml": """
partner: {id: ministere-transports, name: Ministère chargé des transports, kind: public_agency}
datasets:
  - {id: tmja_rrn, format: tmja_rrn, transport: {type: inbox}, filename: '^tmja-rrnc-(?P<period>\\d{4})\\.csv$',
     cadence: yearly, start: "2019-01-01", licence: licence-ouverte-2.0, sensitivity: open}
""",
    "ville-montpellier.yaml": """
partner: {id: ville-montpellier, name: Ville de Montpellier, kind: commune, siren: "213401722"}
datasets:
  - {id: campagnes, format: comptage_campagne_sig, transport: {type: inbox}, filename: '^comptages_vehicules.*\\.csv$',
     cadence: snapshot, licence: licence-ouverte-2.0, sensitivity: open}
  - {id: supports_eclairage, format: eclairage_points_shapefile, transport: {type: inbox}, filename: '^VilleMTP_.*\\.zip$',
     cadence: snapshot, licence: licence-ouverte-2.0, sensitivity: open}
""",
    "metropole.yaml": """
partner: {id: metropole, name: Montpellier Méditerranée Métropole, kind: epci, siren: "243400017"}
datasets:
  - {id: points_l93, format: eclairage_points_l93, transport: {type: inbox}, filename: '^supports_eclairage.*\\.csv$',
     cadence: snapshot, licence: licence-ouverte-2.0, sensitivity: open}
""",
    "loire-atlantique.yaml": """
partner: {id: loire-atlantique, name: Département de Loire-Atlantique, kind: public_agency}
datasets:
  - {id: sites, format: comptage_mobilites_site, transport: {type: inbox}, filename: '^site.*\\.csv$',
     cadence: snapshot, licence: licence-ouverte-2.0, sensitivity: open}
  - {id: canaux, format: comptage_mobilites_channel, transport: {type: inbox}, filename: '^channel.*\\.csv$',
     cadence: snapshot, licence: licence-ouverte-2.0, sensitivity: open}
  - {id: mesures, format: comptage_mobilites_measure, transport: {type: inbox}, filename: '^measure.*\\.csv$',
     cadence: daily, period: content, start: "2022-01-01", licence: licence-ouverte-2.0, sensitivity: open}
""",
    "electra.yaml": partners.electra(start="2025-01-01"),
    "qualicharge.yaml": """
partner: {id: qualicharge, name: QualiCharge, kind: public_agency}
datasets:
  - {id: statique_api, format: irve_statique, transport: {type: inbox}, filename: '^irve_statique_api.*\\.csv$',
     cadence: snapshot, licence: licence-ouverte-2.0, sensitivity: open}
  - {id: statique_export, format: irve_statique_qualicharge, transport: {type: inbox}, filename: '^donnees_statiques.*\\.csv$',
     cadence: snapshot, licence: licence-ouverte-2.0, sensitivity: open}
""",
}

DELIVERIES = {   # partner: [(source file, delivered name)]
    "meteo-france": [
        (FIXTURES / "meteo/Q_67_latest-2024-2025_RR-T-Vent_extract.csv", "Q_67_latest-2024-2025_RR-T-Vent.csv"),
        (SHARED_FORMATS / "meteo/Q_01_sample_RR-T-Vent_ARBENT.csv", "Q_01_latest-2023-2024_RR-T-Vent.csv"),
        (SHARED_FORMATS / "meteo/Q_01_sample_autres-parametres_ARBENT.csv", "Q_01_latest-2023-2024_autres-parametres.csv"),
        (FIXTURES / "meteo/MN_01_latest-2023-2024_extract.csv", "MN_01_latest-2023-2024.csv"),
        (FIXTURES / "meteo/liste-stations-obs-metropole-om_extract.csv", "liste-stations-obs-metropole-om.csv"),
        (FIXTURES / "meteo/fiches_extract.json", "fiches.json"),
    ],
    "agence-ore": [
        (FIXTURES / "energy/ore_conso_elec_gaz_departement_2023_extract.csv", "ore_departement_2023.csv"),
        (FIXTURES / "energy/ore_conso_elec_gaz_departement_wide_portal_export_extract.csv", "ore_departement_large.csv"),
        (FIXTURES / "energy/ore_conso_elec_gaz_region_naf_portal_export_extract.csv", "ore_region_naf.csv"),
    ],
    "ministere-transports": [
        (FIXTURES / "traffic/tmja_rrn_2019_extract.csv", "tmja-rrnc-2019.csv"),
        (FIXTURES / "traffic/tmja_rrnc_2024_header_and_2_lines_via_civix.csv", "tmja-rrnc-2024.csv"),
    ],
    "ville-montpellier": [
        (FIXTURES / "traffic/montpellier_comptages_vehicules_dbf_export_cp1252.csv", "comptages_vehicules.csv"),
    ],
    "metropole": [
        (SHARED_FORMATS / "lighting/montpellier_supports_eclairage_2013_extract.csv", "supports_eclairage_2013.csv"),
    ],
    "loire-atlantique": [
        (SHARED_FORMATS / "traffic/comptage_mobilites_site_exemple.csv", "site.csv"),
        (SHARED_FORMATS / "traffic/comptage_mobilites_channel_exemple.csv", "channel.csv"),
        (FIXTURES / "traffic/comptage_mobilites_measure_eco_compteur_dst_2022.csv", "measure_2022_dst.csv"),
    ],
    "electra": [
        (FIXTURES / "irve/irve_dynamique_electra_qualicharge_status_export_extract.csv", "export_status_electra_26-05-2025.csv"),
        (FIXTURES / "irve/irve_dynamique_electra_lien_id_pdc_extract.csv", "export_lien_id_pdc.csv"),
    ],
    "qualicharge": [
        (FIXTURES / "irve/irve_statique_qualicharge_api_totalenergies_extract.csv", "irve_statique_api_totalenergies.csv"),
        (FIXTURES / "irve/irve_statique_qualicharge_staging_greenspot_ozecar_extract.csv", "donnees_statiques_2025-08-17.csv"),
    ],
}


def hourly_around_belmont_2024_01_01() -> str:
    """Hourly rows of station 67027001 (Belmont) over the TN and TX windows of 1 January 2024,
    whose extremes are the published daily values (TN -0.1 at 03:59 UTC, TX 2.5 at 05:13 UTC the
    next morning), plus two traps just outside the windows: a colder hour ending 19 UTC on the
    1st (it belongs to the 2nd's TN window) and a warmer hour ending 06 UTC on the 1st (the 31st's
    TX window). Generated from the real daily line; the header is the real H file's."""
    header = (FIXTURES / "meteo/H_01_latest-2023-2024_extract.csv").read_text().splitlines()[0].split(";")
    index = {name: i for i, name in enumerate(header)}
    start = datetime(2023, 12, 31, 19, tzinfo=timezone.utc)
    lines = [";".join(header)]
    for h in range(36):
        ends = start + timedelta(hours=h)
        tn, tx = 1.0, 2.0
        if ends == datetime(2024, 1, 1, 4, tzinfo=timezone.utc):
            tn = -0.1
        if ends == datetime(2024, 1, 1, 19, tzinfo=timezone.utc):
            tn = -3.0                                           # trap: the next day's window
        if ends == datetime(2024, 1, 2, 6, tzinfo=timezone.utc):
            tx = 2.5
        if ends == datetime(2024, 1, 1, 6, tzinfo=timezone.utc):
            tx = 5.0                                            # trap: the previous day's window
        cells = [""] * len(header)
        for name, value in {"NUM_POSTE": "67027001", "NOM_USUEL": "BELMONT", "LAT": "48.406333", "LON": "7.267167",
                            "ALTI": "1065", "AAAAMMJJHH": ends.strftime("%Y%m%d%H"), "T": f"{(tn + tx) / 2:.1f}",
                            "QT": "1", "TN": f"{tn:.1f}", "QTN": "1", "TX": f"{tx:.1f}", "QTX": "1"}.items():
            cells[index[name]] = value
        lines.append(";".join(cells))
    return "\n".join(lines) + "\n"


def query(settings: Settings, sql: str, params=()) -> list[tuple]:
    con = connect(settings.warehouse, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("national")
    folder = root / "registry"
    folder.mkdir()
    (folder / "territory.yaml").write_text(TERRITORY)
    for name, text in PARTNERS.items():
        (folder / name).write_text(text)
    settings = Settings.from_env({"HUB_HOME": str(root), "HUB_REGISTRY": str(folder)})
    registry = settings.load_registry()
    for partner, files in DELIVERIES.items():
        inbox = settings.inbox / partner
        inbox.mkdir(parents=True, exist_ok=True)
        for source, name in files:
            shutil.copyfile(source, inbox / name)
    (settings.inbox / "meteo-france" / "H_67_belmont_20240101.csv").write_text(hourly_around_belmont_2024_01_01())
    write_points_shapefile(SHARED_FORMATS / "lighting/montpellier_supports_eclairage_2013_extract.csv",
                           settings.inbox / "ville-montpellier" / "VilleMTP_MTP_EclairagePublic.zip")
    con = connect(settings.warehouse)
    try:
        reports = ingest_all(con, settings, registry)
        problems = con.execute("SELECT d.filename, i.code, i.line, i.message FROM landing.issues i "
                               "JOIN landing.deliveries d USING (delivery_id) WHERE i.severity = 'error'").fetchall()
    finally:
        con.close()
    assert problems == []
    assert {r.dataset_key for r in reports if r.loaded} == set(registry.datasets)
    run_dbt(settings, ["build"])                  # every model and every dbt test
    return settings


def test_daily_values_are_the_published_ones_and_agree_with_the_hourly_files(built):
    # Belmont, 1 January 2024: TN -0.1, TX 2.5, TM 0.4, RR 5.2 as published (Q_67 line 2)
    assert query(built, "SELECT tmin_c, tmax_c, tmean_c, rain_mm, temperature_source, rain_source, "
                        "round(dju_18_quotidien, 2), round(dju_18_horaire, 2) FROM intermediate.int_weather__station_days "
                        "WHERE station_id = '67027001' AND local_day = '2024-01-01'") == [
        (-0.1, 2.5, 0.4, 5.2, "quotidien", "quotidien", 16.8, 16.8)]
    # the warn-level test comparing both DJU found no disagreement
    assert query(built, "SELECT count(*) FROM intermediate.int_weather__station_days "
                        "WHERE abs(dju_18_quotidien - dju_18_horaire) > 0.05") == [(0,)]
    # Belmont's commune takes its daily weather from its own station: 40 days from the Q file
    assert query(built, "SELECT count(*), min(local_day)::VARCHAR, max(local_day)::VARCHAR, round(sum(dju_18), 1) "
                        "FROM intermediate.int_weather__commune_daily WHERE code_commune = '67027' "
                        "AND station_id = '67027001'")[0][:3] == (40, "2024-01-01", "2024-02-09")


def test_station_register_lists_every_station_with_its_commune_or_none(built):
    rows = dict((s, (c, src, reg)) for s, c, src, reg in query(
        built, "SELECT station_id, code_commune, commune_source, register FROM intermediate.int_weather__stations"))
    assert rows["01414001"] == ("01036", "commune_deleguee", "liste_stations")     # Sutrieu, in Valromey-sur-Séran
    assert rows["98514001"] == ("97614", "ancien_code", "liste_stations")          # Coconi: 98514 → 97614 Ouangani
    assert rows["97123001"][:2] == ("97701", "ancien_code")                        # Saint-Barthélemy: 97123 → 97701
    assert rows["98404001"] == (None, "hors_cog", "liste_stations")                # Kerguelen (TAAF)
    assert rows["98832101"] == ("98832", "numero", "fiches_climatologiques")       # New Caledonia (in the COG)
    # a register entry without observations serves no commune
    assert query(built, "SELECT count(*) FROM intermediate.int_weather__commune_stations cs "
                        "JOIN intermediate.int_weather__stations s USING (station_id) WHERE NOT s.has_observations") == [(0,)]


def test_ore_departement_totals_beside_the_commune_cells(built):
    # the wide export, Ain 2011, electricity: 3,962,580.39 MWh over the five sectors
    assert query(built, "SELECT conso_publiee_ore_mwh::VARCHAR, source_conso_publiee_ore, conso_mwh, motif_absence "
                        "FROM marts.energie_territoire_annee WHERE niveau = 'departement' AND code_territoire = '01' "
                        "AND annee = 2011 AND energie = 'electricite' AND secteur = 'TOUS'") == [
        ("3962580.390", "ore_conso_departement_large", None,
         "aucune cellule communale livrée (total publié par l'Agence ORE seulement : conso_publiee_ore_mwh)")]
    # the région NAF export: Occitanie 2011, agriculture (sector letter A), its one line in the extract
    assert query(built, "SELECT consumption_mwh::VARCHAR, delivery_points, source_format FROM intermediate.int_energy__published_totals "
                        "WHERE niveau = 'region' AND code_territoire = '76' AND year = 2011 AND energy = 'electricity' "
                        "AND sector = 'AGRICULTURE'") == [("1414.680", 22, "ore_conso_region_naf")]
    # a partial région of the territory gets no published total: it would not be the same area
    assert query(built, "SELECT count(conso_publiee_ore_mwh) FROM marts.energie_territoire_annee WHERE niveau = 'region'") == [(0,)]


def test_qualicharge_states_reach_the_daily_occupancy_through_the_correspondence(built):
    assert query(built, "SELECT count(*), count(charge_point_id) FROM staging.stg_irve_dynamique_qualicharge") == [(28, 28)]
    # FRELCE5XGH: occupe 07:51:57, libre 07:53:37, occupe 07:54:29 (Paris time) on 26 May 2025 …
    assert query(built, "SELECT occupancy, strftime(timezone('Europe/Paris', observed_at), '%H:%M:%S') "
                        "FROM intermediate.int_ev__status_events WHERE charge_point_id = 'FRELCE5XGH' "
                        "ORDER BY observed_at LIMIT 3") == [("occupied", "07:51:57"), ("free", "07:53:37"),
                                                            ("occupied", "07:54:29")]
    (day, observed) = query(built, "SELECT local_day::VARCHAR, observed_hours FROM intermediate.int_ev__charge_point_daily "
                                   "WHERE charge_point_id = 'FRELCE5XGH'")[0]
    assert day == "2025-05-26" and observed == pytest.approx(24 - (7 + 51 / 60 + 57 / 3600), abs=1e-6)
    latest = query(built, "SELECT status, occupancy FROM intermediate.int_ev__charge_point_latest_state "
                          "WHERE charge_point_id = 'FRELCE5XGH'")
    assert len(latest) == 1 and latest[0][0] == "in_service"


def test_both_static_layouts_feed_the_charge_points(built):
    assert query(built, "SELECT source_format, count(*) FROM intermediate.int_ev__charge_points GROUP BY 1 ORDER BY 1") == [
        ("irve_statique", 25), ("irve_statique_qualicharge", 20)]
    # TotalEnergies' points coded 36210 (Sarzay, Indre) stand on the A8 by Mougins, 524 km away:
    # counted in the Alpes-Maritimes commune whose town hall is nearest, the declared code kept
    [(commune, source, declared)] = query(built, "SELECT DISTINCT code_commune, commune_source, code_commune_declared "
                                                 "FROM intermediate.int_ev__charge_points WHERE station_id = 'FRHPCPNF078564'")
    assert commune.startswith("06") and (source, declared) == ("coordonnees_code_eloigne", "36210")


def test_national_road_sections_per_section_and_territory(built):
    # the A1 between PR19 and PR20 (2024 file): Roissy-en-France, 96,596 veh/day, 17.19 % HGV
    assert query(built, "SELECT id_troncon, annee, tmja, part_poids_lourds_pct, code_commune, localisation "
                        "FROM marts.trafic_troncon_annee WHERE format_source = 'tmja_rrn' AND annee = 2024") == [
        ("A0001 PR19+0-PR20+499 I", 2024, 96596.0, 17.19, "95527", "coordonnees")]
    # 2019: the same section, ratio_PL 17,01 %; PR8 on the A1 (not in the territory) is not published
    assert query(built, "SELECT tmja, part_poids_lourds_pct FROM marts.trafic_troncon_annee "
                        "WHERE id_troncon = 'A0001 PR19+0-PR20+499' AND annee = 2019") == [(100582.0, 17.01)]
    assert query(built, "SELECT tmja_moyen_troncons, part_poids_lourds_pct, troncons_tmja FROM marts.trafic_territoire_annee "
                        "WHERE niveau = 'commune' AND code_territoire = '95527' AND annee = 2024") == [(96596.0, 17.19, 1)]
    # the 2019 bare-integer ratio_PL (50 on the A1 at PR8) is flagged, never read as 50 %
    assert query(built, "SELECT aadt_veh, heavy_vehicle_share_pct, heavy_share_unreadable FROM staging.stg_tmja_rrn "
                        "WHERE section_id LIKE 'A0001 PR8+700-%' AND data_year = 2019") == [(196501, None, True)]


def test_city_campaigns_are_weeks_of_the_city_never_annual_averages(built):
    # 1600_001_01, 8–14 January 2011, one direction, 47 veh/day: Montpellier (the partner's commune)
    assert query(built, "SELECT annee, type_mesure, tmja, code_commune, localisation FROM marts.trafic_troncon_annee "
                        "WHERE id_troncon = '1600_001_01'") == [(2011, "campagne_semaine", 47.0, "34172", "code_sans_coordonnees")]
    # a campaign week never enters the annual TMJA columns of the territories
    assert query(built, "SELECT count(*) FROM marts.trafic_territoire_annee WHERE code_territoire = '34172' "
                        "AND troncons_tmja > 0") == [(0,)]


def test_mobility_counts_are_daily_by_local_date_across_dst(built):
    days = {d: (p, n, c) for d, p, n, c in query(
        built, "SELECT local_day::VARCHAR, passages, channels, is_complete FROM intermediate.int_mobility__site_daily "
               "WHERE site_id = '300014141' AND mobility_type = 'PEDESTRIAN'")}
    # 27 March 2022, stamped 00:00+01:00 → 23:00+01:00 (23 hours) by both directions: one complete day
    assert days["2022-03-27"] == (0, 2, True)
    # 30 October 2022 (25 hours), delivered for one direction only: not a complete site-day
    assert days["2022-10-30"] == (15, 1, False)
    # Champtoceaux's site has no INSEE code: it goes to the commune whose town hall is nearest,
    # Oudon across the Loire (Champtoceaux is in Orée d'Anjou): the hub knows locations, not boundaries
    assert query(built, "SELECT code_commune, annee, jours_complets, passages_moyens_par_jour FROM marts.mobilites_site_annee "
                        "WHERE id_site = '300014141' AND mode = 'PEDESTRIAN'") == [
        ("44115", 2022, sum(1 for p, n, c in days.values() if c),
         round(sum(p for p, n, c in days.values() if c) / sum(1 for p, n, c in days.values() if c), 1))]


def test_lighting_inventories_without_attributes_say_not_available(built):
    # the city's shapefile: its own commune (every point within 20 km of it)
    assert query(built, "SELECT commune_source, code_commune, count(*) FROM intermediate.int_lighting__points "
                        "WHERE source_format = 'eclairage_points_shapefile' GROUP BY ALL") == [("code", "34172", 32)]
    # the metropole's CSV: the commune whose town hall is nearest, always one of the metropole's
    # (29 in Montpellier; 3 points of its western and southern edges go to Juvignac and
    # Saint-Jean-de-Védas: the hub knows town-hall locations, not boundaries)
    placed = dict(query(built, "SELECT p.code_commune, count(*) FROM intermediate.int_lighting__points p "
                               "JOIN ref.communes c ON c.code_commune = p.code_commune AND c.type_commune = 'commune-actuelle' "
                               "WHERE p.source_format = 'eclairage_points_l93' AND c.code_epci = '243400017' GROUP BY 1"))
    assert sum(placed.values()) == 32 and placed["34172"] >= 29
    (points, led, power, motif) = query(built, "SELECT points_lumineux, part_led_pct, puissance_installee_kw, motif_absence "
                                               "FROM marts.eclairage_territoire_annee WHERE niveau = 'commune' "
                                               "AND code_territoire = '34172'")[0]
    assert (points, led, power) == (32 + placed["34172"], None, None)
    assert "technologie des lampes inconnue" in motif and "puissance des lampes inconnue" in motif
