"""Releases: a family is a dataset series, each release a member that is never overwritten. A
correction of the current edition is a new version with its changelog, the version it follows
stays downloadable; a new year is a new edition; the same files again add nothing."""

from __future__ import annotations

import urllib.request

from territoire_hub.lineage import mart_datasets
from territoire_hub.publish.publisher import publish_all
from territoire_hub.publish.releases import Release, edition_of, same_files
from territoire_hub.warehouse import connect
from tests.conftest import latest_release

FAMILY = "eclairage-public"


def members(ckan, family: str) -> list[str]:
    series = ckan.action.package_show(id=family)
    found = ckan.action.package_search(fq=f'vocab_in_series:"{series["id"]}"', sort="version asc", rows=100)
    return [d["name"] for d in found["results"]]


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def csv_of(dataset: dict) -> dict:
    return next(r for r in dataset["resources"] if r["format"] == "CSV")


def republish(settings, registry, client, run_id: str):
    return {r.family: r for r in publish_all(settings, registry, client, run_id=run_id,
                                             mart_datasets=mart_datasets(settings, registry), echo=lambda _: None)}


def test_editions_and_versions_are_named_and_ordered():
    assert edition_of([2023, 2024]) == "2024"
    labels = [Release("f", "2024", 1).label, Release("f", "2024", 2).label, Release("f", "2024", 12).label,
              Release("f", "2025", 1).label]
    assert labels == ["2024", "2024-v02", "2024-v12", "2025"] == sorted(labels)
    assert Release("trafic-routier", "2024", 2).name == "trafic-routier-2024-v02"


def test_a_release_is_the_same_when_it_holds_each_file_whatever_was_added_beside():
    digests = {"a.csv": "1" * 64, "graphique.png": "2" * 64}
    held = {"resources": [{"name": "a.csv", "hash": "1" * 64}, {"name": "graphique.png", "hash": "2" * 64}]}
    assert same_files(held, digests)
    added = {"resources": held["resources"] + [{"name": "graphique.png", "hash": None}]}      # a second copy
    assert same_files(added, digests)
    assert not same_files(held, {**digests, "a.csv": "3" * 64})         # a file changed: a correction
    assert not same_files(held, {**digests, "b.csv": "4" * 64})         # a file added: a correction


def test_a_correction_then_a_new_year_are_new_members_and_the_first_stays_downloadable(published, anonymous, registry):
    settings, client, _ = published
    first = latest_release(anonymous, FAMILY)
    assert (first["name"], first["version"]) == (f"{FAMILY}-2024", "2024") and members(anonymous, FAMILY) == [first["name"]]
    first_csv = download(csv_of(first)["url"])

    # nothing new: nothing added
    assert republish(settings, registry, client, "test-releases-0")[FAMILY].release == first["name"]
    assert members(anonymous, FAMILY) == [first["name"]]

    # a correction of the 2024 figures
    con = connect(settings.warehouse)
    try:
        con.execute("UPDATE publication.eclairage_territoire_annee SET points_lumineux = points_lumineux + 1 "
                    "WHERE niveau = 'commune' AND code_territoire = '34172'")
    finally:
        con.close()
    assert republish(settings, registry, client, "test-releases-1")[FAMILY].release == f"{FAMILY}-2024-v02"
    corrected = latest_release(anonymous, FAMILY)
    assert members(anonymous, FAMILY) == [first["name"], corrected["name"]]
    assert corrected["version"] == "2024-v02"
    assert "eclairage_territoire_annee.csv" in corrected["version_notes"] and first["name"] in corrected["version_notes"]
    assert download(csv_of(corrected)["url"]) != first_csv
    again = anonymous.action.package_show(id=first["name"])               # the first: untouched, downloadable
    assert download(csv_of(again)["url"]) == first_csv
    assert {r["id"]: r["hash"] for r in again["resources"]} == {r["id"]: r["hash"] for r in first["resources"]}

    # a new year: a new edition
    con = connect(settings.warehouse)
    try:
        con.execute("INSERT INTO publication.eclairage_territoire_annee SELECT * REPLACE (2025 AS annee) "
                    "FROM publication.eclairage_territoire_annee WHERE annee = 2024")
    finally:
        con.close()
    assert republish(settings, registry, client, "test-releases-2")[FAMILY].release == f"{FAMILY}-2025"
    assert members(anonymous, FAMILY) == [first["name"], corrected["name"], f"{FAMILY}-2025"]
    series = anonymous.action.package_show(id=FAMILY)
    assert series["series_navigation"]["count"] == 3
    assert series["series_navigation"]["last"]["name"] == f"{FAMILY}-2025"
