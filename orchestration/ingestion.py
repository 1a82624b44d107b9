"""Ingestion composed: collect and land (``sources/``) → parse (``sources/``) → validate with the
quality suites (``expectations/``) → commit or quarantine (``sources/``).

Used by the Dagster raw assets and the tools alike. A parse error or a failed critical
expectation quarantines a delivery with its problems; failed warnings are recorded and the
delivery goes through, flagged.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from territoire_hub import cog, registry_tables, territory
from territoire_hub.expectations.gate import Staged, validate_delivery
from territoire_hub.expectations.results import ensure_quality_tables, new_run_id
from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.formats import FormatSpec, all_formats
from territoire_hub.memory import one_heap
from territoire_hub.registry import PartnerDataset, Registry
from territoire_hub.registry_tables import write_registry
from territoire_hub.settings import Limits, Settings
from territoire_hub.sources.ingest import DatasetReport, collect_and_land, pending_deliveries
from territoire_hub.sources import loading
from territoire_hub.sources.landing import ensure_catalogue, reset_for_replay
from territoire_hub.warehouse import checkpoint_after, memory_limited
from territoire_hub.sources.loading import (READ_AHEAD_BYTES, commit_delivery, ensure_format_views, ensure_raw_table,
                                            parse_delivery, read_file)

# the modules whose code writes what prepare_warehouse derives from the registry
_PREPARING = (registry_tables, territory, loading)


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """sha256 of the code that writes the registry part, with the COG it resolves codes against
    (files of the package: read once per process)."""
    digest = hashlib.sha256(cog.reference_digest().encode())
    for module in _PREPARING:
        digest.update(b"\0" + Path(module.__file__).read_bytes())
    return digest.hexdigest()


def _prepared_digest(registry: Registry) -> str:
    """sha256 of what the registry part of the warehouse is derived from: the registry (formats
    included), the COG loaded, and the code that writes it."""
    return hashlib.sha256(registry.model_dump_json().encode() + b"\0" + _code_digest().encode()).hexdigest()


def prepare_warehouse(con: duckdb.DuckDBPyConnection, registry: Registry | None = None) -> None:
    """Catalogue tables, the COG reference the loaders check INSEE codes against, the registry
    mirrored for the SQL layers (with the territory's communes resolved), the raw tables and one
    view per format over them. The registry part is written again only when what it derives from
    changed (``registry.prepared`` holds its digest): a `hub ingest` runs a raw asset per dataset,
    each preparing the warehouse, and a rewrite also costs a checkpoint when the asset closes it."""
    ensure_catalogue(con)
    ensure_quality_tables(con)
    if not cog.is_loaded(con):
        cog.load_reference(con)
    if registry is None:
        return
    digest = _prepared_digest(registry)
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                   "AND schema_name = 'registry' AND table_name = 'prepared'").fetchone()[0] and \
            con.execute("SELECT max(sha256) FROM registry.prepared").fetchone()[0] == digest:
        return
    write_registry(con, registry)
    territory.resolve(con, registry.territory)
    for entry in registry.datasets.values():  # empty until the first delivery: models still build
        ensure_raw_table(con, entry)
    ensure_format_views(con, registry)
    con.execute("CREATE OR REPLACE TABLE registry.prepared AS SELECT ?::VARCHAR AS sha256", [digest])  # last


def load_deliveries(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, pending: list[tuple[str, Path]], *,
                    quality: QualityContext | None = None, run_id: str | None = None,
                    on_delivery: Callable[[], None] | None = None,
                    formats: dict[str, FormatSpec] | None = None,
                    limits: Limits = Limits(), scratch: Path | None = None) -> list[tuple[str, int]]:
    """Parse, validate and load deliveries, in order, one at a time (each sees the ones before it
    loaded: a meter's history); returns (delivery id, rows loaded).

    While a delivery is typed, checked and committed (DuckDB), a thread reads the next one
    (decoding, Arrow's parse: no warehouse connection), so the two halves share the cores."""
    quality = quality or QualityContext.in_memory()
    run_id = run_id or new_run_id()
    ensure_quality_tables(con)
    ensure_raw_table(con, entry)
    formats = formats or all_formats()
    loaded: list[tuple[str, int]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as reader:
        def read(number: int) -> Future | None:
            """The delivery read by the thread, unless it is large (then read in its turn, here:
            a large file's memory stays that of one part at a time)."""
            if number >= len(pending) or _size(pending[number][1]) > READ_AHEAD_BYTES:
                return None
            return reader.submit(read_file, entry, pending[number][1], scratch, formats, limits, ahead=True)

        ahead = read(0)
        try:
            for number, (delivery_id, stored_path) in enumerate(pending):
                current, ahead = ahead, read(number + 1)
                in_turn = partial(read_file, entry, stored_path, scratch, formats, limits)
                parsed = parse_delivery(con, entry, delivery_id, current.result if current else in_turn, run_id)
                rows = 0
                if parsed is not None:
                    verdict = validate_delivery(con, quality, entry,
                                                Staged(parsed.delivery_id, parsed.staged, parsed.period, parsed.rows),
                                                run_id)
                    rows = commit_delivery(con, entry, parsed, verdict, run_id)
                loaded.append((delivery_id, rows))
                if on_delivery:
                    on_delivery()
        finally:        # stopped by an error: the delivery read ahead leaves no scratch files
            if ahead is not None and not ahead.cancel() and ahead.exception() is None:
                ahead.result().close()
    return loaded


def _size(path: Path) -> int:
    """The landed file's size; 0 when it cannot be read (reading it will say why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def load_delivery(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, delivery_id: str, stored_path: Path,
                  *, quality: QualityContext | None = None, run_id: str | None = None) -> int:
    """One delivery through :func:`load_deliveries`; returns the rows loaded (0 when quarantined)."""
    return load_deliveries(con, entry, [(delivery_id, Path(stored_path))], quality=quality, run_id=run_id)[0][1]


def ingest_dataset(con: duckdb.DuckDBPyConnection, settings: Settings, entry: PartnerDataset, *,
                   periods: list[str] | None = None, on_delivery: Callable[[], None] | None = None,
                   run_id: str | None = None) -> DatasetReport:
    """Collect, land, validate and load one dataset (optionally only some periods)."""
    run_id = run_id or new_run_id()
    report = collect_and_land(con, settings, entry, periods)
    one_heap()
    with memory_limited(con, settings.limits.ingest_memory), checkpoint_after(con):
        loaded = load_deliveries(con, entry, pending_deliveries(con, entry, periods),
                                 quality=QualityContext.for_settings(settings), run_id=run_id,
                                 on_delivery=on_delivery, formats=all_formats(settings.formats_dirs),
                                 limits=settings.limits, scratch=settings.scratch)
    for delivery_id, rows in loaded:
        if rows:
            report.loaded += 1
            report.rows += rows
        else:
            report.quarantined.append(delivery_id)
    return report


def replay(con: duckdb.DuckDBPyConnection, settings: Settings, registry: Registry, *,
           delivery_ids: list[str] = (), dataset: str | None = None, status: str | None = None,
           run_id: str | None = None) -> list[tuple[str, str, str]]:
    """Process landed deliveries again (after a registry or format change): the chosen ones —
    by id, or every delivery of ``dataset`` and/or of ``status`` (quarantined | loaded) — are read
    afresh from the landing store with the current registry; their earlier outcomes stay in
    ``landing.processing_history``. Returns (delivery id, status before, status after)."""
    prepare_warehouse(con, registry)
    run_id = run_id or new_run_id()
    where, params = ["true"], []
    if delivery_ids:
        where.append("delivery_id IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(delivery_ids))
    if dataset:
        where.append("dataset_key = ?")
        params.append(dataset)
    if status:
        where.append("status = ?")
        params.append(status)
    chosen = con.execute(f"SELECT delivery_id, dataset_key, filename, status FROM landing.deliveries "
                         f"WHERE {' AND '.join(where)} ORDER BY sequence", params).fetchall()
    missing = sorted(set(delivery_ids) - {row[0] for row in chosen})
    if missing:
        raise KeyError(f"no landed delivery {', '.join(missing)}")
    before = {row[0]: row[3] for row in chosen}
    by_dataset: dict[str, list[str]] = {}
    for delivery_id, key, filename, _ in chosen:
        if key not in registry.datasets:
            raise KeyError(f"delivery {delivery_id} ({filename}) belongs to dataset {key!r}, which the registry "
                           "no longer declares")
        entry = registry.dataset(key)
        reset_for_replay(con, entry, delivery_id, filename)
        by_dataset.setdefault(key, []).append(delivery_id)
    for key, ids in by_dataset.items():
        entry = registry.dataset(key)
        pending = [(d, p) for d, p in pending_deliveries(con, entry) if d in ids]
        with memory_limited(con, settings.limits.ingest_memory), checkpoint_after(con):
            load_deliveries(con, entry, pending, quality=QualityContext.for_settings(settings), run_id=run_id,
                            formats=registry.formats, limits=settings.limits, scratch=settings.scratch)
    after = dict(con.execute("SELECT delivery_id, status FROM landing.deliveries WHERE delivery_id IN "
                             "(SELECT unnest(?::VARCHAR[]))", [list(before)]).fetchall())
    return [(d, before[d], after[d]) for d in before]


def ingest_all(con: duckdb.DuckDBPyConnection, settings: Settings, registry: Registry,
               keys: Iterable[str] | None = None, *, on_delivery: Callable[[], None] | None = None,
               run_id: str | None = None) -> list[DatasetReport]:
    prepare_warehouse(con, registry)
    run_id = run_id or new_run_id()
    entries = [registry.dataset(k) for k in keys] if keys is not None else list(registry.datasets.values())
    return [ingest_dataset(con, settings, entry, on_delivery=on_delivery, run_id=run_id) for entry in entries]
