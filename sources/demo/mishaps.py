"""Partners make mistakes: a few faulty deliveries, so the demo shows quarantine and correction.

- Beaucaire sends one month of tickets in UTF-8 although its contract says Windows-1252; the
  right file follows as a correction (wave 2) and supersedes it.
- One day of the métropole's lamp sensors arrives as a gzip cut during transfer and is not
  re-sent: it stays quarantined, visible in ``hub status``.
"""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

from territoire_hub.sources.demo import writer as w
from territoire_hub.sources.demo.deliveries import Context, GeneratedFile

TICKETS = "ville_beaucaire__tickets_pannes"
SENSORS = "montpellier_metropole__capteurs_eclairage"


def _middle(files: list[GeneratedFile], key: str) -> GeneratedFile | None:
    mine = [f for f in files if f.dataset_key == key and f.wave == 1]
    return mine[len(mine) // 2] if mine else None


def _wrong_encoding_then_correction(ctx: Context, files: list[GeneratedFile]) -> list[GeneratedFile]:
    original = _middle(files, TICKETS)
    if original is None:
        return files
    text = original.path.read_bytes().decode("cp1252")
    corrected = original.path.with_name(original.path.stem + "_rectificatif.csv")
    original.path.rename(corrected)
    w.write_csv(original.path, text, encoding="utf-8")
    fixed = ctx.record(TICKETS, corrected, 2, "corrected")
    return [replace(f, note="wrong_encoding") if f is original else f for f in files] + [fixed]


def _truncated_transfer(files: list[GeneratedFile]) -> list[GeneratedFile]:
    victim = _middle(files, SENSORS)
    if victim is None:
        return files
    data = victim.path.read_bytes()
    packed = data if data[:2] == b"\x1f\x8b" else gzip.compress(data, mtime=0)
    target: Path = victim.path if victim.path.suffix == ".gz" else victim.path.with_name(victim.path.name + ".gz")
    victim.path.unlink()
    target.write_bytes(packed[: len(packed) // 2])
    return [replace(f, path=target, note="truncated_gzip") if f is victim else f for f in files]


def add_mishaps(ctx: Context, files: list[GeneratedFile]) -> list[GeneratedFile]:
    return _truncated_transfer(_wrong_encoding_then_correction(ctx, files))
