"""Harvestable by data.gouv.fr: every published dataset passes the field rules of udata's CKAN and
DCAT harvesters (tests/publish/datagouv_rules.py, read from udata's code), as the portal serves it
— package_show over HTTP, /catalog.ttl — and a broken dataset fails naming the dataset and field."""

from __future__ import annotations

import copy

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS as DCT, RDF

from territoire_hub.publish import catalogue
from tests.conftest import latest_release
from tests.publish.datagouv_rules import ckan_problems, dcat_problems, guess_licence, udata_frequency

SPDX = "http://spdx.org/rdf/terms#"


def shown(anonymous) -> dict[str, dict]:
    """Each family's latest release (the series carry no files: a CKAN harvester skips them)."""
    return {f.name: latest_release(anonymous, f.name) for f in catalogue.FAMILIES}


def test_every_published_dataset_passes_the_ckan_harvester_rules(published, anonymous):
    datasets = shown(anonymous)
    assert [p for d in datasets.values() for p in ckan_problems(d)] == []
    # what data.gouv.fr then files: the licence, the frequency, the coverage
    assert guess_licence(datasets["trafic-routier"]["license_id"], datasets["trafic-routier"]["license_title"]) \
        == "odc-odbl"                                        # the counters' ODbL
    weather = datasets["meteo-degres-jours"]
    assert guess_licence(weather["license_id"], weather["license_title"]) == "lov2"
    extras = {e["key"]: e["value"] for e in weather["extras"]}
    assert udata_frequency(extras["frequency"]) == "annual"
    assert (extras["temporal_start"], extras["temporal_end"]) == ("2024-01-01", "2024-12-31")


def test_every_published_dataset_passes_the_dcat_harvester_rules(catalogue_graph):
    titles = tuple(f"{f.title} — édition" for f in catalogue.FAMILIES)
    ours = Graph()
    for node in catalogue_graph.subjects(RDF.type, DCAT.Dataset):
        if str(catalogue_graph.value(node, DCT.title)).startswith(titles):
            ours += catalogue_graph.cbd(node)
            for d in catalogue_graph.objects(node, DCAT.distribution):
                ours += catalogue_graph.cbd(d)
    assert len(set(ours.subjects(RDF.type, DCAT.Dataset))) == len(catalogue.FAMILIES)
    assert dcat_problems(ours) == []


def test_a_broken_dataset_fails_naming_the_dataset_and_the_field(published, anonymous, catalogue_graph):
    broken = copy.deepcopy(shown(anonymous)["eclairage-public"])
    name = broken["name"]
    broken.update(license_id="licence-maison", license_title=None)
    broken["tags"].append({"id": "x", "name": "é"})
    broken["extras"] = [e if e["key"] != "frequency" else {"key": "frequency", "value": "ANNUAL"}
                        for e in broken["extras"] if e["key"] != "spatial"]
    broken["resources"][0]["format"] = None
    found = {(name, field) for name, field, _ in ckan_problems(broken)}
    first = broken["resources"][0]["name"]
    assert found == {(name, "license_id"), (name, "tags"), (name, "extras.frequency"), (name, "extras.spatial"),
                     (name, f"resources[{first}].format")}

    g = Graph()
    g += catalogue_graph
    title = shown(anonymous)["eclairage-public"]["title"]
    (node,) = [n for n in g.subjects(RDF.type, DCAT.Dataset) if str(g.value(n, DCT.title)) == title]
    g.remove((node, DCT.identifier, None))
    g.set((node, DCT.accrualPeriodicity, Literal("tous les ans")))
    distribution = next(g.objects(node, DCAT.distribution))
    for checksum in g.objects(distribution, URIRef(SPDX + "checksum")):
        g.remove((checksum, URIRef(SPDX + "algorithm"), None))
    found = {(name, field) for name, field, _ in dcat_problems(g) if name == title}
    label = f"distribution[{g.value(distribution, DCT.title)}]"
    assert found == {(title, "dct:identifier"), (title, "dct:accrualPeriodicity"), (title, f"{label}.spdx:checksum")}
