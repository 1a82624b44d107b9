"""The sensitivity check: walk every table and column of a file that leaves the hub's warehouse.

Run on the analysts' snapshot before it is swapped in, on each partner export before it is put in
place, and by ``hub sensitivity check``. It fails (one finding per problem, naming the table and
column) when:

- a table is not one the hub shares (an allow-list: the catalogue's marts, the COG, the documented
  views, ``meta``; plus, in a partner's export, that partner's own landing/raw/staging/quality
  tables — never another partner's);
- the file holds anything but tables and views (a macro, a type, a sequence could carry data);
- a shared table or view has a column outside its documentation (dbt's for the marts, the hub's
  for the COG and ``meta``: nobody can vouch it is an aggregate), a column named as one of a
  restricted, commercial or personal source dataset (``nb_sites``, ``id_pdc_itinerance``…), or a
  row-level lineage column (``_delivery_id``…);
- a shared table is not keyed by territory (``niveau``, ``code_territoire``) although it is
  built from a non-open dataset (dbt lineage): it would be unaggregated;
- statistical secrecy does not hold, re-checked from the registry's rule rather than trusted: a
  visible cell below the minimum number of contributors or above the dominant share, a secret cell
  still showing a measure, its contributors or its dominant share, a column copied from a secret
  cell of another table (the fiche territoire) still showing;
- in a partner's export, a row belongs to another partner (``partner_id``, ``dataset_key``, or a
  ``_delivery_id`` that is not one of that partner's deliveries).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from territoire_hub.lineage import mart_datasets, model_docs
from territoire_hub.publish import catalogue
from territoire_hub.publish.publisher import secrecy_origin, secrecy_rule
from territoire_hub.publish.shared_contents import META, REFERENCE, VIEWS, partner_keys, partner_staging
from territoire_hub.settings import Settings
from territoire_hub.registry import Registry
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


def allowed_columns(settings: Settings) -> dict[str, set[str]]:
    """Columns each shared table may have (its documentation); ``vues.*`` may use any of them."""
    docs = model_docs(settings)
    allowed = {f"marts.{t.mart}": set(docs.get(t.mart, {}).get("columns", {})) | {"secret_statistique"}
               for f in catalogue.FAMILIES for t in f.tables}
    allowed |= {f"ref.{name}": set(columns) for name, (_, columns) in REFERENCE.items()}
    allowed |= {f"meta.{name}": set(columns) for name, (_, columns) in META.items()}
    return allowed


def allowed_tables(registry: Registry, partner: str | None) -> set[str]:
    allowed = {f"marts.{t.mart}" for f in catalogue.FAMILIES for t in f.tables}
    allowed |= {f"ref.{name}" for name in REFERENCE} | {f"vues.{name}" for name in VIEWS}
    allowed |= {"meta.snapshot", "meta.tables"}
    if partner is not None:
        keys = partner_keys(registry, partner)
        allowed |= {"landing.deliveries", "landing.issues", "landing.rejected_rows", "landing.transport_errors",
                    "quality.validations", "quality.rapports"}
        allowed |= {f"raw.{k}" for k in keys} | {f"staging.{m}" for m in partner_staging(registry, partner)}
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
    expected = f"partner:{partner}" if partner else "analysts"
    try:
        declared = (con.execute("SELECT audience FROM meta.snapshot").fetchone() or [None])[0]
    except duckdb.CatalogException:
        declared = None
    if declared != expected:
        findings.append(Finding(name, "meta.snapshot", "audience", f"the file is for {declared or 'nobody declared'}, "
                                                                   f"checked as a file for {expected}"))
    for kind, query in (("macro", "SELECT schema_name || '.' || function_name FROM duckdb_functions() "
                                  "WHERE NOT internal AND database_name = current_database()"),
                        ("type", "SELECT schema_name || '.' || type_name FROM duckdb_types() "
                                 "WHERE NOT internal AND database_name = current_database()"),
                        ("sequence", "SELECT schema_name || '.' || sequence_name FROM duckdb_sequences() "
                                     "WHERE database_name = current_database()")):
        findings += [Finding(name, obj, None, f"a {kind}: the hub shares tables and views only")
                     for (obj,) in con.execute(query).fetchall()]
    columns: dict[str, list[str]] = {}
    for schema, table, column in con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE NOT internal "
            "AND database_name = current_database() ORDER BY schema_name, table_name, column_index").fetchall():
        columns.setdefault(f"{schema}.{table}", []).append(column)
    allowed = allowed_tables(registry, partner)
    context = _Shared(protected=protected_columns(registry), columns=allowed_columns(settings),
                      lineage=mart_datasets(settings, registry), registry=registry,
                      sensitivity={k: e.dataset.sensitivity.value for k, e in registry.datasets.items()})
    own_deliveries = _own_deliveries(con) if partner is not None else set()
    for table, cols in columns.items():
        schema = table.split(".")[0]
        if table not in allowed:
            why = ("another partner's or raw data" if schema in OWN_SCHEMAS else "not a table the hub shares")
            findings.append(Finding(name, table, None, f"{why}: not allowed in this file"))
            continue
        if schema in SHARED_SCHEMAS:
            findings += _check_shared(con, name, table, cols, context)
        else:
            findings += _check_own(con, name, table, cols, registry, partner, own_deliveries)
    return findings


@dataclass(frozen=True)
class _Shared:
    protected: dict[str, str]
    columns: dict[str, set[str]]
    lineage: dict[str, list[str]]
    registry: Registry
    sensitivity: dict[str, str]


def _check_shared(con, name: str, table: str, cols: list[str], ctx: _Shared) -> list[Finding]:
    found = []
    schema, relation = table.split(".")
    protected = {k.lower(): v for k, v in ctx.protected.items()}
    documented = set().union(*ctx.columns.values()) if schema == "vues" else ctx.columns.get(table, set())
    for column in cols:
        if column.lower() in protected:
            found.append(Finding(name, table, column,
                                 f"column of {protected[column.lower()]}: partner data, not an aggregate"))
        elif column.lower() in ROW_LINEAGE:
            found.append(Finding(name, table, column, "row-level lineage of partner deliveries"))
        elif column not in documented:
            found.append(Finding(name, table, column, "not in the table's documentation: cannot vouch it is an "
                                                      "aggregate"))
    if schema != "marts":
        return found
    closed = [k for k in ctx.lineage.get(relation, []) if ctx.sensitivity.get(k, "open") != "open"]
    if not {"niveau", "code_territoire"} <= set(cols) and closed:
        found.append(Finding(name, table, None, f"not aggregated by territory, yet built from {', '.join(closed)}"))
    spec = next((t for f in catalogue.FAMILIES for t in f.tables if t.mart == relation), None)
    if spec is not None and (spec.secrecy or spec.masks):
        if "secret_statistique" not in cols:
            found.append(Finding(name, table, None, "statistical secrecy not applied (no secret_statistique column)"))
        else:
            found += _check_secrecy(con, name, table, cols, spec, ctx.registry)
    return found


def _check_secrecy(con, name: str, table: str, cols: list[str], spec: catalogue.Table,
                   registry: Registry) -> list[Finding]:
    """Secrecy re-checked from the registry's rule, not from the status column alone."""
    found = []
    relation = f"marts.{quote_ident(table.split('.')[1])}"

    def count(where: str) -> int:
        return con.execute(f"SELECT count(*) FROM {relation} t WHERE {where}").fetchone()[0]

    if spec.secrecy is not None:
        s, rule = spec.secrecy, secrecy_rule(registry, spec.secrecy)
        hidden = [c for c in (*s.measures, s.contributors, s.dominant_share) if c and c in cols]
        for column in hidden:
            shown = count(f"secret_statistique IS NOT NULL AND {quote_ident(column)} IS NOT NULL")
            if shown:
                found.append(Finding(name, table, column, f"{shown} cells under statistical secrecy still show it"))
        sector = f"CAST(t.{quote_ident(s.sector_column)} AS VARCHAR)" if s.sector_column else "NULL"
        min_c = " ".join(f"WHEN {sector} = '{k}' THEN {int(o.min_contributors)}"
                         for k, o in rule.by_sector.items() if o.min_contributors is not None)
        max_d = " ".join(f"WHEN {sector} = '{k}' THEN {float(o.max_dominant_share)!r}"
                         for k, o in rule.by_sector.items() if o.max_dominant_share is not None)
        measures = [m for m in s.measures if m in cols]
        shown = " OR ".join(f"{quote_ident(m)} IS NOT NULL" for m in measures) or "FALSE"
        too_few = (f"coalesce({quote_ident(s.contributors)}, 0) < "
                   f"CASE {min_c} ELSE {int(rule.min_contributors)} END" if min_c else
                   f"coalesce({quote_ident(s.contributors)}, 0) < {int(rule.min_contributors)}")
        if s.dominant_share and s.dominant_share in cols and rule.max_dominant_share is not None:
            limit = f"CASE {max_d} ELSE {float(rule.max_dominant_share)!r} END" if max_d else                 repr(float(rule.max_dominant_share))
            too_few += f" OR {quote_ident(s.dominant_share)} > {limit}"
        visible = count(f"secret_statistique IS NULL AND ({shown}) AND ({too_few})")
        if visible:
            found.append(Finding(name, table, None, f"{visible} visible cells break the rule of the "
                                                    f"{s.source} data ({secrecy_origin(registry, s)}: "
                                                    f"{rule.min_contributors} {s.contributors} minimum"
                                                    + (f", dominant share ≤ {rule.max_dominant_share}"
                                                       if rule.max_dominant_share is not None else "") + ")"))
    for mask in spec.masks:
        copied = [c for c in mask.columns if c in cols]
        if not copied:
            continue
        if not con.execute("SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() AND "
                           "schema_name = 'marts' AND table_name = ?", [mask.mart]).fetchone():
            found.append(Finding(name, table, None, f"copies {', '.join(copied)} from {mask.mart}, which is not in "
                                                    "the file: their secrecy cannot be verified"))
            continue
        leak = con.execute(
            f"SELECT count(*) FROM {relation} t JOIN (SELECT niveau, code_territoire, annee FROM "
            f"marts.{quote_ident(mask.mart)} WHERE ({mask.where}) AND secret_statistique IS NOT NULL) s "
            f"USING (niveau, code_territoire, annee) WHERE "
            + " OR ".join(f"t.{quote_ident(c)} IS NOT NULL" for c in copied)).fetchone()[0]
        if leak:
            found.append(Finding(name, table, None, f"{leak} rows show values ({', '.join(copied)}) of cells secret "
                                                    f"in {mask.mart}"))
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
