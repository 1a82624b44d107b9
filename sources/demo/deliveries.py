"""What the generator produces: the scale knobs, the generated-file records, where files go,
their delivery times (mtimes) and the JSON manifest."""

from __future__ import annotations

import json
import os
import re
import zlib
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np

from territoire_hub.sources.demo.region import Region
from territoire_hub.registry import HttpTransport, PartnerDataset, Registry


@dataclass(frozen=True)
class Scale:
    start: date = date(2024, 1, 1)
    days: int = 366                 # time-series length
    counters: int = 24              # traffic counters (métropole)
    lamp_sensors: int = 40          # lamp on/off sensors, readings every 10 minutes
    stations: int = 6               # weather stations (split over départements 34 and 30)
    charge_points: int = 60         # IRVE charging points (PDC)
    lamp_points: int = 1500         # lighting inventory size (syndicate + commune)
    communes: int | None = None     # limit to N communes of the region, taken in turn from each EPCI,
                                    # largest first (None = all)

    @property
    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    @property
    def end(self) -> date:
        """Last generated day (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    @property
    def months(self) -> list[tuple[int, int]]:
        """(year, month) touched by the generated days, in order."""
        return sorted({(d.year, d.month) for d in self.day_list})


@dataclass(frozen=True)
class GeneratedFile:
    dataset_key: str      # e.g. "montpellier_metropole__comptages_routiers"
    path: Path            # where it was written
    period: str           # as the registry's filename regex reads it ("20240331", "202403", "2023", "snapshot")
    wave: int             # 1 = normal delivery, 2 = late or corrected delivery (landed after wave 1)
    note: str = ""        # "", "late", "corrected", ...
    delivered: datetime | None = field(default=None, compare=False)  # intended delivery time (file mtime)


@dataclass(frozen=True)
class Context:
    """Everything a dataset generator needs."""

    out_dir: Path
    registry: Registry
    seed: int
    scale: Scale
    region: Region

    def entry(self, key: str) -> PartnerDataset:
        return self.registry.dataset(key)

    def of_format(self, format_id: str) -> list[PartnerDataset]:
        """The registry's datasets of a format, in key order (what a generator writes for)."""
        return sorted(self.registry.of_format(format_id), key=lambda e: e.key)

    def linked(self, entry: PartnerDataset, role: str) -> list[PartnerDataset]:
        """The datasets ``entry`` refers to in ``role`` (registry links)."""
        return [self.registry.dataset(target) for key, r, target in self.registry.links()
                if key == entry.key and r == role]

    def linking(self, entry: PartnerDataset, role: str) -> list[PartnerDataset]:
        """The datasets that refer to ``entry`` in ``role``."""
        return [self.registry.dataset(key) for key, r, target in self.registry.links()
                if target == entry.key and r == role]

    def path(self, entry: PartnerDataset, filename: str, **fields: str) -> Path:
        """Where a file of ``entry`` goes: under its URL for an HTTP partner (``fields`` fill the
        template), else in its partner's drop folder under ``filename``."""
        if isinstance(entry.dataset.transport, HttpTransport):
            return self.remote_path(entry.key, **fields)
        return self.inbox_path(entry.key, filename)

    def rng(self, *keys: object) -> np.random.Generator:
        """An independent, reproducible stream per (seed, keys): a day's data does not depend on
        which other days or datasets are generated."""
        words = [zlib.crc32(str(k).encode("utf-8")) for k in keys]
        return np.random.Generator(np.random.PCG64([self.seed, *words]))

    def record(self, key: str, path: Path, wave: int = 1, note: str = "",
               delivered: datetime | None = None) -> GeneratedFile:
        """The generated file, with its period read from its name by the registry."""
        period = self.entry(key).period_of(path.name)
        assert period is not None, (key, path.name)
        return GeneratedFile(key, path, period, wave, note, delivered)

    def inbox_path(self, key: str, filename: str) -> Path:
        entry = self.entry(key)
        if entry.period_of(filename) is None:
            raise ValueError(f"{filename} does not match the filename pattern of {key}")
        return self.out_dir / "inbox" / entry.partner.id / filename

    def remote_path(self, key: str, **fields: str) -> Path:
        """``remote/<partner>/<url path>``: the URL template without its ``${HUB_URL_…}`` base."""
        entry = self.entry(key)
        transport = entry.dataset.transport
        assert isinstance(transport, HttpTransport), key
        path = re.sub(r"^\$\{[^}]*\}/*", "", transport.url)
        for name, value in fields.items():
            path = path.replace("{" + name + "}", value)
        return self.out_dir / "remote" / entry.partner.id / path


def delivery_time(period_end: date, *, minutes: int = 0) -> datetime:
    """Normal delivery: the morning after the period (06:00 UTC), plus a per-dataset offset."""
    morning = datetime.combine(period_end + timedelta(days=1), time(6, 0), tzinfo=timezone.utc)
    return morning + timedelta(minutes=minutes)


def set_mtimes(files: list[GeneratedFile]) -> list[GeneratedFile]:
    """Give every file its delivery time as mtime; wave-2 files come strictly after all of
    wave 1, an hour apart, in the order given. Returns the records with ``delivered`` set."""
    wave1 = [f for f in files if f.wave == 1]
    later = max((f.delivered for f in wave1 if f.delivered), default=datetime(2024, 1, 1, tzinfo=timezone.utc))
    out = []
    for f in files:
        when = f.delivered
        if f.wave > 1 or when is None:
            later = later + timedelta(hours=1)
            when = later
        os.utime(f.path, (when.timestamp(), when.timestamp()))
        out.append(replace(f, delivered=when))
    return out


def write_manifest(files: list[GeneratedFile], path: Path) -> Path:
    """The generated files as JSON (paths relative to the manifest's folder when possible)."""
    base = Path(path).parent.resolve()
    out = []
    for f in files:
        item = asdict(f)
        p = Path(f.path).resolve()
        item["path"] = str(p.relative_to(base)) if p.is_relative_to(base) else str(p)
        item["delivered"] = f.delivered.isoformat() if f.delivered else None
        item["mtime"] = int(Path(f.path).stat().st_mtime)
        out.append(item)
    Path(path).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(path)
