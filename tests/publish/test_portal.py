"""The real CKAN portal through ckanapi, HTTP and a headless Chromium: organisations, public and
private datasets, uploads, search served by PostgreSQL (exact hits, filters, facets, sort, paging),
pages, DataStore."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from ckanapi import NotAuthorized, NotFound

ORGS = {"metropole-montpellier": "Montpellier Méditerranée Métropole", "sdee-herault": "Hérault Énergies"}
DATASETS = [
    # name, title, notes, tags, organisation, licence, resource formats, private, theme
    ("conso-electricite-communes", "Consommation d'électricité par commune",
     "Consommation annuelle d'électricité des communes de la région, par secteur.",
     ["énergie", "électricité"], "sdee-herault", "etalab-2.0", ["CSV"], False, "energie"),
    ("eclairage-public", "Éclairage public : consommation et LED",
     "Points lumineux, part des LED et kWh par habitant.",
     ["éclairage", "énergie"], "sdee-herault", "etalab-2.0", ["CSV", "PARQUET"], False, "energie"),
    ("trafic-routier", "Trafic routier moyen journalier",
     "Trafic moyen journalier annuel des compteurs permanents.",
     ["mobilité", "trafic"], "metropole-montpellier", "odbl-1.0", ["CSV"], False, "mobilite"),
    ("recharge-vehicules", "Points de recharge pour véhicules électriques",
     "Points de recharge par territoire et taux d'occupation.",
     ["mobilité", "électricité"], "metropole-montpellier", "etalab-2.0", ["CSV", "JSON"], False, "mobilite"),
    ("capteurs-eclairage-brut", "Capteurs d'éclairage (données brutes)",
     "Relevés bruts des capteurs : réservé aux agents de la structure.",
     ["éclairage"], "metropole-montpellier", "etalab-2.0", ["CSV"], True, "energie"),
]
THEME = "http://publications.europa.eu/resource/authority/data-theme/"       # EU data themes
ANNUAL = "http://publications.europa.eu/resource/authority/frequency/ANNUAL"
CSV = "code_commune;annee;conso_mwh\n34172;2024;2386217.397\n30006;2024;25000\n"


@pytest.fixture(scope="session")
def corpus(admin, tmp_path_factory):
    upload = tmp_path_factory.mktemp("uploads") / "indicateur.csv"
    upload.write_text(CSV)
    for name, title in ORGS.items():
        admin.action.organization_create(name=name, title=title)
    admin.action.group_create(name="energie", title="Énergie")
    for name, title, notes, tags, org, licence, formats, private, theme in DATASETS:
        admin.action.package_create(
            name=name, title=title, notes=notes, owner_org=org, license_id=licence, private=private,
            tags=[{"name": t} for t in tags], theme=[THEME + ("ENER" if theme == "energie" else "TRAN")],
            frequency=ANNUAL, spatial_coverage=[{"text": "Occitanie (région 76)", "uri": "https://geo.api.gouv.fr/regions/76"}],
            groups=[{"name": "energie"}] if theme == "energie" else [])
        for fmt in formats:
            if fmt == "CSV":
                with open(upload, "rb") as fh:
                    admin.action.resource_create(package_id=name, name=f"{name}.csv", format="CSV", upload=fh)
            else:
                admin.action.resource_create(package_id=name, name=f"{name}.{fmt.lower()}", format=fmt,
                                             url=f"https://example.org/{name}.{fmt.lower()}")
    return [d[0] for d in DATASETS]


def names(result) -> list[str]:
    return [d["name"] for d in result["results"]]


def facet(result, field) -> dict[str, int]:
    return {i["name"]: i["count"] for i in result["search_facets"][field]["items"]}


def test_portal_answers_status_show_with_the_hub_extensions(portal):
    status = portal.status()
    assert status["ckan_version"] == "2.12.0"
    assert {"territoire", "datastore", "datatables_view", "scheming_datasets", "dcat"} <= set(status["extensions"])
    assert oct(portal.env_file.stat().st_mode & 0o777) == "0o600"


def test_french_open_licences_are_offered(anonymous):
    licences = {lic["id"]: lic["title"] for lic in anonymous.action.license_list()}
    assert licences["etalab-2.0"].startswith("Licence Ouverte") and licences["odbl-1.0"].startswith("Open Database")


def test_free_text_is_french_and_accent_insensitive(anonymous, corpus):
    expected = ["conso-electricite-communes", "recharge-vehicules"]
    for q in ("électricité", "electricite", "Électricité"):
        assert names(anonymous.action.package_search(q=q, sort="title_string asc")) == expected, q
    # the organisation's title is searched too
    assert names(anonymous.action.package_search(q="Hérault", sort="title_string asc")) == [
        "conso-electricite-communes", "eclairage-public"]
    assert anonymous.action.package_search(q="inexistant")["count"] == 0


@pytest.mark.parametrize("fq, expected", [
    ("organization:sdee-herault", ["conso-electricite-communes", "eclairage-public"]),
    ('tags:"mobilité"', ["recharge-vehicules", "trafic-routier"]),
    ("license_id:odbl-1.0", ["trafic-routier"]),
    ("res_format:PARQUET", ["eclairage-public"]),
    ("groups:energie", ["conso-electricite-communes", "eclairage-public"]),
    (f'theme:"{THEME}TRAN"', ["recharge-vehicules", "trafic-routier"]),
    ('organization:metropole-montpellier tags:"électricité"', ["recharge-vehicules"]),
])
def test_filters(anonymous, corpus, fq, expected):
    assert names(anonymous.action.package_search(fq=fq, sort="name asc")) == expected


def test_facets_count_public_datasets_only(anonymous, corpus):
    result = anonymous.action.package_search(
        facet="true", **{"facet.field": '["organization", "tags", "license_id", "res_format"]'})
    assert result["count"] == 4
    assert facet(result, "organization") == {"sdee-herault": 2, "metropole-montpellier": 2}
    assert facet(result, "tags") == {"énergie": 2, "électricité": 2, "mobilité": 2, "éclairage": 1, "trafic": 1}
    assert facet(result, "license_id") == {"etalab-2.0": 3, "odbl-1.0": 1}
    assert facet(result, "res_format") == {"CSV": 4, "PARQUET": 1, "JSON": 1}


def test_sort_and_paging(anonymous, corpus):
    everything = ["conso-electricite-communes", "eclairage-public", "recharge-vehicules", "trafic-routier"]
    # titles sort without their accents: "Éclairage" between "Consommation" and "Points"
    assert names(anonymous.action.package_search(sort="title_string asc")) == everything
    assert names(anonymous.action.package_search(sort="title_string desc")) == everything[::-1]
    page = anonymous.action.package_search(sort="title_string asc", rows=2, start=2)
    assert page["count"] == 4 and names(page) == everything[2:]


def test_a_private_dataset_never_shows_up_for_an_anonymous_user(anonymous, admin, corpus):
    assert "capteurs-eclairage-brut" not in names(anonymous.action.package_search(q="capteurs", rows=100))
    assert anonymous.action.package_search(q="brutes")["count"] == 0
    assert anonymous.action.package_search(include_private=True, rows=100)["count"] == 4
    with pytest.raises((NotAuthorized, NotFound)):
        anonymous.action.package_show(id="capteurs-eclairage-brut")
    # the structure's agents (sysadmin) see it
    assert names(admin.action.package_search(q="brutes", include_private=True)) == ["capteurs-eclairage-brut"]
    assert admin.action.package_search(include_private=True)["count"] == 5


def test_an_updated_or_deleted_dataset_is_reindexed(admin, anonymous, corpus):
    admin.action.package_patch(id="trafic-routier", notes="Débits horaires agrégés en vélos et voitures.")
    assert names(anonymous.action.package_search(q="vélos")) == ["trafic-routier"]
    admin.action.package_patch(id="trafic-routier", notes=DATASETS[2][2])
    assert anonymous.action.package_search(q="vélos")["count"] == 0


def test_uploaded_resource_is_served_back(anonymous, corpus):
    (resource,) = [r for r in anonymous.action.package_show(id="conso-electricite-communes")["resources"]]
    with urllib.request.urlopen(resource["url"], timeout=10) as response:
        assert response.read().decode() == CSV


@pytest.mark.parametrize("path, must_contain", [
    ("/", "Les indicateurs"),                  # the structure's home page (templates/home/index.html)
    ("/dataset/", "Trafic routier moyen journalier"),
    ("/organization/metropole-montpellier", "Points de recharge pour véhicules électriques"),
    ("/dataset/eclairage-public", "eclairage-public.parquet"),
    ("/group/energie", "Consommation d&#39;électricité par commune"),
])
def test_pages(portal, corpus, path, must_contain):
    with urllib.request.urlopen(portal.url + path, timeout=20) as response:
        assert response.status == 200
        html = response.read().decode()
    assert must_contain in html
    assert "Capteurs d&#39;éclairage" not in html      # the private dataset stays hidden


def test_headless_chromium_shows_a_dataset_page_with_its_resources(portal, corpus, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Debian's chromium is needed (make test installs it)"
    dom = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         f"{portal.url}/dataset/recharge-vehicules"],
        capture_output=True, text=True, timeout=120).stdout
    assert "<title>" in dom and "Points de recharge pour véhicules électriques" in dom
    assert "recharge-vehicules.csv" in dom and "recharge-vehicules.json" in dom


def test_datastore_tables_are_queryable(admin, anonymous, corpus):
    resource = admin.action.package_show(id="eclairage-public")["resources"][0]
    admin.action.datastore_create(
        resource_id=resource["id"], force=True,
        fields=[{"id": "code_territoire", "type": "text"}, {"id": "annee", "type": "int"},
                {"id": "part_led_pct", "type": "numeric"}],
        records=[{"code_territoire": "34172", "annee": 2024, "part_led_pct": 41.5},
                 {"code_territoire": "30032", "annee": 2024, "part_led_pct": 12.0},
                 {"code_territoire": "34172", "annee": 2023, "part_led_pct": 35.0}])
    found = anonymous.action.datastore_search(resource_id=resource["id"], filters={"code_territoire": "34172"},
                                              sort="annee")
    assert [(r["annee"], float(r["part_led_pct"])) for r in found["records"]] == [(2023, 35.0), (2024, 41.5)]
    sql = anonymous.action.datastore_search_sql(
        sql=f'SELECT code_territoire, part_led_pct FROM "{resource["id"]}" WHERE annee = 2024 ORDER BY part_led_pct DESC')
    assert [(r["code_territoire"], float(r["part_led_pct"])) for r in sql["records"]] == [("34172", 41.5), ("30032", 12.0)]


def test_the_extension_s_own_unit_tests_pass_in_ckan_s_virtualenv(portal):
    extension = Path(__file__).resolve().parents[2] / "publish" / "ckanext-territoire"
    pytest_bin = portal.venv / "bin" / "pytest"
    if not pytest_bin.exists():
        subprocess.run([str(portal.venv / "bin" / "python"), "-m", "pip", "install", "-q", "pytest==9.2.0"],
                       check=True, capture_output=True)
    done = subprocess.run([str(pytest_bin), "-q", "-p", "no:cacheprovider"], cwd=extension, capture_output=True,
                          text=True, env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST")})
    assert done.returncode == 0, done.stdout + done.stderr


def test_cli_status_and_down_up(portal):
    exe = Path(sys.executable).with_name("hub")
    env = {**os.environ, "HUB_PORTAL_DIR": str(portal.root), "HUB_PORTAL_VENV": str(portal.venv),
           "HUB_PORTAL_PORT": str(portal.port), "HUB_PORTAL_PG_PORT": str(portal.pg_port),
           "HUB_PORTAL_REDIS_PORT": str(portal.redis_port), "HUB_PORTAL_DB": portal.db,
           "HUB_PORTAL_DATASTORE_DB": portal.datastore_db}
    status = subprocess.run([str(exe), "portal", "status"], env=env, capture_output=True, text=True)
    assert status.returncode == 0 and "CKAN 2.12.0" in status.stdout
    down = subprocess.run([str(exe), "portal", "down"], env=env, capture_output=True, text=True)
    assert down.returncode == 0 and portal.status() is None
    assert subprocess.run([str(exe), "portal", "status"], env=env, capture_output=True).returncode == 1
    up = subprocess.run([str(exe), "portal", "up"], env=env, capture_output=True, text=True, timeout=600)
    assert up.returncode == 0, up.stderr
    assert portal.status()["ckan_version"] == "2.12.0"
    rotate = subprocess.run([str(exe), "portal", "rotate-logs"], env=env, capture_output=True, text=True)
    assert rotate.returncode == 0 and rotate.stdout.startswith("0 log(s) rotated"), rotate.stdout + rotate.stderr


def test_an_organisation_member_sees_its_private_dataset(admin, portal, corpus):
    from ckanapi import RemoteCKAN

    # throwaway passwords, generated per run: the accounts log in with API tokens
    admin.action.user_create(name="agent-metropole", email="agent@localhost", password=secrets.token_urlsafe(18))
    admin.action.organization_member_create(id="metropole-montpellier", username="agent-metropole", role="member")
    token = admin.action.api_token_create(user="agent-metropole", name="test")["token"]
    agent = RemoteCKAN(portal.url, apikey=token)
    assert names(agent.action.package_search(q="brutes", include_private=True)) == ["capteurs-eclairage-brut"]
    admin.action.user_create(name="agent-sdee", email="agent2@localhost", password=secrets.token_urlsafe(18))
    admin.action.organization_member_create(id="sdee-herault", username="agent-sdee", role="member")
    other = RemoteCKAN(portal.url, apikey=admin.action.api_token_create(user="agent-sdee", name="t")["token"])
    assert other.action.package_search(q="brutes", include_private=True)["count"] == 0


def test_the_hub_s_dcat_fields_are_kept_and_exported(anonymous, portal, corpus):
    dataset = anonymous.action.package_show(id="trafic-routier")
    assert (dataset["frequency"], dataset["theme"]) == (ANNUAL, [THEME + "TRAN"])
    assert dataset["spatial_coverage"] == [{"text": "Occitanie (région 76)", "uri": "https://geo.api.gouv.fr/regions/76"}]
    with urllib.request.urlopen(f"{portal.url}/dataset/trafic-routier.ttl", timeout=20) as response:
        turtle = response.read().decode()
    assert "dcat:Dataset" in turtle and "Trafic routier moyen journalier" in turtle
