"""The analysts' snapshot, ``warehouse/shared.duckdb``: approved indicators, the COG, documented views.

Analysts of the structure and of the member collectivités query this file with SQL, Python or a BI
tool; they never open the hub's own warehouse (one writer per DuckDB file: they would block the
pipeline, and it holds partner data). After each gated build the hub:

1. writes a new file next to the snapshot (``shared.duckdb.<pid>.tmp``): the approved marts of
   ``publication.*`` with the same statistical secrecy as the portal (schema ``marts``), the COG
   (schema ``ref``), the documented views (schema ``vues``) and what the file holds (schema
   ``meta``), every table and column commented from dbt's documentation;
2. runs the sensitivity check on it (``sensitivity.py``): a file that fails is moved to the hub's
   quarantine (``<data>/quarantine/sharing/``, mode 0600) and the current snapshot stays;
3. swaps it in with one ``rename``: a reader that has the old file open keeps reading the old
   snapshot whole (the old inode lives until it closes); the next connection opens the new one.

Nothing raw is copied: only the catalogue's marts (aggregates per territory), and the reference.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb

from territoire_hub.lineage import model_docs
from territoire_hub.permissions import PRIVATE_DIR, group_id, private_dir, private_file, shared_with_group
from territoire_hub.publish import audit, catalogue
from territoire_hub.publish.sensitivity import check_file
from territoire_hub.publish.shared_contents import META, REFERENCE, VIEWS
from territoire_hub.publish.publisher import SECRET_STATUS_DOC, protected_table
from territoire_hub.settings import Settings
from territoire_hub.registry import Registry
from territoire_hub.warehouse import quote_ident, quote_literal

class SharingRefused(RuntimeError):
    """A file failed the sensitivity check: it was not put in place."""


@dataclass(frozen=True)
class Written:
    path: Path
    run_id: str
    tables: dict[str, int]           # schema.table -> rows
    secret_cells: int


def shared_tables(con: duckdb.DuckDBPyConnection, registry: Registry, into: str) -> tuple[dict[str, int], int]:
    """Copy the approved marts (secrecy applied) and the COG into the attached catalog ``into``."""
    target = quote_ident(into)
    for schema in ("marts", "ref"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {target}.{schema}")
    approved = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'publication'").fetchall()}
    tables, secret_cells = {}, 0
    for family in catalogue.FAMILIES:
        for table in family.tables:
            if table.mart not in approved:      # never approved yet: not shared
                continue
            data, secret = protected_table(con, registry, table)
            secret_cells += secret
            con.register("_shared", data)
            try:
                con.execute(f"CREATE TABLE {target}.marts.{quote_ident(table.mart)} AS SELECT * FROM _shared")
            finally:
                con.unregister("_shared")
            tables[f"marts.{table.mart}"] = data.num_rows
    for name in REFERENCE:
        con.execute(f"CREATE TABLE {target}.ref.{quote_ident(name)} AS SELECT * FROM ref.{quote_ident(name)}")
        tables[f"ref.{name}"] = con.execute(f"SELECT count(*) FROM ref.{quote_ident(name)}").fetchone()[0]
    return tables, secret_cells


def document(path: Path, settings: Settings, *, run_id: str, audience: str, tables: dict[str, int],
             lineage: dict[str, list[str]]) -> None:
    """Open the new file itself: the views, the comments (dbt's docs for the marts), and ``meta.*``."""
    docs = model_docs(settings)
    con = duckdb.connect(str(path))
    try:
        described: dict[str, str] = {}         # schema.table -> description, for meta.tables
        column_docs: dict[str, str] = {}       # any shared column -> its description, for the views
        for qualified in tables:
            schema, name = qualified.split(".")
            relation = f"{schema}.{quote_ident(name)}"
            if schema == "marts":
                description = docs.get(name, {}).get("description", "").strip()
                columns = {**docs.get(name, {}).get("columns", {}), "secret_statistique": SECRET_STATUS_DOC}
            else:
                description, columns = REFERENCE[name]
            present = {r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()}
            if "secret_statistique" in present:
                description += (" Dans ce fichier, le secret statistique est appliqué comme sur le portail : cellules "
                                "masquées vides, signalées par secret_statistique.")
            _comment(con, relation, description, columns, present)
            described[qualified] = description
            column_docs.update({c: t for c, t in columns.items() if t and c in present})
        if "marts.fiche_territoire" in tables and "marts.energie_territoire_annee" in tables:
            con.execute("CREATE SCHEMA vues")
            for name, (description, sql) in VIEWS.items():
                relation = f"vues.{quote_ident(name)}"
                con.execute(f"CREATE VIEW {relation} AS {sql}")
                present = {r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()}
                _comment(con, relation, description, column_docs, present, kind="VIEW")
                described[f"vues.{name}"] = description
        con.execute("CREATE SCHEMA meta")
        con.execute("CREATE TABLE meta.snapshot (run_id VARCHAR, written_at TIMESTAMPTZ, audience VARCHAR)")
        con.execute("INSERT INTO meta.snapshot VALUES (?, ?, ?)", [run_id, datetime.now(timezone.utc), audience])
        con.execute("CREATE TABLE meta.tables (table_schema VARCHAR, table_name VARCHAR, lignes BIGINT, "
                    "description VARCHAR, sources VARCHAR[])")
        for name, (description, columns) in META.items():
            _comment(con, f"meta.{name}", description, columns, set(columns))
            described[f"meta.{name}"] = description
        rows = []
        for qualified, description in sorted(described.items()):
            schema, name = qualified.split(".")
            count = con.execute(f"SELECT count(*) FROM {schema}.{quote_ident(name)}").fetchone()[0] \
                if qualified != "meta.tables" else len(described)
            rows.append([schema, name, count, description, lineage.get(name, []) if schema == "marts" else []])
        con.executemany("INSERT INTO meta.tables VALUES (?, ?, ?, ?, ?)", rows)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _comment(con: duckdb.DuckDBPyConnection, relation: str, description: str, columns: dict[str, str],
             present: set[str], kind: str = "TABLE") -> None:
    con.execute(f"COMMENT ON {kind} {relation} IS {quote_literal(description.strip())}")
    for column, text in columns.items():
        if column in present and text:
            con.execute(f"COMMENT ON COLUMN {relation}.{quote_ident(column)} IS {quote_literal(text.strip())}")


def rejected_folder(settings: Settings) -> Path:
    """Where files refused by the sensitivity check are kept for the data engineers."""
    return settings.data_dir / "quarantine" / "sharing"


def write_file(con: duckdb.DuckDBPyConnection, final: Path, fill: Callable[[str], dict[str, int]],
               finish: Callable[[Path, dict[str, int]], None], check: Callable[[Path], list],
               quarantine: Path, group: str | None = None) -> dict[str, int]:
    """Write ``final`` as a new file: ``fill`` copies tables into it (attached to the hub's connection,
    so there is no second writer on the hub's file), ``finish`` documents it (opened alone), ``check``
    vets it; then it is swapped in with one rename. Nothing is left behind on failure; a file that
    fails the check is moved to ``quarantine`` (the hub's data folder, mode 0600: never next to the
    files analysts and partners read) for inspection. The file is readable by ``group`` (0640 in a
    0750 folder), by the hub's account only without one (0600 in a 0700 folder)."""
    group_id(group)   # an unknown group fails before any work
    final.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    shared_with_group(final.parent, group, folder=True)
    tmp = final.with_name(f"{final.name}.{os.getpid()}.tmp")
    leftovers = (tmp, tmp.with_name(tmp.name + ".wal"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    try:
        con.execute(f"ATTACH {quote_literal(str(tmp))} AS _target")
        try:
            tables = fill("_target")
        finally:
            con.execute("DETACH _target")
        finish(tmp, tables)
        findings = check(tmp)
        if findings:
            rejected = quarantine / f"{final.stem}.{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.rejected.duckdb"
            private_dir(rejected.parent)
            os.replace(tmp, rejected)
            private_file(rejected)
            raise SharingRefused(f"{final.name} not updated: the sensitivity check failed ({len(findings)} findings; "
                                 f"the refused file is {rejected}):\n" + "\n".join(f"  - {f}" for f in findings[:20]))
        shared_with_group(tmp, group)   # the mode before the swap: never a moment too open
        os.replace(tmp, final)
    finally:
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
    return tables


def write_snapshot(con: duckdb.DuckDBPyConnection, settings: Settings, registry: Registry, run_id: str,
                   lineage: dict[str, list[str]]) -> Written:
    """Write, check and swap in the analysts' snapshot; record it in the audit log.

    ``con`` is a read-write connection to the hub's warehouse (the audit table lives there)."""

    final = settings.shared_warehouse
    secret: list[int] = []

    def fill(target: str) -> dict[str, int]:
        tables, cells = shared_tables(con, registry, target)
        secret.append(cells)
        return tables

    tables = write_file(
        con, final, fill,
        lambda path, tables: document(path, settings, run_id=run_id, audience="analysts", tables=tables,
                                      lineage=lineage),
        lambda path: check_file(path, settings, registry), rejected_folder(settings), settings.analysts_group)
    audit.record(con, "snapshot", "analysts", str(final), run_id,
                 {"tables": tables, "secret_cells": secret[0], "bytes": final.stat().st_size})
    return Written(final, run_id, tables, secret[0])
