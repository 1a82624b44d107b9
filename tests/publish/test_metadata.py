"""What the portal says about a published dataset. Its DCAT-AP 3 catalogue, as a harvester reads
it: the published demo validated by pyshacl against the official DCAT-AP 3.0.0 SHACL shapes
(committed with their provenance), and the values a reuser needs — the licence's URL, themes and
frequency as EU vocabulary IRIs with French labels, the structure as publisher and contact point,
the partners as contributors, the territory with its INSEE codes and its bounding box — read back
from the RDF. Its page, in Chromium: labels, not codes, and a contact. Its search: by a commune's
code or name."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS as DCT, FOAF, PROV, RDF, SH, SKOS

from territoire_hub.publish import catalogue
from tests.conftest import latest_release

SHAPES = Path(__file__).parents[1] / "fixtures" / "dcat-ap-3" / "dcat-ap-SHACL.ttl"
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
EU = "http://publications.europa.eu/resource/authority/"


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return Graph().parse(SHAPES, format="turtle")


def violations(data: Graph, shapes: Graph) -> list[tuple[str, str, str]]:
    conforms, report, _ = validate(data, shacl_graph=shapes, inference="none", allow_warnings=False)
    found = sorted({(str(report.value(r, SH.focusNode)), str(report.value(r, SH.resultPath)),
                     str(report.value(r, SH.resultMessage))) for r in report.subjects(RDF.type, SH.ValidationResult)})
    assert conforms == (not found)
    return found


def dataset_node(graph: Graph, family: str) -> URIRef:
    """The family's release in the catalogue (its only one: the demo is published once)."""
    title = next(f.title for f in catalogue.FAMILIES if f.name == family) + " — édition "
    (node,) = [d for d in graph.subjects(RDF.type, DCAT.Dataset) if str(graph.value(d, DCT.title)).startswith(title)]
    return node


def test_the_demo_catalogue_has_no_dcat_ap_3_violation(catalogue_graph, shapes):
    series = set(catalogue_graph.subjects(RDF.type, DCAT.DatasetSeries))
    assert {f.title for f in catalogue.FAMILIES} <= {str(catalogue_graph.value(s, DCT.title)) for s in series}
    for family in catalogue.FAMILIES:                                 # the whole demo, not an empty graph
        assert catalogue_graph.value(dataset_node(catalogue_graph, family.name), DCAT.inSeries) in series
    assert len(set(catalogue_graph.subjects(RDF.type, DCAT.Distribution))) >= 5 * len(catalogue.FAMILIES)
    assert violations(catalogue_graph, shapes) == []


def test_a_broken_catalogue_is_caught_naming_the_node_and_the_property(catalogue_graph, shapes):
    broken = Graph()
    broken += catalogue_graph
    weather = dataset_node(broken, "meteo-degres-jours")
    broken.remove((weather, DCT.title, None))                                     # mandatory
    broken.set((weather, DCT.accrualPeriodicity, Literal("ANNUAL")))              # a code, not the IRI
    distribution = next(broken.objects(weather, DCAT.distribution))
    broken.remove((distribution, DCAT.accessURL, None))                           # mandatory
    found = {(focus, path) for focus, path, _ in violations(broken, shapes)}
    assert (str(weather), str(DCT.title)) in found
    assert (str(weather), str(DCT.accrualPeriodicity)) in found
    assert (str(distribution), str(DCAT.accessURL)) in found


def test_licence_themes_and_frequency_are_vocabulary_iris_with_french_labels(catalogue_graph):
    g = catalogue_graph
    traffic = dataset_node(g, "trafic-routier")
    assert g.value(traffic, DCT.accrualPeriodicity) == URIRef(EU + "frequency/ANNUAL")
    themes = set(g.objects(traffic, DCAT.theme))
    assert themes == {URIRef(EU + "data-theme/TRAN"), URIRef(EU + "data-theme/REGI")}
    assert g.value(URIRef(EU + "data-theme/TRAN"), SKOS.prefLabel) == Literal("Transports", lang="fr")
    for distribution in g.objects(traffic, DCAT.distribution):
        # the counters' ODbL on every file of the family, as the licence's official URL
        assert g.value(distribution, DCT.license) == URIRef("https://opendatacommons.org/licenses/odbl/")
        assert (g.value(distribution, DCT.license), RDF.type, DCT.LicenseDocument) in g
        assert str(g.value(distribution, DCT["format"])).startswith(EU + "file-type/")
    weather = dataset_node(g, "meteo-degres-jours")
    licences = {g.value(d, DCT.license) for d in g.objects(weather, DCAT.distribution)}
    assert licences == {URIRef("https://www.etalab.gouv.fr/licence-ouverte-open-licence/")}


def test_the_structure_publishes_and_answers_the_partners_are_credited(catalogue_graph, registry):
    g = catalogue_graph
    structure = registry.structure
    (catalog,) = g.subjects(RDF.type, DCAT.Catalog)
    assert str(g.value(g.value(catalog, DCT.publisher), FOAF.name)) == structure.name
    energy = dataset_node(g, "consommation-electricite")
    assert str(g.value(g.value(energy, DCT.publisher), FOAF.name)) == structure.name
    contact = g.value(energy, DCAT.contactPoint)
    assert g.value(contact, VCARD.hasEmail) == URIRef(f"mailto:{structure.contact.email}")
    credited = {str(g.value(g.value(a, PROV.agent), FOAF.name)) for a in g.objects(energy, PROV.qualifiedAttribution)}
    assert credited == {registry.partners["enedis"].name, registry.partners["meteo-france"].name}


def test_the_territory_is_named_with_its_insee_codes_and_boxed(catalogue_graph):
    g = catalogue_graph
    places = list(g.objects(dataset_node(g, "eclairage-public"), DCT.spatial))
    uris = {str(p) for p in places if isinstance(p, URIRef)}
    assert {"https://geo.api.gouv.fr/regions/76", "https://geo.api.gouv.fr/epcis/243400017"} <= uris
    wkt = URIRef("http://www.opengis.net/ont/geosparql#wktLiteral")
    boxes = {str(o) for p in places for o in g.objects(p, DCAT.bbox) if getattr(o, "datatype", None) == wkt}
    # the 49 demo communes: Cournonsec (west), Beaucaire (east), Palavas-les-Flots (south), Vallabrègues (north)
    assert boxes == {"POLYGON((3.7061 43.5287,4.6438 43.5287,4.6438 43.8532,3.7061 43.8532,3.7061 43.5287))"}


def test_a_search_on_a_commune_s_code_or_name_finds_the_datasets_covering_it(published, anonymous):
    families = {f.name for f in catalogue.FAMILIES} | {latest_release(anonymous, f.name)["name"] for f in catalogue.FAMILIES}
    for query in ("34172", "Vallabrègues", "Occitanie"):        # Montpellier's code, a Gard commune, the région
        found = {d["name"] for d in anonymous.action.package_search(q=query, rows=100)["results"]}
        assert families <= found, query
    outside = {d["name"] for d in anonymous.action.package_search(q="75056", rows=100)["results"]}   # Paris
    assert not families & outside


def test_the_dataset_page_shows_labels_and_a_contact_not_codes(published, portal, anonymous, registry, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Debian's chromium is needed (make test installs it)"
    dom = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         f"{portal.url}/dataset/{latest_release(anonymous, 'trafic-routier')['name']}"],
        capture_output=True, text=True, timeout=120).stdout
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom)))
    shown = text[text.index("Info additionnelle"):]
    for label in ("Thèmes Régions et villes Transports", "Fréquence de mise à jour Annuelle",
                  f"Nom {registry.structure.name}", "Type Autorité régionale",
                  f"Courriel {registry.structure.contact.email}",
                  f"Nom {registry.partners['montpellier-metropole'].name}", "Rôle Fournisseur des données",
                  "Occitanie (région 76)", "Montpellier (34172)"):
        assert label in shown, label
    assert "publications.europa.eu" not in shown and "ANNUAL" not in shown and "ResponsiblePartyRole" not in shown


def test_each_table_conforms_to_its_table_schema_and_describes_its_columns(published, anonymous, catalogue_graph):
    dataset = latest_release(anonymous, "recharge-vehicules-electriques")
    by_name = {r["name"]: r for r in dataset["resources"]}
    for mart in ("recharge_territoire", "recharge_territoire_annee"):
        schema = by_name[f"{mart}.schema.json"]["url"]
        for ext in ("csv", "parquet"):
            resource = by_name[f"{mart}.{ext}"]
            assert resource["conforms_to"] == [schema]
            assert (URIRef(schema), RDF.type, DCT.Standard) in catalogue_graph
        # the DataStore's data dictionary holds the dbt docs of each column
        fields = {f["id"]: f for f in anonymous.action.datastore_search(resource_id=by_name[f"{mart}.csv"]["id"],
                                                                         limit=0)["fields"]}
        assert fields["secret_statistique"]["info"]["notes"].startswith("secret statistique")
        documented = [f for f in fields.values() if (f.get("info") or {}).get("notes")]
        assert len(documented) >= len(fields) - 2, [f["id"] for f in fields.values() if f not in documented]


def test_the_catalogue_is_served_as_json_ld_too(published, portal, catalogue_graph):
    import urllib.request

    with urllib.request.urlopen(f"{portal.url}/catalog.jsonld", timeout=60) as response:
        assert response.headers.get_content_type() == "application/ld+json"
        graph = Graph().parse(data=response.read(), format="json-ld")
    for kind in (DCAT.Dataset, DCAT.DatasetSeries, DCAT.Distribution):
        assert set(graph.subjects(RDF.type, kind)) == set(catalogue_graph.subjects(RDF.type, kind)), kind
