"""The sensitivity check: walk every table and column of a file that leaves the hub's warehouse.

Run on the analysts' snapshot before it is swapped in, on each partner export before it is put in
place, and by ``hub sensitivity check``. It fails (one finding per problem, naming the table and
column) when:

- a table is not one the hub shares (an allow-list: the catalogue's marts, the COG, the documented
  views, ``meta``; plus, in a partner's export, that partner's own landing/raw/staging/quality
  tables — never another partner's);
- a shared table has a column that is not in its dbt documentation (nobody can vouch it is an
  aggregate), a column of a restricted, commercial or personal source dataset (``nb_sites``,
  ``id_pdc_itinerance``…), or a row-level lineage column (``_delivery_id``…);
- a shared table is not keyed by territory (``niveau``, ``code_territoire``) although it is
  built from a non-open dataset (dbt lineage): it would be unaggregated;
- a cell under statistical secrecy still shows a measure;
- in a partner's export, a row belongs to another partner (``partner_id``, ``dataset_key``, or a
  ``_delivery_id`` that is not one of that partner's deliveries).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from territoire_hub.orchestration.dbt import mart_datasets, model_docs
from territoire_hub.publish import catalogue
from territoire_hub.settings import Settings
from territoire_hub.sources.registry import Registry
from territoire_hub.warehouse import quote_ident

# territory and time codes are the keys of every aggregate, not partner data
KEY_COLUMNS = {"insee", "code_commune", "nom_commune", "code_epci", "code_departement", "code_region", "annee"}
ROW_LINEAGE = {"_delivery_id", "_source_line", "delivery_id", "partner_id", "dataset_key"}
SHARED_SCHEMAS = ("marts", "ref", "vues", "meta")
OWN_SCHEMAS = ("landing", "raw", "staging", "quality")


@dataclass(frozen=True)
class Finding:
    file: str
    table: str
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{self.file}: {where}: {self.reason}"


def protected_columns(registry: Registry) -> dict[str, str]:
    """Source columns of every restricted, commercial or personal dataset -> which dataset(s)."""
    found: dict[str, list[str]] = {}
    for entry in registry.datasets.values():
        if entry.dataset.sensitivity.value == "open":
            continue
        for column in entry.spec.columns:
            if column.name not in KEY_COLUMNS:
                found.setdefault(column.name, []).append(f"{entry.key} ({entry.dataset.sensitivity.value})")
    return {name: ", ".join(sorted(keys)) for name, keys in found.items()}


def allowed_tables(registry: Registry, partner: str | None) -> set[str]:
    from territoire_hub.publish.shared_warehouse import REFERENCE, VIEWS

    allowed = {f"marts.{t.mart}" for f in catalogue.FAMILIES for t in f.tables}
    allowed |= {f"ref.{name}" for name in REFERENCE} | {f"vues.{name}" for name in VIEWS}
    allowed |= {"meta.snapshot", "meta.tables"}
    if partner is not None:
        from territoire_hub.publish.partner_export import partner_keys, staging_model

        keys = partner_keys(registry, partner)
        allowed |= {"landing.deliveries", "landing.issues", "landing.transport_errors",
                    "quality.validations", "quality.rapports"}
        allowed |= {f"raw.{k}" for k in keys} | {f"staging.{staging_model(k)}" for k in keys}
    return allowed


def declared_audience(path: Path | str) -> str | None:
    """The partner a file says it is for (``meta.snapshot.audience`` = ``partner:<id>``), else None."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("SELECT audience FROM meta.snapshot").fetchone()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    audience = row[0] if row else ""
    return audience.removeprefix("partner:") if audience.startswith("partner:") else None


def check_file(path: Path | str, settings: Settings, registry: Registry, *, partner: str | None = None) -> list[Finding]:
    """Every problem found in the file (empty: it may be shared with its audience)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return _check(con, Path(path).name, settings, registry, partner)
    finally:
        con.close()


def _check(con: duckdb.DuckDBPyConnection, name: str, settings: Settings, registry: Registry,
           partner: str | None) -> list[Finding]:
    findings: list[Finding] = []
    columns: dict[str, list[str]] = {}
    for schema, table, column in con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE NOT internal "
            "AND database_name = current_database() ORDER BY schema_name, table_name, column_index").fetchall():
        columns.setdefault(f"{schema}.{table}", []).append(column)
    allowed = allowed_tables(registry, partner)
    protected = protected_columns(registry)
    docs = model_docs(settings)
    lineage = mart_datasets(settings)
    sensitivity = {k: e.dataset.sensitivity.value for k, e in registry.datasets.items()}
    secrecy = {f"marts.{t.mart}": t.secrecy for f in catalogue.FAMILIES for t in f.tables if t.secrecy}
    own_deliveries = _own_deliveries(con) if partner is not None else set()
    for table, cols in columns.items():
        schema = table.split(".")[0]
        if table not in allowed:
            why = ("another partner's or raw data" if schema in OWN_SCHEMAS else "not a table the hub shares")
            findings.append(Finding(name, table, None, f"{why}: not allowed in this file"))
            continue
        if schema in SHARED_SCHEMAS:
            findings += _check_shared(con, name, table, cols, protected, docs, lineage, sensitivity, secrecy.get(table))
        else:
            findings += _check_own(con, name, table, cols, registry, partner, own_deliveries)
    return findings


def _check_shared(con, name, table, cols, protected, docs, lineage, sensitivity, secrecy) -> list[Finding]:
    found = []
    schema, relation = table.split(".")
    for column in cols:
        if column in protected:
            found.append(Finding(name, table, column, f"column of {protected[column]}: partner data, not an aggregate"))
        elif column in ROW_LINEAGE:
            found.append(Finding(name, table, column, "row-level lineage of partner deliveries"))
    if schema != "marts":
        return found
    documented = set(docs.get(relation, {}).get("columns", {})) | {"secret_statistique"}
    for column in cols:
        if column not in documented and column not in protected and column not in ROW_LINEAGE:
            found.append(Finding(name, table, column, "not in the mart's dbt documentation: cannot vouch it is an "
                                                      "aggregate"))
    closed = [k for k in lineage.get(relation, []) if sensitivity.get(k, "open") != "open"]
    if not {"niveau", "code_territoire"} <= set(cols) and closed:
        found.append(Finding(name, table, None, f"not aggregated by territory, yet built from {', '.join(closed)}"))
    if secrecy is not None and "secret_statistique" in cols:
        for measure in secrecy.measures:
            if measure in cols:
                shown = con.execute(f"SELECT count(*) FROM {schema}.{quote_ident(relation)} WHERE secret_statistique "
                                    f"IS NOT NULL AND {quote_ident(measure)} IS NOT NULL").fetchone()[0]
                if shown:
                    found.append(Finding(name, table, measure, f"{shown} cells under statistical secrecy still show "
                                                               "a value"))
    elif secrecy is not None:
        found.append(Finding(name, table, None, "statistical secrecy not applied (no secret_statistique column)"))
    return found


def _own_deliveries(con: duckdb.DuckDBPyConnection) -> set[str]:
    try:
        return {r[0] for r in con.execute("SELECT delivery_id FROM landing.deliveries").fetchall()}
    except duckdb.CatalogException:
        return set()


def _check_own(con, name, table, cols, registry: Registry, partner: str, own_deliveries: set[str]) -> list[Finding]:
    found = []
    schema, relation = table.split(".")
    qualified = f"{schema}.{quote_ident(relation)}"
    prefix = partner.replace("-", "_") + "__"
    tests = {
        "partner_id": ("partner_id IS DISTINCT FROM ?", [partner]),
        "dataset_key": ("NOT starts_with(dataset_key, ?)", [prefix]),
    }
    for column, (condition, params) in tests.items():
        if column in cols:
            other = con.execute(f"SELECT count(*) FROM {qualified} WHERE {condition}", params).fetchone()[0]
            if other:
                found.append(Finding(name, table, column, f"{other} rows of another partner"))
    for column in ("_delivery_id", "delivery_id"):
        if column in cols and table != "landing.deliveries":
            con.register("_own", _as_table(own_deliveries))
            try:
                other = con.execute(f"SELECT count(*) FROM {qualified} WHERE {quote_ident(column)} IS NOT NULL AND "
                                    f"{quote_ident(column)} NOT IN (SELECT delivery_id FROM _own)").fetchone()[0]
            finally:
                con.unregister("_own")
            if other:
                found.append(Finding(name, table, column, f"{other} rows from deliveries that are not {partner}'s"))
    return found


def _as_table(values: set[str]):
    import pyarrow as pa

    return pa.table({"delivery_id": pa.array(sorted(values), pa.string())})
