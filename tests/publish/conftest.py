"""The publish tests' fixtures are shared with the other packages' tests and live in
tests/conftest.py: the session's real CKAN portal (``portal``, ``admin``, ``anonymous``: the Dagster
run of `hub publish` in tests/orchestration publishes to it too), the small demo run
(``SMALL_DEMO``, ``demo_home``) and ``copy_home``. Here: the demo published to that portal, once
per module that asks for it (``built``, ``published``, purged afterwards), and its DCAT catalogue."""

import urllib.request

import pytest
from ckanapi import NotFound
from rdflib import Graph, Namespace

from territoire_hub.lineage import mart_datasets
from territoire_hub.publish import catalogue
from territoire_hub.publish.ckan import Client
from territoire_hub.publish.publisher import DOMAIN_GROUPS, publish_all
from tests.conftest import copy_home


@pytest.fixture(scope="module")
def built(demo_home, tmp_path_factory):
    """A copy of the small demo (test_publisher changes its approved marts)."""
    return copy_home(demo_home, tmp_path_factory.mktemp("published") / "home")


@pytest.fixture(scope="module")
def published(built, portal, admin, registry):
    """The small demo published to the session's portal: (settings, client, each family's result);
    what it published is purged when the module is done (the portal tests count their own corpus)."""
    client = Client(portal.url, portal.secrets()["HUB_CKAN_TOKEN"])
    try:
        results = publish_all(built, registry, client, run_id="test-run-1",
                              mart_datasets=mart_datasets(built, registry), echo=lambda _: None)
        yield built, client, results
    finally:
        purge_published(admin, registry)


def purge_published(admin, registry) -> None:
    """The families' series and releases, then the organisations and groups publishing made, if left empty."""
    prefixes = tuple(f"{f.name}-" for f in catalogue.FAMILIES)
    found = admin.action.package_search(q="*:*", rows=1000, include_private=True, include_drafts=True)["results"]
    releases = [d["name"] for d in found if d["name"].startswith(prefixes)]
    for name in releases + [f.name for f in catalogue.FAMILIES]:      # the members, then their series
        try:
            admin.action.dataset_purge(id=name)
        except NotFound:
            pass
    for kind, names in (("organization", [registry.structure.id, *registry.partners]),
                        ("group", [g.replace("_", "-") for g in DOMAIN_GROUPS])):
        for name in names:
            try:
                shown = getattr(admin.action, f"{kind}_show")(id=name, include_datasets=False)
            except NotFound:
                continue
            if not shown.get("package_count"):
                getattr(admin.action, f"{kind}_purge")(id=name)


@pytest.fixture(scope="module")
def catalogue_graph(published, portal) -> Graph:
    """The published demo's DCAT catalogue: every page of /catalog.ttl (hydra:nextPage), one graph."""
    hydra = Namespace("http://www.w3.org/ns/hydra/core#")
    graph, url, pages = Graph(), f"{portal.url}/catalog.ttl", 0
    while url and pages < 50:
        with urllib.request.urlopen(url, timeout=60) as response:
            page = Graph().parse(data=response.read(), format="turtle")
        graph += page
        pages += 1
        url = next((str(o) for o in page.objects(None, hydra.nextPage)), None)
    return graph
