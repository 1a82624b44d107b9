"""A small clean demo region, ingested as the CLI does (HTTP partners served on loopback), for
tests that break one delivery at a time."""

from __future__ import annotations

import gzip
import secrets
from datetime import date
from pathlib import Path

from territoire_hub.settings import Settings
from territoire_hub.sources.demo import Scale
from territoire_hub.sources.demo.server import PartnerServer, demo_settings, protected_paths
from territoire_hub.orchestration.ingestion import ingest_all
from territoire_hub.warehouse import connect

SCALE = Scale(start=date(2024, 10, 24), days=4, counters=3, lamp_sensors=3, stations=2, charge_points=6,
              lamp_points=40, communes=8)
TRAFFIC = "inbox/montpellier-metropole/comptages_routiers_20241024.csv"
METEO = "remote/meteo-france/horaire/H_34_202410.csv.gz"
CABINETS = "inbox/herault-energies/releves_armoires_202410.csv"
# the demo's own partner mistakes, quarantined in every scenario (see sources/demo/mishaps.py)
MISHAPS = {"capteurs_eclairage_20241026.csv.gz", "tickets_pannes_202410.csv"}


def read_lines(path: Path) -> tuple[list[str], str]:
    data = path.read_bytes()
    data = gzip.decompress(data) if path.suffix == ".gz" else data
    text = data.decode("utf-8-sig")
    bom = "\ufeff" if data.startswith(b"\xef\xbb\xbf") else ""
    return text.splitlines(), bom


def write_lines(path: Path, lines: list[str], bom: str) -> None:
    data = (bom + "\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def edit(root: Path, relative: str, change) -> None:
    path = root / relative
    lines, bom = read_lines(path)
    write_lines(path, change(lines), bom)


def column(lines: list[str], name: str, sep: str = ";") -> int:
    return lines[0].split(sep).index(name)


def set_field(line: str, index: int, value: str, sep: str = ";") -> str:
    fields = line.split(sep)
    fields[index] = value
    return sep.join(fields)


def ingest_tree(root: Path, registry) -> Settings:
    settings = Settings.from_env({"HUB_HOME": str(root), "HUB_HTTP_BACKOFF": "0.01", "HUB_HTTP_TIMEOUT": "5"})
    token = secrets.token_urlsafe(16)
    with PartnerServer(settings.data_dir / "remote", tokens=protected_paths(registry, token)) as server:
        con = connect(settings.warehouse)
        try:
            ingest_all(con, demo_settings(settings, registry, server.url, token), registry)
        finally:
            con.close()
    return settings


def statuses(settings: Settings) -> dict[str, str]:
    con = connect(settings.warehouse, read_only=True)
    try:
        return dict(con.execute("SELECT filename, status FROM landing.deliveries").fetchall())
    finally:
        con.close()
