"""The drop zone examined without trusting it: links, FIFOs, folders, hidden and hostile names are
never read and always reported; what is read is read once, without following a link."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from territoire_hub.orchestration.ingestion import ingest_all
from territoire_hub.settings import PACKAGE_SOURCES, Settings
from territoire_hub.registry import load_registry
from territoire_hub.sources.dropzone import scan_inbox, unread_entries
from territoire_hub.sources.landing import UnreadableDelivery, land
from territoire_hub.sources.transports import FetchReport, Incoming
from territoire_hub.warehouse import connect

TICKETS = ("numero_ticket;code_insee;id_point_lumineux;date_signalement;date_resolution;type_panne;canal\n"
           "T-0001;30032;BEA-0001;02/03/2024 08:15;04/03/2024 16:00;lampe;telephone\n")


@pytest.fixture(scope="module")
def registry():
    return load_registry(PACKAGE_SOURCES / "registry")


def drop(folder: Path, name: str, mtime: int, content: bytes = b"a;b\n1;2\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    os.utime(path, (mtime, mtime))
    return path


def test_scan_claims_regular_files_oldest_first_and_reads_their_period(tmp_path, registry):
    inbox = tmp_path / "inbox"
    beaucaire = inbox / "ville-beaucaire"
    late = drop(beaucaire, "tickets_pannes_202403.csv", 3000)
    early = drop(beaucaire, "points_lumineux_20240331.csv", 1000)
    middle = drop(beaucaire, "tickets_pannes_202402_rectificatif.csv", 2000)
    other = drop(inbox / "herault-energies", "releves_armoires_202401.csv", 1500)
    same_time = [drop(beaucaire, n, 3000) for n in ("tickets_pannes_202405.csv", "tickets_pannes_202404.csv")]
    (beaucaire / "archive").mkdir()
    drop(beaucaire / "archive", "tickets_pannes_202312.csv", 50)      # not recursive
    entries = registry.of_partner("ville-beaucaire") + registry.of_partner("herault-energies")

    report = scan_inbox(inbox, entries)

    assert [(i.filename, i.dataset_key, i.period) for i in report.incoming] == [
        ("points_lumineux_20240331.csv", "ville_beaucaire__points_lumineux", "snapshot"),
        ("releves_armoires_202401.csv", "herault_energies__releves_armoires", "202401"),
        ("tickets_pannes_202402_rectificatif.csv", "ville_beaucaire__tickets_pannes", "202402"),
        ("tickets_pannes_202403.csv", "ville_beaucaire__tickets_pannes", "202403"),
        ("tickets_pannes_202404.csv", "ville_beaucaire__tickets_pannes", "202404"),   # same time: by name
        ("tickets_pannes_202405.csv", "ville_beaucaire__tickets_pannes", "202405"),
    ]
    assert [i.path for i in report.incoming[:4]] == [early.absolute(), other.absolute(), middle.absolute(),
                                                     late.absolute()]
    assert report.incoming[0].origin == f"inbox:{early.absolute()}"
    assert report.errors == [] and report.not_modified == [] and report.not_published == []
    assert all(p.exists() for p in (late, *same_time))                # scanning never deletes anything
    assert scan_inbox(tmp_path / "nowhere", entries) == FetchReport()
    # a snapshot without a file-name pattern (HTTP) claims nothing of the folder
    assert scan_inbox(inbox, [registry.dataset("recharge_sud__irve_statique")]).incoming == []


def test_upper_case_extensions_and_decomposed_names_are_claimed(tmp_path, registry):
    inbox = tmp_path / "inbox"
    drop(inbox / "ville-beaucaire", "tickets_pannes_202403.CSV", 1000)
    drop(inbox / "montpellier-metropole", "comptages_routiers_20240301.CSV.GZ", 1000, gzip.compress(b"x"))
    entries = registry.of_partner("ville-beaucaire") + registry.of_partner("montpellier-metropole")
    assert [(i.filename, i.period) for i in scan_inbox(inbox, entries).incoming] == [
        ("comptages_routiers_20240301.CSV.GZ", "20240301"), ("tickets_pannes_202403.CSV", "202403")]
    # a name ending in a line break does not pass for the name before it
    drop(inbox / "ville-beaucaire", "tickets_pannes_202404.csv\n", 1000)
    assert "tickets_pannes_202404.csv\n" not in [i.filename for i in scan_inbox(inbox, entries).incoming]


@pytest.fixture
def hostile_inbox(tmp_path, registry):
    """A partner folder holding one valid delivery and every kind of entry that must not be read."""
    settings = Settings.from_env({"HUB_HOME": str(tmp_path / "home")})
    folder = settings.inbox / "ville-beaucaire"
    valid = drop(folder, "tickets_pannes_202403.csv", 1000, TICKETS.encode())
    secret = tmp_path / "outside" / "secret.csv"               # a file of the hub's account, outside the inbox
    drop(secret.parent, secret.name, 1000, TICKETS.replace("BEA-0001", "SECRET-01").encode())
    (folder / "tickets_pannes_202404.csv").symlink_to(secret)
    (folder / "tickets_pannes_202405.csv").symlink_to(tmp_path / "no-such-file")      # broken link
    os.mkfifo(folder / "tickets_pannes_202406.csv")
    (folder / "tickets_pannes_202407.csv").mkdir()
    drop(folder, ".tickets_pannes_202408.csv", 1000, TICKETS.encode())
    drop(folder, "tickets_pannes_202409.csv.part", 1000, TICKETS.encode())
    drop(folder, "notes\n2026-12-04 INFO all deliveries accepted.txt", 1000)
    drop(folder, "rapport_\u202ecsv.exe", 1000)
    drop(folder, "bell\x07\x1b[31m.txt", 1000)
    # a partner folder that is a link to a folder of valid deliveries
    elsewhere = tmp_path / "elsewhere"
    drop(elsewhere, "releves_armoires_202401.csv", 1000)
    (settings.inbox / "herault-energies").symlink_to(elsewhere, target_is_directory=True)
    drop(settings.inbox, "stray.csv", 1000)                    # at the top of the inbox
    drop(settings.inbox / "unknown-partner", "tickets_pannes_202403.csv", 1000)
    return settings, valid, secret


def test_only_the_regular_file_is_read_and_every_other_entry_is_reported(hostile_inbox, registry):
    settings, valid, secret = hostile_inbox
    folder = settings.inbox / "ville-beaucaire"
    before = sorted(p.name for p in folder.iterdir())
    con = connect(settings.warehouse)
    try:
        (report,) = ingest_all(con, settings, registry, ["ville_beaucaire__tickets_pannes"])
        assert (report.landed, report.loaded, report.rows) == (1, 1, 1)
        assert con.execute("SELECT id_point_lumineux FROM raw.ville_beaucaire__tickets_pannes").fetchall() == [("BEA-0001",)]
        assert con.execute("SELECT filename FROM landing.deliveries").fetchall() == [(valid.name,)]
    finally:
        con.close()
    assert not valid.exists() and secret.exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted(set(before) - {valid.name})   # links stay
    assert len([p for p in settings.landing.rglob("*") if p.is_file()]) == 1

    unread = {(u.partner_id, u.name): (u.kind, u.reason) for u in unread_entries(settings.inbox, registry)}
    assert unread == {
        ("ville-beaucaire", "tickets_pannes_202404.csv"): ("symbolic link", "not a regular file: never read "
                                                                            "(deliver the file itself)"),
        ("ville-beaucaire", "tickets_pannes_202405.csv"): ("symbolic link", unread[("ville-beaucaire",
                                                           "tickets_pannes_202404.csv")][1]),
        ("ville-beaucaire", "tickets_pannes_202406.csv"): ("FIFO", unread[("ville-beaucaire",
                                                           "tickets_pannes_202404.csv")][1]),
        ("ville-beaucaire", "tickets_pannes_202407.csv"): ("directory", unread[("ville-beaucaire",
                                                           "tickets_pannes_202404.csv")][1]),
        ("ville-beaucaire", ".tickets_pannes_202408.csv"): (
            "regular file", "hidden name: never read (a name starting with '.' is an upload tool's temporary file)"),
        ("ville-beaucaire", "tickets_pannes_202409.csv.part"): (
            "regular file", "upload in progress (.part): read once renamed"),
        ("ville-beaucaire", "notes\\n2026-12-04 INFO all deliveries accepted.txt"): (
            "regular file", "matches no dataset of partner ville-beaucaire: left in place"),
        ("ville-beaucaire", "rapport_\\u202ecsv.exe"): (
            "regular file", "matches no dataset of partner ville-beaucaire: left in place"),
        ("ville-beaucaire", "bell\\x07\\x1b[31m.txt"): (
            "regular file", "matches no dataset of partner ville-beaucaire: left in place"),
        (None, "herault-energies"): (
            "symbolic link", "partner herault-energies's drop folder is not a folder: nothing in it is read"),
        (None, "stray.csv"): ("regular file", "not in a partner's folder: never read"),
        (None, "unknown-partner"): ("directory", "no partner has this id: never read"),
    }


def test_the_run_summary_and_status_list_every_unread_entry_on_one_line_each(hostile_inbox):
    settings, _, _ = hostile_inbox
    env = {**os.environ, "HUB_HOME": str(settings.home)}
    hub = str(Path(sys.executable).with_name("hub"))
    ingest = subprocess.run([hub, "ingest", "--partner", "ville-beaucaire"], env=env, capture_output=True,
                            text=True, timeout=600)
    assert ingest.returncode == 0, ingest.stderr
    status = subprocess.run([hub, "status"], env=env, capture_output=True, text=True, timeout=600)
    assert status.returncode == 0, status.stderr
    for output in (ingest.stderr, status.stdout):
        lines = [line.strip() for line in output.splitlines()]
        assert "inbox/ville-beaucaire/notes\\n2026-12-04 INFO all deliveries accepted.txt (regular file): " \
               "matches no dataset of partner ville-beaucaire: left in place" in lines
        assert "inbox/ville-beaucaire/tickets_pannes_202406.csv (FIFO): not a regular file: never read " \
               "(deliver the file itself)" in lines
        assert not any(line.startswith("2026-12-04 INFO") for line in lines)    # no forged line
        assert "\u202e" not in output and "\x1b" not in output
        assert sum("inbox/" in line for line in lines) == 12


def test_landing_never_follows_a_link_even_one_swapped_in_after_the_scan(tmp_path, warehouse, registry):
    entry = registry.dataset("ville_beaucaire__tickets_pannes")
    secret = drop(tmp_path / "outside", "secret.csv", 1000, TICKETS.encode())
    folder = tmp_path / "inbox" / "ville-beaucaire"
    folder.mkdir(parents=True)
    link = folder / "tickets_pannes_202404.csv"
    link.symlink_to(secret)
    with pytest.raises(UnreadableDelivery, match="not a regular file|symbolic link"):
        land(warehouse, tmp_path / "landing", entry, Incoming(entry.key, link.name, f"inbox:{link}", link, "202404"))
    os.mkfifo(folder / "tickets_pannes_202405.csv")           # opening it would block a reader forever
    fifo = folder / "tickets_pannes_202405.csv"
    with pytest.raises(UnreadableDelivery, match="not a regular file"):
        land(warehouse, tmp_path / "landing", entry, Incoming(entry.key, fifo.name, f"inbox:{fifo}", fifo, "202405"))
    assert warehouse.execute("SELECT count(*) FROM landing.deliveries").fetchone() == (0,)
    assert not [p for p in (tmp_path / "landing").rglob("*") if p.is_file()]
