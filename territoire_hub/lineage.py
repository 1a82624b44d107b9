"""dbt lineage, read from dbt's manifest: which partner formats (hence, through the registry,
which partner datasets) each mart is built from, and what each model and column means.

The manifest is written by ``dbt parse`` / ``dbt build`` into ``<data>/dbt/target``; this module
only reads it (running dbt is the orchestration's job). Missing manifest = no lineage yet.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from territoire_hub.registry import Registry
from territoire_hub.settings import Settings


def target_path(settings: Settings) -> Path:
    """dbt's target folder for this hub home (manifest, run results, docs)."""
    return settings.data_dir / "dbt" / "target"


def _manifest(settings: Settings) -> dict | None:
    """dbt's manifest (read once per version of the file: a build's gates and snapshot ask it
    about ten times, 3 MB of JSON each). Callers only read it."""
    path = target_path(settings) / "manifest.json"
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return _read_manifest(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=2)
def _read_manifest(path: str, mtime_ns: int, size: int) -> dict:
    return json.loads(Path(path).read_text())


def mart_formats(settings: Settings) -> dict[str, list[str]]:
    """For each mart, the partner file formats (dbt sources ``formats.<format>``) it is built from."""
    manifest = _manifest(settings)
    if manifest is None:
        return {}
    parents, nodes, sources = manifest["parent_map"], manifest["nodes"], manifest["sources"]
    found: dict[str, list[str]] = {}
    for unique_id, node in nodes.items():
        if node.get("resource_type") != "model" or node.get("schema", "").split("_")[-1] != "marts":
            continue
        seen, stack, formats = set(), [unique_id], set()
        while stack:
            current = stack.pop()
            for parent in parents.get(current, []):
                if parent in seen:
                    continue
                seen.add(parent)
                source = sources.get(parent)
                if source and source.get("source_name") == "formats":
                    formats.add(source["name"])
                stack.append(parent)
        found[node["name"]] = sorted(formats)
    return found


def mart_datasets(settings: Settings, registry: Registry) -> dict[str, list[str]]:
    """For each mart, the partner datasets (``<partner>__<dataset>``) it is built from: the
    registry's datasets of the formats dbt's lineage leads to.

    Warnings on those datasets' current deliveries travel with the mart's publication."""
    return {mart: sorted(entry.key for fmt in formats for entry in registry.of_format(fmt))
            for mart, formats in mart_formats(settings).items()}


def model_docs(settings: Settings) -> dict[str, dict]:
    """Each dbt model's description, column descriptions and declared precisions (a column's
    ``meta: {precision: N}``: decimals kept when published), per dbt's manifest:
    ``{model: {"description": str, "columns": {column: description}, "precision": {column: N}}}``."""
    manifest = _manifest(settings)
    if manifest is None:
        return {}
    return {n["name"]: {"description": n.get("description", ""),
                        "columns": {name: c.get("description", "") for name, c in n.get("columns", {}).items()},
                        "precision": {name: int(c["meta"]["precision"]) for name, c in n.get("columns", {}).items()
                                      if "precision" in (c.get("meta") or {})}}
            for n in manifest["nodes"].values() if n.get("resource_type") == "model"}
