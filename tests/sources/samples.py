"""Test helper: land and load one file for a dataset, bypassing the transports."""

from __future__ import annotations

from pathlib import Path

from territoire_hub.formats import load_format
from territoire_hub.sources.landing import land
from territoire_hub.orchestration.ingestion import load_delivery
from territoire_hub.registry import Dataset, Partner, PartnerDataset
from territoire_hub.sources.transports import Incoming


def plain_entry(format_id: str, dataset_id: str = "sample", departements: list[str] = ()) -> PartnerDataset:
    """A dataset of a test partner that uses the format's own physical defaults (no override)."""
    partner = Partner(id="test-partner", name="Test partner", kind="commune", departements=list(departements))
    dataset = Dataset(id=dataset_id, domain="traffic", format=format_id, transport={"type": "inbox"},
                      filename=".*", cadence="snapshot", licence="licence-ouverte-2.0", sensitivity="open")
    return PartnerDataset(partner=partner, dataset=dataset, spec=load_format(format_id))


def load_file(con, entry: PartnerDataset, path: Path, landing_dir: Path | None = None) -> tuple[str, int]:
    """Land ``path`` and load it; returns (delivery id, rows loaded)."""
    landing_dir = landing_dir or Path(path).parent / "_landing"
    period = entry.period_of(Path(path).name) or "snapshot"
    item = Incoming(entry.key, Path(path).name, f"inbox:{path}", Path(path), period)
    landed = land(con, landing_dir, entry, item)
    return landed.delivery_id, load_delivery(con, entry, landed.delivery_id, landing_dir / _sha_path(con, landed.delivery_id))


def _sha_path(con, delivery_id: str) -> Path:
    sha = con.execute("SELECT sha256 FROM landing.deliveries WHERE delivery_id = ?", [delivery_id]).fetchone()[0]
    return Path(sha[:2]) / sha
