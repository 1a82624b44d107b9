"""Onboarding a partner as a data engineer does it: detect the format of sample files, scaffold
the registry entry, and replay the deliveries a registry mistake had refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SHARED_FORMATS
from tests.sources.shapefiles import write_points_shapefile

REGISTRY = Path(__file__).resolve().parents[2] / "sources" / "registry"
PARIS = "traffic/paris_comptages_routiers_permanents_extract.csv"
TICKETS_HEADER = "numero_ticket;code_insee;id_point_lumineux;date_signalement;date_resolution;type_panne;canal"


def hub(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("hub")
    return subprocess.run([str(exe), *args], env={**os.environ, "HUB_HOME": str(home), **env},
                          capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(not SHARED_FORMATS.is_dir(), reason="../shared/formats not present")
def test_scaffold_proposes_an_entry_the_registry_accepts(tmp_path):
    sample = tmp_path / "comptages_routiers_20251104.csv"
    shutil.copyfile(SHARED_FORMATS / PARIS, sample)
    proposed = hub(tmp_path, "registry", "scaffold", str(sample), "--partner", "ville-de-test")
    assert proposed.returncode == 0, proposed.stderr
    text = proposed.stdout
    assert "format: comptage_routier_horaire" in text and "cadence: daily" in text
    assert r"filename: ^comptages_routiers_(?P<period>\d{8})(_[a-z0-9]+)?\.csv(\.gz)?$" in text
    # saved beside a territory, it is a valid registry that claims the sample
    folder = tmp_path / "registry"
    folder.mkdir()
    shutil.copyfile(REGISTRY / "territory.yaml", folder / "territory.yaml")
    shutil.copyfile(REGISTRY / "logo.png", folder / "logo.png")      # the territory file names its logo
    (folder / "ville-de-test.yaml").write_text(text)
    listed = hub(tmp_path, "registry", HUB_REGISTRY=str(folder))
    assert listed.returncode == 0, listed.stderr
    assert "ville_de_test__comptage_routier_horaire" in listed.stdout


@pytest.mark.skipif(not SHARED_FORMATS.is_dir(), reason="../shared/formats not present")
def test_detect_names_the_closest_format_and_what_differs(tmp_path):
    other = tmp_path / "export.csv"
    other.write_text("Identifiant arc;Date et heure de comptage;Débit;Autre\n1;2024-01-01T00:00:00+01:00;3;x\n")
    result = hub(tmp_path, "formats", "detect", str(SHARED_FORMATS / PARIS), str(other))
    assert result.returncode == 1       # one file matches no format
    lines = result.stdout.splitlines()
    assert "format comptage_routier_horaire" in lines[0]
    assert "no format matches" in result.stdout and "closest: comptage_routier_horaire" in result.stdout
    assert "unknown column(s): Débit, Autre" in result.stdout and "Débit horaire" in result.stdout


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"

# every real sample the hub ships or finds beside it, and the format it is
REAL_SAMPLES = {
    **{FIXTURES / relative: fmt for relative, fmt in {
        "meteo/Q_67_latest-2024-2025_RR-T-Vent_extract.csv": "meteo_france_quotidien",
        "meteo/H_01_latest-2023-2024_extract.csv": "meteo_france_horaire",
        "meteo/MN_01_latest-2023-2024_extract.csv": "meteo_france_6min",
        "meteo/liste-stations-obs-metropole-om_extract.csv": "meteo_france_postes",
        "meteo/fiches_extract.json": "meteo_france_fiches",
        "irve/irve_statique_qualicharge_api_totalenergies_extract.csv": "irve_statique",
        "irve/irve_statique_qualicharge_staging_greenspot_ozecar_extract.csv": "irve_statique_qualicharge",
        "irve/irve_dynamique_electra_qualicharge_status_export_extract.csv": "irve_dynamique_qualicharge",
        "irve/irve_dynamique_electra_lien_id_pdc_extract.csv": "irve_qualicharge_lien_pdc",
        "energy/ore_conso_elec_gaz_departement_2023_extract.csv": "ore_conso_departement",
        "energy/ore_conso_elec_gaz_departement_wide_portal_export_extract.csv": "ore_conso_departement_large",
        "energy/ore_conso_elec_gaz_region_naf_portal_export_extract.csv": "ore_conso_region_naf",
        "traffic/comptage_mobilites_measure_eco_compteur_dst_2022.csv": "comptage_mobilites_measure",
        "traffic/montpellier_comptages_vehicules_dbf_export_cp1252.csv": "comptage_campagne_sig",
        "traffic/paris_comptages_routiers_permanents_semicolon_extract.csv": "comptage_routier_horaire",
        "traffic/tmja_rrn_2019_extract.csv": "tmja_rrn",
        "traffic/tmja_rrnc_2024_header_and_2_lines_via_civix.csv": "tmja_rrn",
    }.items()},
    **{SHARED_FORMATS / relative: fmt for relative, fmt in {
        "meteo/H_01_sample_ARBENT.csv": "meteo_france_horaire",
        "meteo/MN_01_sample_ARBENT.csv": "meteo_france_6min",
        "meteo/Q_01_sample_RR-T-Vent_ARBENT.csv": "meteo_france_quotidien",
        "meteo/Q_01_sample_autres-parametres_ARBENT.csv": "meteo_france_quotidien_autres",
        "energy/ore_conso_elec_gaz_commune_2023_extract.csv": "ore_conso_commune",
        "irve/exemple-valide-statique.csv": "irve_statique",
        "irve/irve_statique_consolide_tesla_extract.csv": "irve_statique",
        "irve/exemple-valide-dynamique.csv": "irve_dynamique",
        "irve/irve_dynamique_qualicharge_electra_extract.csv": "irve_dynamique_qualicharge",
        "lighting/montpellier_supports_eclairage_2013_extract.csv": "eclairage_points_l93",
        "traffic/comptage_mobilites_channel_exemple.csv": "comptage_mobilites_channel",
        "traffic/comptage_mobilites_measure_exemple_head40.csv": "comptage_mobilites_measure",
        "traffic/comptage_mobilites_site_exemple.csv": "comptage_mobilites_site",
        PARIS: "comptage_routier_horaire",
    }.items()},
}


@pytest.mark.skipif(not SHARED_FORMATS.is_dir(), reason="../shared/formats not present")
def test_detect_names_the_format_of_every_real_sample(tmp_path):
    shipped = {p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix != ".md"}
    assert shipped <= set(REAL_SAMPLES), f"fixtures without an expected format: {sorted(shipped - set(REAL_SAMPLES))}"
    shapefile = write_points_shapefile(SHARED_FORMATS / "lighting" / "montpellier_supports_eclairage_2013_extract.csv",
                                       tmp_path / "VilleMTP_MTP_EclairagePublic.zip")
    samples = {**{str(path): fmt for path, fmt in REAL_SAMPLES.items()}, str(shapefile): "eclairage_points_shapefile"}
    result = hub(tmp_path, "formats", "detect", *samples)
    assert result.returncode == 0, result.stdout + result.stderr
    named = {line.split(": format ")[0]: line.split(": format ")[1].split(" ")[0]
             for line in result.stdout.splitlines() if ": format " in line}
    assert named == samples


def test_replay_after_a_registry_fix_keeps_the_earlier_outcome(tmp_path):
    """Beaucaire's registry entry says Windows-1252; its new GMAO exports UTF-8. The delivery is
    quarantined; the registry is fixed; `hub replay` loads the same landed bytes."""
    folder = tmp_path / "registry"
    shutil.copytree(REGISTRY, folder)
    env = {"HUB_REGISTRY": str(folder)}
    settings_home = tmp_path
    content = "\n".join([TICKETS_HEADER, "T1;30032;P1;02/01/2024 10:00;03/01/2024 09:30;Lampe grillée;Élu"]) + "\n"
    inbox = settings_home / "data" / "inbox" / "ville-beaucaire"
    inbox.mkdir(parents=True)
    (inbox / "tickets_pannes_202401.csv").write_text(content, encoding="utf-8")
    first = hub(settings_home, "ingest", "--dataset", "ville_beaucaire__tickets_pannes", **env)
    assert first.returncode == 0, first.stderr
    assert "1 quarantined" in first.stdout

    beaucaire = folder / "ville-beaucaire.yaml"
    beaucaire.write_text(beaucaire.read_text().replace("    encoding: cp1252\n    licence: licence-ouverte-2.0\n"
                                                       "    sensitivity: personal",
                                                       "    encoding: utf-8\n    licence: licence-ouverte-2.0\n"
                                                       "    sensitivity: personal"))
    again = hub(settings_home, "replay", "--dataset", "ville_beaucaire__tickets_pannes", "--status", "quarantined", **env)
    assert again.returncode == 0, again.stderr
    assert "quarantined -> loaded" in again.stdout and "1 loaded, 0 partial, 0 quarantined" in again.stdout
    con = duckdb.connect(str(settings_home / "warehouse" / "hub.duckdb"), read_only=True)
    try:
        history = con.execute("SELECT h.status, h.errors FROM landing.processing_history h "
                              "JOIN landing.deliveries d USING (delivery_id) "
                              "WHERE d.filename = 'tickets_pannes_202401.csv' ORDER BY h.processed_at").fetchall()
        assert history == [("quarantined", 1), ("loaded", 0)]
        assert con.execute('SELECT numero_ticket, type_panne FROM raw."ville_beaucaire__tickets_pannes"').fetchall() == [
            ("T1", "Lampe grillée")]
    finally:
        con.close()
    nothing = hub(settings_home, "replay", "no-such-delivery", **env)
    assert nothing.returncode == 1 and "no landed delivery no-such-delivery" in nothing.stderr

