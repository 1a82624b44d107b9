"""Publishing the demo region's approved indicators to the real portal: every family with all its
resources, CSV = mart (secret cells blanked and flagged), idempotence, a portal that stops in the
middle of a publication, and nothing raw or unaggregated on the portal."""

from __future__ import annotations

import csv
import io
import urllib.request

import pyarrow as pa
import requests

import pytest

from territoire_hub.publish import catalogue
from territoire_hub.publish.ckan import Client, PortalUnavailable
from territoire_hub.publish.files import neutralised, settled, write_csv
from territoire_hub.publish.publisher import publish_all, protected_table
from territoire_hub.publish.sensitivity import protected_columns
from territoire_hub.lineage import mart_datasets
from territoire_hub.warehouse import connect
from tests.conftest import hub, latest_release

def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def test_every_family_is_published_with_all_its_resources(published, anonymous, registry):
    _, _, results = published
    assert [r.family for r in results if r.url] == [f.name for f in catalogue.FAMILIES]
    for family in catalogue.FAMILIES:
        dataset = latest_release(anonymous, family.name)
        expected = {f"{t.mart}.{ext}" for t in family.tables for ext in ("csv", "parquet", "schema.json")}
        assert {r["name"] for r in dataset["resources"]} == expected | {"graphique.png", "rapport_qualite.json"}
        partners = [a["agent"][0]["name"] for a in dataset["qualified_attribution"]]
        # under the partner's organisation when the data is all theirs, else the regional structure's
        owner = next(p.id for p in registry.partners.values() if p.name == partners[0]) \
            if len(partners) == 1 else "territoire-hub"
        assert dataset["organization"]["name"] == owner, family.name
        assert dataset["license_id"] in ("etalab-2.0", "odbl-1.0") and dataset["quality_status"].startswith("validé")
        assert [s.get("uri") for s in dataset["spatial_coverage"][:2]] == [None, "https://geo.api.gouv.fr/regions/76"]
        png = next(r for r in dataset["resources"] if r["name"] == "graphique.png")
        assert download(png["url"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert latest_release(anonymous, "trafic-routier")["license_id"] == "odbl-1.0"   # the counters' ODbL
    weather = latest_release(anonymous, "meteo-degres-jours")["organization"]
    assert (weather["name"], weather["title"]) == ("meteo-france", registry.partners["meteo-france"].name)
    assert latest_release(anonymous, "trafic-routier")["organization"]["name"] == "territoire-hub"


def test_each_csv_equals_its_mart_with_secret_cells_blank_and_flagged(published, anonymous, registry):
    settings, _, _ = published
    con = connect(settings.warehouse, read_only=True)
    try:
        for family in catalogue.FAMILIES:
            dataset = latest_release(anonymous, family.name)
            for table in family.tables:
                resource = next(r for r in dataset["resources"] if r["name"] == f"{table.mart}.csv")
                rows = list(csv.reader(io.StringIO(download(resource["url"]).decode("utf-8"))))
                expected, _ = protected_table(con, registry, table)
                assert rows[0] == expected.column_names
                assert len(rows) - 1 == expected.num_rows == con.execute(
                    f"SELECT count(*) FROM publication.{table.mart}").fetchone()[0]
                if table.secrecy is None:
                    continue
                status = rows[0].index("secret_statistique")
                for measure in table.secrecy.measures:
                    m = rows[0].index(measure)
                    assert all(r[m] == "" for r in rows[1:] if r[status]), (table.mart, measure)
                # the DataStore holds the same table
                found = anonymous.action.datastore_search(resource_id=resource["id"], limit=1)
                assert found["total"] == expected.num_rows
    finally:
        con.close()


def test_a_rebuild_and_a_second_run_with_no_new_data_change_nothing(published, anonymous, registry):
    """`make run` twice: the marts are rebuilt (other row order, other last bits of float sums, a new
    run id), yet the same bytes are published: nothing sent, the metadata untouched, no publication
    recorded."""
    settings, client, _ = published

    def state() -> dict:
        shown = {f.name: latest_release(anonymous, f.name) for f in catalogue.FAMILIES}
        return {name: (d["metadata_modified"], {r["id"]: r["last_modified"] for r in d["resources"]})
                for name, d in shown.items()}

    def files() -> dict:
        return {p.relative_to(settings.data_dir): p.read_bytes() for p in (settings.data_dir / "publish").rglob("*")
                if p.is_file()}

    def publications() -> int:
        con = connect(settings.warehouse, read_only=True)
        try:
            return con.execute("SELECT count(*) FROM audit.events WHERE action = 'publication'").fetchone()[0]
        finally:
            con.close()

    before, written, recorded = state(), files(), publications()
    hub(settings.home, "build")
    again = publish_all(settings, registry, client, run_id="test-run-2", mart_datasets=mart_datasets(settings, registry),
                        echo=lambda _: None)
    assert [r.changed for r in again] == [0] * len(catalogue.FAMILIES)
    assert not any(r.revised for r in again)
    assert state() == before            # not even the metadata was sent again
    assert files() == written           # byte for byte
    assert publications() == recorded


def test_published_tables_are_settled_rounded_and_ordered():
    table = pa.table({"code_territoire": ["34172", "30032", None, "30032"],
                      "part_pct": [101.14999999999999, 0.1 + 0.2, None, 12.345678],
                      "tmj": [1.25, 2.0, 3.0, 4.75]})
    settled_ = settled(table, ["code_territoire"], {"tmj": 1})
    assert settled_.to_pylist() == [
        {"code_territoire": "30032", "part_pct": 0.3, "tmj": 2.0},
        {"code_territoire": "30032", "part_pct": 12.345678, "tmj": 4.8},
        {"code_territoire": "34172", "part_pct": 101.15, "tmj": 1.3},    # half away from zero, as DuckDB
        {"code_territoire": None, "part_pct": None, "tmj": 3.0}]


class LosingClient(Client):
    """The real portal behind a network that loses the response of the first dataset switch: the
    portal applied it, the publisher saw a connection error."""

    lost: int = 0

    def _once(self, action, files, data):
        answer = super()._once(action, files, data)
        if action == "package_revise" and not self.lost:
            self.lost += 1
            raise requests.ConnectionError("connection reset by peer (response lost)")
        return answer


def test_a_lost_response_a_dataset_left_private_and_a_duplicate_are_repaired(published, admin, anonymous, registry):
    from territoire_hub.publish.files import sha256

    settings, _, _ = published
    # an earlier run created the release and died before its switch; someone added a second chart
    lighting = latest_release(anonymous, "eclairage-public")["name"]
    admin.action.package_patch(id=lighting, private=True)
    admin.action.resource_create(package_id=lighting, name="graphique.png", format="PNG",
                                 url="https://example.org/autre-graphique.png")
    con = connect(settings.warehouse)               # and new figures for the weather
    try:
        con.execute("UPDATE publication.meteo_territoire_jour SET temperature_moyenne_c = temperature_moyenne_c + 0.5")
    finally:
        con.close()
    client = LosingClient(admin.address, admin.apikey, backoff=0.1)
    results = publish_all(settings, registry, client, run_id="test-run-1", mart_datasets=mart_datasets(settings, registry),
                          echo=lambda _: None)
    assert client.lost == 1 and all(r.url for r in results)
    for name in ("meteo-degres-jours", "eclairage-public"):
        dataset = latest_release(anonymous, name)              # public again (the weather: a new version)
        names = [r["name"] for r in dataset["resources"]]
        assert len(names) == len(set(names))                    # nothing added twice, the duplicate gone
        for resource in dataset["resources"]:
            assert resource["hash"] == sha256(settings.data_dir / "publish" / name / resource["name"])
            assert resource["url"].startswith(admin.address)
    assert latest_release(anonymous, "eclairage-public")["name"] == lighting


def test_a_portal_stopping_mid_publication_is_completed_by_the_next_run(published, portal, anonymous, registry):
    from territoire_hub.publish.files import sha256

    settings, _, _ = published
    con = connect(settings.warehouse)               # new figures for two families: files to upload
    try:
        con.execute("UPDATE publication.meteo_territoire_annee SET jours_avec_donnees = jours_avec_donnees + 1")
        con.execute("UPDATE publication.trafic_compteur SET tmj_tous_jours = tmj_tous_jours + 1")
    finally:
        con.close()

    def state(family: str, name: str | None = None) -> dict:
        dataset = anonymous.action.package_show(id=name) if name else latest_release(anonymous, family)
        return {"name": dataset["name"], "hashes": {r["name"]: r["hash"] for r in dataset["resources"]},
                "ids": {r["name"]: r["id"] for r in dataset["resources"]}}

    traffic_before = state("trafic-routier")
    impatient = Client(portal.url, portal.secrets()["HUB_CKAN_TOKEN"], attempts=2, backoff=0.1, timeout=5)
    stopped = []

    def stop_after_first_switch(message: str) -> None:
        if "files sent" in message and not stopped:
            stopped.append(message)
            portal.down(echo=lambda *_: None)

    with pytest.raises(PortalUnavailable):
        publish_all(settings, registry, impatient, run_id="test-run-2", mart_datasets=mart_datasets(settings, registry),
                    echo=stop_after_first_switch)
    assert stopped and stopped[0].startswith("    meteo-degres-jours")
    portal.up(echo=lambda *_: None)
    # each dataset is whole: the weather switched entirely to the new figures (every file), the
    # traffic still entirely the previous ones
    weather = state("meteo-degres-jours")
    assert weather["hashes"] == {name: sha256(settings.data_dir / "publish" / "meteo-degres-jours" / name)
                                 for name in weather["hashes"]}
    assert state("trafic-routier") == traffic_before          # its correction not published yet

    publish_all(settings, registry, Client(portal.url, portal.secrets()["HUB_CKAN_TOKEN"]), run_id="test-run-2",
                mart_datasets=mart_datasets(settings, registry), echo=lambda _: None)
    for family in catalogue.FAMILIES:           # consistent: every resource is the local file, checksum and all
        dataset = latest_release(anonymous, family.name)
        for resource in dataset["resources"]:
            local = settings.data_dir / "publish" / family.name / resource["name"]
            assert resource["hash"] == sha256(local)
            if resource["format"] == "CSV":     # the DataStore load the stop cut short was redone
                assert resource["datastore_hash"].split(":")[0] == resource["hash"]
                rows = sum(1 for _ in local.open(encoding="utf-8")) - 1
                assert anonymous.action.datastore_search(resource_id=resource["id"], limit=0)["total"] == rows
    # the correction is a new version of the edition; the version it follows keeps its files
    traffic = latest_release(anonymous, "trafic-routier")
    assert traffic["name"] == traffic_before["name"] + "-v02" and traffic["version"].endswith("-v02")
    assert "trafic_compteur.csv" in traffic["version_notes"] and traffic_before["name"] in traffic["version_notes"]
    assert state("trafic-routier", traffic_before["name"]) == traffic_before


def test_nothing_raw_or_unaggregated_is_on_the_portal(published, anonymous, registry):
    """Walk every resource: no raw partner table, no column of a restricted, commercial or personal
    dataset, every row an aggregate over a territory (or an open-data counter)."""
    protected = set(protected_columns(registry))       # the sensitivity check's list, from the registry
    assert {"nb_sites", "conso_totale_mwh", "id_pdc_itinerance", "id_capteur", "numero_ticket", "index_kwh"} <= protected
    raw_tables = set(registry.datasets)
    # (the session's portal also holds test_portal.py's hand-made corpus: the hub publishes under its
    # organisation and its partners')
    settings = published[0]
    per_equipment = {"trafic_compteur.csv", "trafic_troncon_annee.csv", "mobilites_site_annee.csv"}
    sources = mart_datasets(settings, registry)
    for table in per_equipment:       # (the demo declares no road-section or mobility dataset: empty tables)
        assert {registry.dataset(k).dataset.sensitivity.value for k in sources[table.removesuffix(".csv")]} <= {"open"}
    assert sources["trafic_compteur"]
    owners = " OR ".join(["territoire-hub", *registry.partners])
    published = anonymous.action.package_search(fq=f"organization:({owners})", rows=1000)["results"]
    # every family's series and its releases (the earlier tests' corrections among them)
    names = {d["name"] for d in published}
    assert {f.name for f in catalogue.FAMILIES} <= names
    assert {latest_release(anonymous, f.name)["name"] for f in catalogue.FAMILIES} <= names
    for dataset in published:
        for resource in dataset["resources"]:
            assert not any(key in resource["name"] for key in raw_tables), resource["name"]
            if resource["format"] != "CSV":
                continue
            header = next(csv.reader(io.StringIO(download(resource["url"]).decode("utf-8"))))
            assert not protected & set(header), (resource["name"], protected & set(header))
            # a territory aggregate, or a table per counter / road section built from open data only
            assert "niveau" in header or resource["name"] in per_equipment, resource["name"]


def test_csv_cells_a_spreadsheet_would_execute_are_neutralised(tmp_path):
    import pyarrow as pa

    cells = pa.table({"t": ["=1+1", "+33 1", "-2", "@SUM(A1)", "\tx", "\rx", "Sète", "", "a=b", None],
                      "n": [-2.0] * 10})
    assert neutralised(cells).to_pydict() == {
        "t": ["'=1+1", "'+33 1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "Sète", "", "a=b", None], "n": [-2.0] * 10}
    path = write_csv(pa.table({"nom": ["=cmd|' /C calc'!A0", "Agde"], "valeur": [-1.5, 2.0]}), tmp_path / "t.csv")
    assert path.read_text(encoding="utf-8") == "nom,valeur\n'=cmd|' /C calc'!A0,-1.5\nAgde,2.0\n"


def test_the_fiche_hides_the_electricity_of_a_commune_secret_in_the_energy_dataset(published, registry):
    settings, _, _ = published
    con = connect(settings.warehouse)
    try:
        commune, year = con.execute(
            "SELECT code_territoire, annee FROM publication.energie_territoire_annee WHERE niveau = 'commune' "
            "AND secteur = 'TOUS' AND energie = 'electricite' AND conso_mwh IS NOT NULL "
            "ORDER BY code_territoire LIMIT 1").fetchone()
        con.execute("UPDATE publication.energie_territoire_annee SET points_de_livraison = 2 WHERE niveau = 'commune' "
                    "AND code_territoire = ? AND annee = ? AND secteur = 'TOUS'", [commune, year])
        fiche = next(t for f in catalogue.FAMILIES for t in f.tables if t.mart == "fiche_territoire")
        data, secret = protected_table(con, registry, fiche)
    finally:
        con.close()
    rows = {(r["niveau"], r["code_territoire"], r["annee"]): r for r in data.to_pylist()}
    hidden = rows[("commune", commune, year)]
    assert hidden["secret_statistique"] == "secondaire" and hidden["conso_electricite_mwh"] is None
    assert hidden["conso_electricite_mwh_par_habitant"] is None and hidden["population"] is not None
    # the EPCI total cannot give it back: the energy dataset suppressed a second commune there
    assert secret >= 2
    assert sum(r["conso_electricite_mwh"] is not None for r in rows.values() if r["niveau"] == "commune") \
        == len([r for r in rows.values() if r["niveau"] == "commune"]) - secret


def test_the_portal_s_secrets_are_written_nowhere_in_the_hub_home(published, portal):
    settings, _, results = published
    assert results   # the home did publish with the token
    secrets = {k: v.encode() for k, v in portal.secrets().items()
               if k in ("HUB_CKAN_TOKEN", "CKAN_DB_PASSWORD", "DATASTORE_RO_PASSWORD", "REDIS_PASSWORD")}
    assert len(secrets) == 4
    leaks = [(key, str(path)) for path in settings.home.rglob("*") if path.is_file() and not path.is_symlink()
             for key, value in secrets.items() if value in path.read_bytes()]
    assert leaks == []
