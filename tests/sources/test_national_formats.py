"""The national layouts, read from real public lines (tests/fixtures/formats, PROVENANCE.md there,
and ../shared/formats): each loads with the values written in the file, checked by hand."""

from __future__ import annotations

import gzip
import io
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.conftest import SHARED_FORMATS
from tests.sources.samples import load_file, plain_entry
from tests.sources.shapefiles import write_points_shapefile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def _load(warehouse, tmp_path, fmt: str, src: Path, name: str | None = None, content: bytes | None = None):
    path = tmp_path / (name or src.name)
    if content is None:
        shutil.copyfile(src, path)
    else:
        path.write_bytes(content)
    entry = plain_entry(fmt, dataset_id=fmt)
    delivery_id, rows = load_file(warehouse, entry, path)
    errors = warehouse.execute(
        "SELECT code, line, message FROM landing.issues WHERE delivery_id = ? AND severity = 'error' ORDER BY line",
        [delivery_id]).fetchall()
    return entry, rows, errors


def _row(warehouse, entry, columns: str, where: str = "true"):
    return warehouse.execute(f'SELECT {columns} FROM raw."{entry.key}" WHERE {where} ORDER BY _source_line').fetchall()


# --- Météo-France ---------------------------------------------------------------------------

def test_daily_rr_t_vent_file_as_published(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "meteo_france_quotidien",
                                FIXTURES / "meteo" / "Q_67_latest-2024-2025_RR-T-Vent_extract.csv")
    assert (rows, errors) == (40, [])
    # line 2: 67027001;BELMONT;48.406333;7.267167;1065;20240101;5.2;1;-0.1;1;359;9;2.5;1;513;9;0.4;1
    assert _row(warehouse, entry, "num_poste, alti, aaaammjj::VARCHAR, rr, tn, htn, tx, htx, tm",
                "_source_line = 2") == [("67027001", 1065, "2024-01-01", 5.2, -0.1, "359", 2.5, "513", 0.4)]
    # line 3: TN at 1801 UTC the day before (the TN window opens at 18 UTC J-1), 33.4 mm
    assert _row(warehouse, entry, "rr, tn, htn", "_source_line = 3") == [(33.4, 0.4, "1801")]


def test_daily_file_of_the_56_column_vintage_with_a_padded_station_number(warehouse, tmp_path):
    """The spring-2024 vintages lack DRR/QDRR and some exports pad NUM_POSTE with a blank: the
    real Bas-Rhin lines with those two columns removed and the number padded still load."""
    lines = (FIXTURES / "meteo" / "Q_67_latest-2024-2025_RR-T-Vent_extract.csv").read_text().splitlines()
    older = "\n".join(";".join(line.split(";")[:56]) for line in lines).replace("\n67027001;", "\n 67027001;") + "\n"
    assert older.splitlines()[0].endswith(";HXI3S;QHXI3S") and older.splitlines()[1].startswith(" 67027001")
    entry, rows, errors = _load(warehouse, tmp_path, "meteo_france_quotidien", Path("Q_67_older.csv"),
                                content=older.encode())
    assert (rows, errors) == (40, [])
    assert _row(warehouse, entry, "num_poste, rr, tn, tx, drr", "_source_line = 2") == [("67027001", 5.2, -0.1, 2.5, None)]


@pytest.mark.skipif(not SHARED_FORMATS.is_dir(), reason="../shared/formats not present")
def test_daily_other_parameters_file(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "meteo_france_quotidien_autres",
                                SHARED_FORMATS / "meteo" / "Q_01_sample_autres-parametres_ARBENT.csv")
    assert (rows, errors) == (1, [])
    # UN;QUN;HUN;QHUN;UX;QUX;HUX;QHUX;UM = 43;1;1944;9;75;1;27;9;55 ; NEIGETOTX 0 ; INST empty
    assert _row(warehouse, entry, "num_poste, un, ux, um, inst, neigetotx") == [("01014002", 43, 75, 55, None, 0.0)]


def test_six_minute_rain_file(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "meteo_france_6min",
                                FIXTURES / "meteo" / "MN_01_latest-2023-2024_extract.csv")
    assert (rows, errors) == (3, [])
    # 01414001;SUTRIEU;…;202409180054;0.000;9 — AAAAMMJJHHMN, UTC, end of the 6 minutes
    assert _row(warehouse, entry, "num_poste, strftime(aaaammjjhhmn, '%Y-%m-%d %H:%M'), rr, qrr", "_source_line = 3") == [
        ("01414001", "2024-09-18 00:54", 0.0, 9)]


def test_station_register_lists_overseas_and_taaf_stations(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "meteo_france_postes",
                                FIXTURES / "meteo" / "liste-stations-obs-metropole-om_extract.csv")
    assert (rows, errors) == (29, [])
    assert _row(warehouse, entry, "id_station, id_omm, latitude, altitude, date_ouverture::VARCHAR, pack",
                "id_station IN ('01089001', '98514001', '98404001')") == [
        ("01089001", "07482", 45.9765, 250, "1934-03-01", "RADOME"),
        ("98404001", "61998", -49.352333, 29, "1950-01-02", "RADOME"),
        ("98514001", None, -12.831, 96, "1935-01-01", "RADOME"),
    ]


def test_station_register_geojson(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "meteo_france_fiches", FIXTURES / "meteo" / "fiches_extract.json")
    assert (rows, errors) == (19, [])
    # NUM_DEP is a JSON integer (1 for the Ain); NUM_POSTE a string with its leading zero
    assert _row(warehouse, entry, "num_poste, nom_usuel, lat_dg, lon_dg, alti, num_dep", "_source_line = 1") == [
        ("01014002", "ARBENT", 46.278167, 5.669, 534, "1")]
    assert _row(warehouse, entry, "num_poste", "num_poste LIKE '988%'") == [("98832101",)]


# --- IRVE -------------------------------------------------------------------------------------

def test_qualicharge_static_export(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "irve_statique_qualicharge",
                                FIXTURES / "irve" / "irve_statique_qualicharge_staging_greenspot_ozecar_extract.csv")
    assert (rows, errors) == (20, [])
    assert _row(warehouse, entry, "id_pdc_itinerance, code_insee_commune, longitude, latitude, puissance_nominale, "
                                  "prise_type_2, date_maj::VARCHAR", "_source_line = 2") == [
        ("FRGSPE10000859282", "21231", -1.217409, 45.814282, 22.08, True, "2023-12-07")]


def test_qualicharge_status_export_and_its_correspondence(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "irve_dynamique_qualicharge",
                                FIXTURES / "irve" / "irve_dynamique_electra_qualicharge_status_export_extract.csv")
    assert (rows, errors) == (28, [])
    # 2025-05-26T07:59:56.401386+02:00, `null` connector states, a leading pandas index column
    assert _row(warehouse, entry, "point_de_charge_id, etat_pdc, occupation_pdc, etat_prise_type_2, "
                                  "etat_prise_type_combo_ccs, strftime(horodatage, '%Y-%m-%d %H:%M:%S.%f')",
                "_source_line = 2") == [
        ("b1ef81db-f16c-4c40-b31a-f35b1b36c786", "en_service", "libre", None, "fonctionnel", "2025-05-26 05:59:56.401386")]
    link, rows, errors = _load(warehouse, tmp_path, "irve_qualicharge_lien_pdc",
                               FIXTURES / "irve" / "irve_dynamique_electra_lien_id_pdc_extract.csv")
    assert (rows, errors) == (21, [])
    assert _row(warehouse, link, "id_pdc_itinerance, point_de_charge_id", "_source_line = 2") == [
        ("FRELCE26Z2", "e3b65385-b292-46a1-8099-ac675487fd3f")]


def test_consolidated_static_export_in_another_column_order(warehouse, tmp_path):
    """The QualiCharge API export of TotalEnergies: schema columns in another order, extra columns."""
    entry, rows, errors = _load(warehouse, tmp_path, "irve_statique",
                                FIXTURES / "irve" / "irve_statique_qualicharge_api_totalenergies_extract.csv")
    assert (rows, errors) == (25, [])
    assert _row(warehouse, entry, "id_pdc_itinerance, code_insee_commune, longitude, latitude, puissance_nominale",
                "_source_line = 2") == [("FRHPCENF078564016", "36210", 7.035532, 43.589282, 300.0)]


# --- Agence ORE -------------------------------------------------------------------------------

def test_ore_departement_extract(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "ore_conso_departement",
                                FIXTURES / "energy" / "ore_conso_elec_gaz_departement_2023_extract.csv")
    assert (rows, errors) == (33, [])
    # GRT Gaz,Gaz,2023,01,Ain,84,…,ENT,INDUSTRIE,22,1.0,91547.0,91547.0
    assert _row(warehouse, entry, "operateur, filiere, annee, code_departement, code_secteur_naf2, nb_sites, conso_totale_mwh",
                "_source_line = 2") == [("GRT Gaz", "Gaz", 2023, "01", "22", 1, 91547.0)]


def test_ore_departement_wide_portal_export(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "ore_conso_departement_large",
                                FIXTURES / "energy" / "ore_conso_elec_gaz_departement_wide_portal_export_extract.csv")
    assert (rows, errors) == (27, [])
    assert _row(warehouse, entry, "operateur, annee, code_departement, conso_residentiel_mwh, points_residentiel, "
                                  "conso_totale_mwh", "_source_line = 2") == [
        ("Enedis", 2011, "01", 1977574.54, 313211, 3962580.39)]


def test_ore_region_naf_portal_export(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "ore_conso_region_naf",
                                FIXTURES / "energy" / "ore_conso_elec_gaz_region_naf_portal_export_extract.csv")
    assert (rows, errors) == (33, [])
    assert _row(warehouse, entry, "operateur, annee, code_grand_secteur, conso, pdl, indqual, code_region",
                "_source_line = 2") == [
        ("Coopérative d'électricité de Saint Martin de Londres", 2011, "A", 1414.68, 22, 1.0, "76")]


# --- Road traffic -----------------------------------------------------------------------------

def test_mobility_counting_measures_across_dst(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "comptage_mobilites_measure",
                                FIXTURES / "traffic" / "comptage_mobilites_measure_eco_compteur_dst_2022.csv")
    assert (rows, errors) == (29, [])
    # line 5: the spring-forward day written as 2022-03-27T00:00+01:00 → 2022-03-27T23:00+01:00
    # (23 hours, stamped in winter time): instants as written
    assert _row(warehouse, entry, "strftime(start_datetime, '%Y-%m-%d %H:%M'), strftime(end_datetime, '%Y-%m-%d %H:%M'), count",
                "_source_line IN (5, 18)") == [("2022-03-26 23:00", "2022-03-27 22:00", 0),
                                               ("2022-10-29 23:00", "2022-10-30 23:00", 15)]


def test_national_road_network_tmja_2024_with_lambert_93_ends(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "tmja_rrn",
                                FIXTURES / "traffic" / "tmja_rrnc_2024_header_and_2_lines_via_civix.csv")
    assert (rows, errors) == (2, [])
    # 01/01/2024;A0001;1499;19;95;C;0;18875;665481,08;6878892,47;…;I;2024;1;Permanent horaire;96596;17,192
    got = _row(warehouse, entry, "date_referentiel::VARCHAR, route, prd, absd, xd, yd, cote, annee_mesure_trafic, tmja, "
                                 "ratio_pl, longitude_debut, latitude_debut", "_source_line = 2")[0]
    assert got[:10] == ("2024-01-01", "A0001", "19", 0.0, 665481.08, 6878892.47, "I", 2024, 96596, 17.192)
    # Lambert-93 (665481.08, 6878892.47) is on the A1 by Roissy-en-France (Val-d'Oise)
    assert got[10:] == pytest.approx((2.52816, 49.00902), abs=1e-5)


def test_national_road_network_tmja_2019_vintage(warehouse, tmp_path):
    """No `cote` column, decimal abscissas (248,2), sections without a measure, bare integers in ratio_PL."""
    entry, rows, errors = _load(warehouse, tmp_path, "tmja_rrn", FIXTURES / "traffic" / "tmja_rrn_2019_extract.csv")
    assert (rows, errors) == (39, [])
    assert _row(warehouse, entry, "route, prd, absd, annee_mesure_trafic, tmja, ratio_pl, ratio_pl_texte",
                "_source_line IN (11, 12, 15, 18)") == [
        ("A0001", "3", 248.2, 2019, 132186, None, None),
        ("A0001", "8", 700.0, 2019, 196501, 50.0, "50"),
        ("A0001", "0", 0.0, 0, None, None, None),
        ("A0001", "19", 0.0, 2019, 100582, 17.01, "17,01"),
    ]


def test_municipal_campaigns_exported_from_a_gis(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "comptage_campagne_sig",
                                FIXTURES / "traffic" / "montpellier_comptages_vehicules_dbf_export_cp1252.csv")
    assert (rows, errors) == (32, [])
    # 2220,9999TR9999,Voie non dénommée,50,1600_001_01,08/01/11,14/01/11,Hospice-Diacon,25,8,47,#N/A,1,2011,Magnétique
    assert _row(warehouse, entry, "objectid, nom, ref, date_debut::VARCHAR, date_fin::VARCHAR, sens, tjm, commentaire, "
                                  "annee, type_compteur", "_source_line = 2") == [
        ("2220", "Voie non dénommée", "1600_001_01", "2011-01-08", "2011-01-14", "Hospice-Diacon", 47.0, None, 2011,
         "Magnétique")]
    # dd/mm/yy over two centuries: 16/03/00 is 2000
    assert _row(warehouse, entry, "date_debut::VARCHAR", "objectid = '366'") == [("2000-03-16",)]


# --- Public lighting --------------------------------------------------------------------------

@pytest.mark.skipif(not SHARED_FORMATS.is_dir(), reason="../shared/formats not present")
def test_lighting_points_in_lambert_93_csv(warehouse, tmp_path):
    entry, rows, errors = _load(warehouse, tmp_path, "eclairage_points_l93",
                                SHARED_FORMATS / "lighting" / "montpellier_supports_eclairage_2013_extract.csv")
    assert (rows, errors) == (32, [])
    # 1,770999.84,6278801.52,LANTERNE — Lambert-93, in Montpellier's centre
    got = _row(warehouse, entry, "record_number, type_lanterne, longitude, latitude", "_source_line = 2")[0]
    assert got[:2] == ("1", "LANTERNE") and got[2:] == pytest.approx((3.87914, 43.60471), abs=1e-5)


@pytest.mark.skipif(not SHARED_FORMATS.is_dir(), reason="../shared/formats not present")
@pytest.mark.parametrize("with_prj", [True, False], ids=["with .prj", "without .prj (format's crs)"])
def test_lighting_points_in_a_zipped_shapefile(warehouse, tmp_path, with_prj):
    """The real Montpellier points written back as the zipped shapefile the city publishes."""
    csv = SHARED_FORMATS / "lighting" / "montpellier_supports_eclairage_2013_extract.csv"
    archive = write_points_shapefile(csv, tmp_path / "VilleMTP_MTP_EclairagePublic.zip", with_prj=with_prj)
    entry = plain_entry("eclairage_points_shapefile")
    delivery_id, rows = load_file(warehouse, entry, archive, landing_dir=tmp_path / "_landing")
    assert rows == 32
    # records in shapefile order: the 30th has an empty type (NULL, not ''), the 31st and 32nd
    # are the CSV's points 977 and 22013
    got = _row(warehouse, entry, "record_number, type_lanterne, longitude, latitude",
               "record_number IN ('1', '30', '31', '32')")
    assert [g[:2] for g in got] == [("1", "LANTERNE"), ("30", None), ("31", "Luminaire en applique"), ("32", "Lanterne")]
    assert got[0][2:] == pytest.approx((3.87914, 43.60471), abs=1e-5)


# --- Refusals: what a file is, named ----------------------------------------------------------

def _xlsx() -> bytes:
    """A minimal Office Open XML workbook (the parts every XLSX has)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        book.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        book.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook><sheets><sheet name="irve" sheetId="1"/></sheets></workbook>')
        book.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet><sheetData/></worksheet>')
    return buffer.getvalue()


def _zip_of_csv() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(FIXTURES / "irve" / "irve_statique_qualicharge_api_totalenergies_extract.csv", "irve_statique.csv")
    return buffer.getvalue()


HTML_ERROR_PAGE = b"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>502 Bad Gateway</title></head>
<body><h1>502 Bad Gateway</h1><p>Le service est momentan\xc3\xa9ment indisponible.</p></body></html>
"""

REFUSALS = {
    "zip archive": (_zip_of_csv, "not_a_csv", "not a CSV file: zip archive (members: irve_statique.csv)"),
    "XLSX workbook": (_xlsx, "not_a_csv", "not a CSV file: Excel workbook (XLSX)"),
    "HTML error page": (lambda: HTML_ERROR_PAGE, "not_a_csv", "not a CSV file: HTML page"),
    "PDF": (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "not_a_csv", "not a CSV file: PDF document"),
    "nested gzip": (lambda: gzip.compress(gzip.compress(
        (FIXTURES / "irve" / "irve_statique_qualicharge_api_totalenergies_extract.csv").read_bytes())),
        "not_a_csv", "not a CSV file: gzip file inside a gzip file (nested compression)"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_file_that_is_not_a_csv_is_refused_naming_what_it_is(warehouse, tmp_path, case):
    make, code, message = REFUSALS[case]
    entry, rows, errors = _load(warehouse, tmp_path, "irve_statique", Path("irve_statique.csv"), content=make())
    assert rows == 0
    assert errors == [(code, None, message)]


@pytest.mark.skipif(not SHARED_FORMATS.is_dir(), reason="../shared/formats not present")
def test_a_csv_of_another_layout_is_refused_as_unknown_layout_naming_the_closest_format(warehouse, tmp_path):
    """The Montpellier lighting inventory delivered where IRVE points are expected."""
    entry, rows, errors = _load(warehouse, tmp_path, "irve_statique",
                                SHARED_FORMATS / "lighting" / "montpellier_supports_eclairage_2013_extract.csv")
    assert rows == 0
    [(code, line, message)] = errors
    assert (code, line) == ("unknown_layout", 1)
    assert message.startswith("the header matches no column set of format irve_statique (0 of ")
    assert "closest known format: eclairage_points_l93" in message
    assert "unknown column(s): record_number, x_l93, y_l93, type_lante" in message
