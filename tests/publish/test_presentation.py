"""The portal as a visitor sees it after a publication, in headless Chromium: the structure's home
page, the table preview of every CSV backed by the DataStore, the image of every chart."""

from __future__ import annotations

import csv as csvlib
import html
import io
import re
import shutil
import subprocess
import urllib.request

import pytest

from territoire_hub.lineage import mart_datasets
from territoire_hub.publish import catalogue
from territoire_hub.publish.publisher import publish_all
from tests.conftest import latest_release


def page(url: str, profile) -> str:
    """The DOM once the page's scripts ran (the table preview loads its rows from the DataStore)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Debian's chromium is needed (make test installs it)"
    return subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120).stdout


def text_of(dom: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom)))


@pytest.fixture(scope="module")
def resources(published, anonymous) -> dict[str, list[dict]]:
    """Each family's resources, each with its views."""
    out = {}
    for family in catalogue.FAMILIES:
        dataset = latest_release(anonymous, family.name)
        for r in dataset["resources"]:
            r["views"] = anonymous.action.resource_view_list(id=r["id"])
        out[family.name] = dataset["resources"]
    return out


def test_the_home_page_presents_the_structure_its_indicators_and_partners(published, portal, anonymous, registry,
                                                                        tmp_path):
    dom = page(portal.url + "/", tmp_path / "profile")
    shown = text_of(dom)
    assert registry.structure.name in shown and registry.structure.contact.email in shown
    (logo,) = set(re.findall(r'<img[^>]+src="([^"]*/uploads/admin/[^"]+)"', dom))     # the structure's logo
    with urllib.request.urlopen(logo if logo.startswith("http") else portal.url + logo, timeout=30) as response:
        assert response.read() == registry.structure.logo.read_bytes()
    assert "Welcome to CKAN" not in shown and "Bienvenue sur CKAN" not in shown and "placeholder" not in shown
    listed = anonymous.action.package_search(rows=1000)["results"]      # the series and datasets outside one
    assert f"{sum(d['type'] == 'dataset_series' or not d.get('in_series') for d in listed)} jeux de données" in shown
    for family in catalogue.FAMILIES:
        assert family.title in shown, family.name
    partners = shown[shown.index("Les partenaires"):]
    for partner in ("Météo-France", registry.partners["enedis"].name, registry.partners["montpellier-metropole"].name):
        assert partner in partners


def test_every_csv_has_a_table_preview_with_rows_and_every_chart_an_image_view(resources, portal, tmp_path):
    for family, items in resources.items():
        for r in items:
            kinds = [v["view_type"] for v in r["views"]]
            if r["format"] == "CSV":
                assert r["datastore_active"] and kinds == ["datatables_view"], (family, r["name"])
            elif r["format"] == "PNG":
                assert kinds == ["image_view"] and r["views"][0]["image_url"] == r["url"], (family, r["name"])
    csv = next(r for r in resources["eclairage-public"] if r["format"] == "CSV")
    dom = page(f"{portal.url}/dataset/{csv['package_id']}/resource/{csv['id']}/view/{csv['views'][0]['id']}",
               tmp_path / "profile")
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", dom)
    with urllib.request.urlopen(csv["url"], timeout=30) as response:
        first = next(csvlib.DictReader(io.TextIOWrapper(response, encoding="utf-8")))
    # the first row of the file, read from the DataStore by the preview (not an empty table)
    assert first["code_territoire"] in cells and first["nom_territoire"] in cells, cells[:20]
    resource_page = page(f"{portal.url}/dataset/{csv['package_id']}/resource/{csv['id']}", tmp_path / "profile")
    assert f"/view/{csv['views'][0]['id']}" in resource_page      # the preview is on the resource's page


def test_the_chart_s_view_shows_the_png(resources, portal, tmp_path):
    chart = next(r for r in resources["trafic-routier"] if r["format"] == "PNG")
    dom = page(f"{portal.url}/dataset/{chart['package_id']}/resource/{chart['id']}/view/{chart['views'][0]['id']}",
               tmp_path / "profile")
    assert re.search(r'<img[^>]+src="' + re.escape(chart["url"]), dom)
    with urllib.request.urlopen(chart["url"], timeout=30) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_second_publication_creates_no_second_view(published, resources, registry):
    settings, client, _ = published
    publish_all(settings, registry, client, run_id="test-run-views", mart_datasets=mart_datasets(settings, registry),
                echo=lambda _: None)
    for items in resources.values():
        for r in items:
            assert len(client.call("resource_view_list", id=r["id"])) == len(r["views"]), r["name"]
