"""How long the quality history is kept: ``HUB_RETENTION_DAYS`` (default 90 days).

Older than that, the Great Expectations result store and the Data Docs pages lose their
validations (dated by GX's own validation-time folders), the run reports (``quality/reports/<run>``),
the partners' outbox files and the run logs (``logs/``: dbt's) go (dated by their modification time); the Data Docs index is then
rebuilt from what stays. The warehouse's own record of validations and deliveries
(``quality.*``, ``landing.*``) is not touched: it is the hub's memory of what it received.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from territoire_hub.expectations import store
from territoire_hub.expectations.reports import outbox_dir
from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.settings import Settings

VALIDATION_TIME = "%Y%m%dT%H%M%S.%fZ"   # the name of the folder GX files a validation result under


@dataclass
class Pruned:
    results: list[Path] = field(default_factory=list)     # GX result store entries
    pages: list[Path] = field(default_factory=list)       # Data Docs pages
    reports: list[Path] = field(default_factory=list)     # run reports
    outbox: list[Path] = field(default_factory=list)      # partners' outbox files
    logs: list[Path] = field(default_factory=list)        # run logs (dbt's)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in ("results", "pages", "reports", "outbox", "logs")}


def _validated_at(folder: Path) -> datetime | None:
    try:
        return datetime.strptime(folder.name, VALIDATION_TIME).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _old_validations(store: Path, cutoff: datetime) -> list[Path]:
    """``<store>/<suite>/<run>/<validation time>``: the validation-time folders older than ``cutoff``."""
    if not store.is_dir():
        return []
    return sorted(leaf for suite in store.iterdir() if suite.is_dir() for run in suite.iterdir() if run.is_dir()
                  for leaf in run.iterdir() if (when := _validated_at(leaf)) is not None and when < cutoff)


def _older(paths, cutoff: datetime) -> list[Path]:
    return sorted(p for p in paths if datetime.fromtimestamp(p.stat().st_mtime, timezone.utc) < cutoff)


def prune_quality(settings: Settings, cutoff: datetime, *, dry_run: bool = False) -> Pruned:
    """Remove the quality history older than ``cutoff`` (``dry_run``: only say what would go)."""
    quality = QualityContext.for_settings(settings)
    reports = settings.data_dir / "quality" / "reports"
    outbox = outbox_dir(settings)
    logs = settings.data_dir / "logs"
    pruned = Pruned(
        results=_old_validations(store.results_dir(quality.root), cutoff),
        pages=_old_validations(quality.docs_dir / "validations", cutoff),
        reports=_older([p for p in reports.iterdir() if p.is_dir()], cutoff) if reports.is_dir() else [],
        outbox=_older([f for p in outbox.iterdir() if p.is_dir() for f in p.iterdir() if f.is_file()], cutoff)
        if outbox.is_dir() else [],
        logs=_older([f for f in logs.rglob("*.log") if f.is_file()], cutoff) if logs.is_dir() else [])
    if dry_run:
        return pruned
    for path in [*pruned.results, *pruned.pages, *pruned.reports]:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for path in [*pruned.outbox, *pruned.logs]:
        path.unlink()
    for leaf in [*pruned.results, *pruned.pages]:      # the run and suite folders left empty
        for folder in (leaf.parent, leaf.parent.parent):
            if folder.is_dir() and not any(folder.iterdir()):
                os.rmdir(folder)
    if pruned.results or pruned.pages:
        quality.rebuild_docs()
    return pruned
