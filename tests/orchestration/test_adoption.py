"""Adopting the hub for another territory, from configuration alone.

A territory nobody wrote the hub for, configured as a new region would: a registry folder outside
the source tree (HUB_REGISTRY), no SQL, no file of the project changed. Its partners deliver the
real layouts (written by the demo generator for this registry), over HTTP and in drop folders; the
hub ingests, builds every model with every dbt test, gates the marts and writes the analysts'
snapshot. The territory gathers, in one build, what breaks a hub written for one région:

- the Nord (59), whole: 647 communes of Hauts-de-France; its northernmost commune Bray-Dunes and
  Dunkerque (51° N: the longest and shortest days of metropolitan France); two charging operators
  of the same format, the second declared with YAML only;
- the Grand Avignon, an EPCI over the Gard and the Vaucluse (Occitanie and Provence-Alpes-Côte
  d'Azur), declared by its SIREN;
- Saint-Pierre (Saint-Pierre-et-Miquelon: no EPCI, no DJU normal, 46.8° N west of Newfoundland);

four régions, none whole but the Nord's département.
"""

from __future__ import annotations

import secrets
import time
from datetime import date
from pathlib import Path

import pytest

from territoire_hub.expectations.gate import gate_marts
from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.lineage import mart_datasets
from territoire_hub.orchestration.dbt import run_dbt
from territoire_hub.orchestration.ingestion import ingest_all
from territoire_hub.publish.shared_warehouse import write_snapshot
from territoire_hub.settings import Settings
from territoire_hub.sources.demo import Scale, generate_demo
from territoire_hub.sources.demo.server import PartnerServer, demo_settings, protected_paths
from territoire_hub.warehouse import connect

SCALE = Scale(start=date(2024, 6, 20), days=3, counters=4, lamp_sensors=4, stations=3, charge_points=24,
              lamp_points=400)

PARTNERS = {
    "meteo-france.yaml": """
partner: {id: meteo-france, name: Météo-France, kind: public_agency}
datasets:
  - id: observations_horaires
    format: meteo_france_horaire
    transport: {type: http, url: "${HUB_URL_METEO_FRANCE}/horaire/H_{departement}_{period}.csv.gz", departements: [%(deps)s]}
    filename: '^H_(?P<departement>\\d{2,3}|2[AB])_(?P<period>\\d{6})\\.csv\\.gz$'
    cadence: monthly
    start: "2024-01-01"
    end: "2024-12-31"
    licence: licence-ouverte-2.0
    sensitivity: open
""",
    "enedis.yaml": """
partner: {id: enedis, name: Enedis, kind: private_company, siren: "444608442"}
datasets:
  - id: conso_annuelle_commune
    format: ore_conso_commune
    transport: {type: inbox}
    filename: '^conso_elec_commune_(?P<period>\\d{4})(_[a-z0-9]+)?\\.csv$'
    cadence: yearly
    start: "2024-01-01"
    licence: licence-ouverte-2.0
    sensitivity: commercial
    secrecy: {contributor: point de livraison, min_contributors: 3, max_dominant_share: 0.85, by_sector: {RESIDENTIEL: {min_contributors: 10}}}
""",
    "syndicat.yaml": """
partner: {id: syndicat-energie, name: Syndicat d'énergie, kind: energy_syndicate, departements: [%(deps)s]}
datasets:
  - id: points_lumineux
    format: eclairage_points_lumineux
    transport: {type: inbox}
    filename: '^points_lumineux_(?P<period>\\d{8})\\.csv$'
    cadence: snapshot
    licence: licence-ouverte-2.0
    sensitivity: open
  - id: releves_armoires
    format: eclairage_releves_armoire
    transport: {type: inbox}
    filename: '^releves_armoires_(?P<period>\\d{6})\\.csv$'
    cadence: monthly
    start: "2024-01-01"
    licence: licence-ouverte-2.0
    sensitivity: restricted
  - id: tickets_pannes
    format: eclairage_tickets
    transport: {type: inbox}
    filename: '^tickets_pannes_(?P<period>\\d{6})\\.csv$'
    cadence: monthly
    start: "2024-01-01"
    licence: licence-ouverte-2.0
    sensitivity: personal
""",
    "agglomeration.yaml": """
partner: {id: agglomeration, name: L'agglomération, kind: epci, siren: "%(epci)s"}
datasets:
  - id: compteurs_routiers
    format: comptage_mobilites_site
    transport: {type: inbox}
    filename: '^compteurs_routiers_(?P<period>\\d{8})\\.csv$'
    cadence: snapshot
    licence: odbl
    sensitivity: open
  - id: comptages_routiers
    format: comptage_routier_horaire
    transport: {type: inbox}
    filename: '^comptages_routiers_(?P<period>\\d{8})(_[a-z0-9]+)?\\.csv$'
    cadence: daily
    start: "2024-01-01"
    licence: odbl
    sensitivity: open
  - id: capteurs_eclairage
    format: eclairage_capteurs
    transport: {type: inbox}
    filename: '^capteurs_eclairage_(?P<period>\\d{8})\\.csv(\\.gz)?$'
    links: {inventory: syndicat-energie/points_lumineux}
    cadence: daily
    start: "2024-01-01"
    licence: licence-ouverte-2.0
    sensitivity: restricted
""",
    "operateur-a.yaml": """
partner: {id: operateur-a, name: Opérateur A, kind: private_company}
datasets:
  - id: irve_statique
    format: irve_statique
    transport: {type: http, url: "${HUB_URL_OPERATEUR_A}/irve/irve_statique.csv"}
    cadence: snapshot
    licence: licence-ouverte-2.0
    sensitivity: open
  - id: irve_dynamique
    format: irve_dynamique
    transport: {type: http, url: "${HUB_URL_OPERATEUR_A}/irve/dynamique/irve_dynamique_{period}.csv.gz", auth: bearer}
    filename: '^irve_dynamique_(?P<period>\\d{8})\\.csv\\.gz$'
    cadence: daily
    start: "2024-01-01"
    licence: licence-ouverte-2.0
    sensitivity: commercial
    secrecy: {contributor: point de charge, min_contributors: 3, max_dominant_share: 0.85}
""",
}
# the second charging operator: a registry entry, nothing else
SECOND_OPERATOR = """
partner: {id: operateur-b, name: Opérateur B, kind: private_company}
datasets:
  - id: irve_statique
    format: irve_statique
    transport: {type: inbox}
    filename: '^irve_statique_(?P<period>\\d{8})\\.csv$'
    cadence: snapshot
    licence: licence-ouverte-2.0
    sensitivity: open
"""


def configure(root: Path, name: str, territory: str, deps: list[str], epci: str, second_operator: bool) -> Path:
    folder = root / "configuration" / "registry"     # the region's own repository, not the hub's tree
    folder.mkdir(parents=True)
    (folder / "territory.yaml").write_text(f"territory:\n  name: \"{name}\"\n  cog_vintage: 2026\n{territory}")
    fields = {"deps": ", ".join(f'"{d}"' for d in deps), "epci": epci}
    for file, text in PARTNERS.items():
        (folder / file).write_text(text % fields)
    if second_operator:
        (folder / "operateur-b.yaml").write_text(SECOND_OPERATOR)
    return folder


def run_territory(root: Path, registry_dir: Path) -> tuple[Settings, dict, float]:
    """Generate the partners' deliveries, then what a region's data engineer runs: ingest, build,
    gate, snapshot. Returns the settings, the gate verdicts and the build's wall time."""
    settings = Settings.from_env({"HUB_HOME": str(root), "HUB_REGISTRY": str(registry_dir),
                                  "HUB_HTTP_BACKOFF": "0.01", "HUB_HTTP_TIMEOUT": "5"})
    registry = settings.load_registry()
    generate_demo(settings.data_dir, registry, seed=7, scale=SCALE)
    token = secrets.token_urlsafe(16)
    with PartnerServer(settings.data_dir / "remote", tokens=protected_paths(registry, token)) as server:
        con = connect(settings.warehouse)
        try:
            reports = ingest_all(con, demo_settings(settings, registry, server.url, token), registry)
        finally:
            con.close()
    assert all(r.transport_errors == [] for r in reports), [r.transport_errors for r in reports]
    assert {r.dataset_key for r in reports if r.loaded} == set(registry.datasets)
    started = time.monotonic()
    run_dbt(settings, ["build"])          # every model, every dbt test: none excluded
    took = time.monotonic() - started
    con = connect(settings.warehouse)
    try:
        verdicts = {v.mart: v for v in gate_marts(con, QualityContext.for_settings(settings), "adoption",
                                                  mart_datasets(settings, registry))}
        write_snapshot(con, settings, registry, "adoption", mart_datasets(settings, registry))
    finally:
        con.close()
    return settings, verdicts, took


def query(settings: Settings, sql: str, params=()) -> list[tuple]:
    con = connect(settings.warehouse, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def adopted(tmp_path_factory):
    root = tmp_path_factory.mktemp("adopted")
    folder = configure(root, "Nord, Grand Avignon et Saint-Pierre",
                       "  departements: [\"59\"]\n  epcis: [\"248400251\"]\n  communes: [\"97502\"]\n",
                       ["59", "84", "30", "975"], "248400251", True)
    return run_territory(root, folder)


def test_every_mart_is_built_gated_and_shared(adopted):
    settings, verdicts, took = adopted
    print(f"\nNord + Grand Avignon + Saint-Pierre (664 communes): dbt build {took:.0f} s")
    assert {m: v.critical for m, v in verdicts.items() if not v.publishable} == {}
    assert len(verdicts) == 11
    levels = dict(query(settings, "SELECT niveau, count(*) FROM publication.fiche_territoire "
                                  "WHERE annee = 2024 GROUP BY 1"))
    assert (levels["commune"], levels["departement"], levels["region"]) == (647 + 16 + 1, 4, 4)
    # the whole département is named as such; the others, and every région, say what part is covered
    names = dict(query(settings, "SELECT code_territoire, nom_territoire FROM publication.fiche_territoire "
                                 "WHERE niveau IN ('departement', 'region') AND annee = 2024"))
    assert names["59"] == "Nord" and names["32"] == "Hauts-de-France (partie : 647 communes sur 3782)"
    assert names["84"].startswith("Vaucluse (partie : ") and names["975"].startswith("Saint-Pierre-et-Miquelon (partie")


def test_daylight_and_climate_correction_hold_at_the_territory_s_latitudes(adopted):
    settings, _, _ = adopted
    # daylight passed its latitude-bounded dbt test; by hand: the June solstice lasts about 16.6 hours
    # at Dunkerque (51° N), 15.7 at Saint-Pierre (46.8° N)
    daylight = dict(query(settings, "SELECT code_commune, daylight_hours FROM intermediate.int_sun__commune_daily "
                                    "WHERE code_commune IN ('59183', '97502') AND local_day = '2024-06-21'"))
    assert 16.4 < daylight["59183"] < 16.7 and 15.6 < daylight["97502"] < 15.9
    # the climate correction of the Nord uses its own normal (Lille-Lesquin, 1991–2020) …
    assert query(settings, "SELECT DISTINCT dju_17_normal FROM publication.energie_territoire_annee "
                           "WHERE niveau = 'departement' AND code_territoire = '59' AND secteur = 'RESIDENTIEL'"
                 ) == [(2175.0,)]
    # … and Saint-Pierre, without one, says why it has none
    (motif,) = query(settings, "SELECT motif_absence FROM publication.energie_territoire_annee "
                               "WHERE code_territoire = '97502' AND secteur = 'RESIDENTIEL'")[0]
    assert "DJU normal absent" in motif


def test_a_second_operator_of_a_known_format_reaches_the_marts_with_yaml_only(adopted):
    settings, _, _ = adopted
    per_partner = dict(query(settings, "SELECT partner_id, count(*) FROM intermediate.int_ev__charge_points GROUP BY 1"))
    assert set(per_partner) == {"operateur-a", "operateur-b"} and min(per_partner.values()) > 0
    located = query(settings, "SELECT count(*) FROM intermediate.int_ev__charge_points "
                              "WHERE code_commune IN (SELECT code_commune FROM intermediate.int_territory__communes)")[0][0]
    assert query(settings, "SELECT sum(points_de_charge) FROM publication.recharge_territoire "
                           "WHERE niveau = 'departement'") == [(located,)]
    assert located == sum(per_partner.values())


def test_a_territory_over_four_regions_reconciles_each_of_them(adopted):
    settings, _, _ = adopted
    regions = query(settings, "SELECT code_territoire, nom_territoire FROM publication.fiche_territoire "
                              "WHERE niveau = 'region' AND annee = 2024 ORDER BY 1")
    assert regions == [("32", "Hauts-de-France (partie : 647 communes sur 3782)"),
                       ("76", "Occitanie (partie : 7 communes sur 4446)"),
                       ("93", "Provence-Alpes-Côte d'Azur (partie : 9 communes sur 946)"),
                       ("975", "Saint-Pierre-et-Miquelon (partie : 1 commune sur 2)")]
    # each région row reconciles with its own communes (the gate checked it per région)
    assert query(settings, """
        SELECT count(*) FROM quality.validations WHERE run_id = 'adoption' AND suite LIKE 'mart__%__reconcile'
        AND NOT success""") == [(0,)]
    # Saint-Pierre is in no EPCI: one EPCI row per EPCI of the other communes, none for it
    assert query(settings, "SELECT code_epci FROM intermediate.int_territory__communes WHERE code_commune = '97502'"
                 ) == [(None,)]
    assert query(settings, "SELECT count(*) FROM publication.fiche_territoire WHERE niveau = 'epci' AND annee = 2024"
                 ) == query(settings, "SELECT count(DISTINCT code_epci) FROM intermediate.int_territory__communes")
