"""INSEE COG 2026 reference (communes, EPCI, départements, régions, postal codes, the codes that
lead to a current commune) in DuckDB.

The hub calls :func:`load_reference` to (re)create schema ``ref`` from the files shipped in
``territoire_hub/reference/`` (built offline by ``reference_build``; provenance in its README).
Schema ``ref`` belongs to this module: it is dropped and recreated on every load.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path

import duckdb

COG_VINTAGE = 2026
REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
ANCIENS_CODES = f"cog{COG_VINTAGE}_anciens_codes.csv"
ANCIENS_CODES_COMPLEMENT = "anciens_codes_complement.csv"
FRANCE_BOXES = "france_boxes.csv"   # bounding boxes of France's territories: a coordinate outside all is wrong

_COMMUNE_TYPES = "'commune-actuelle', 'commune-deleguee', 'commune-associee', 'arrondissement-municipal'"

# table -> (file, [(column, type, not null)], extra DDL). Column order = file header order.
_TABLES: dict[str, tuple[str, list[tuple[str, str, bool]], str]] = {
    "regions": (f"cog{COG_VINTAGE}_regions.csv", [
        ("code_region", "VARCHAR", True),
        ("nom_region", "VARCHAR", True),
    ], "PRIMARY KEY (code_region)"),
    "departements": (f"cog{COG_VINTAGE}_departements.csv", [
        ("code_departement", "VARCHAR", True),
        ("nom_departement", "VARCHAR", True),
        ("code_region", "VARCHAR", True),
    ], "PRIMARY KEY (code_departement)"),
    "epci": (f"cog{COG_VINTAGE}_epci.csv", [
        ("code_epci", "VARCHAR", True),
        ("nom_epci", "VARCHAR", True),
        ("type_epci", "VARCHAR", True),
        ("population", "INTEGER", True),
    ], "PRIMARY KEY (code_epci)"),
    # A commune déléguée often keeps the code of its commune nouvelle (584 cases),
    # so code_commune alone is not a key.
    "communes": (f"cog{COG_VINTAGE}_communes.csv.gz", [
        ("code_commune", "VARCHAR", True),
        ("nom_commune", "VARCHAR", True),
        ("type_commune", "VARCHAR", True),
        ("code_commune_parente", "VARCHAR", True),
        ("code_departement", "VARCHAR", True),
        ("code_region", "VARCHAR", True),
        ("code_epci", "VARCHAR", False),
        ("siren", "VARCHAR", False),
        ("population", "INTEGER", False),
        ("codes_postaux", "VARCHAR", False),
        ("latitude", "DOUBLE", False),
        ("longitude", "DOUBLE", False),
        ("coord_source", "VARCHAR", False),
    ], f"PRIMARY KEY (code_commune, type_commune), CHECK (type_commune IN ({_COMMUNE_TYPES})), "
       "CHECK (coord_source IN ('mairie', 'contour', 'mairie-2024', 'contour-2024', 'geonames'))"),
}

# Every code a partner may write for a commune, and the current commune it means: the commune
# itself, a municipal arrondissement (its commune), a commune déléguée or associée (its commune
# nouvelle), a former code (INSEE's anciensCodes, plus the documented complement for codes still
# used by Météo-France: Mayotte 985NN, Saint-Barthélemy 97123, Saint-Martin 97127).
_COMMUNE_CODES_SQL = """
INSERT INTO ref.commune_codes
SELECT code, code_commune, kind FROM (
    SELECT code_commune AS code, code_commune, 'commune' AS kind, 0 AS rank
    FROM ref.communes WHERE type_commune = 'commune-actuelle'
    UNION ALL
    SELECT code_commune, code_commune_parente,
           CASE type_commune WHEN 'arrondissement-municipal' THEN 'arrondissement'
                             WHEN 'commune-deleguee' THEN 'commune_deleguee' ELSE 'commune_associee' END, 1
    FROM ref.communes WHERE type_commune <> 'commune-actuelle'
    UNION ALL
    SELECT code_ancien, code_commune, 'ancien_code', 2 FROM ref.anciens_codes
)
QUALIFY row_number() OVER (PARTITION BY code ORDER BY rank, code_commune) = 1
"""

# Postal codes at the finest level: Paris, Lyon and Marseille carry the same codes as their
# arrondissements, so listing both would map each code twice; the arrondissement wins and
# ref.communes.code_commune_parente leads back to the commune.
_POSTAL_CODES_SQL = """
INSERT INTO ref.postal_codes
SELECT DISTINCT code_postal, code_commune FROM (
    SELECT unnest(string_split(c.codes_postaux, ' ')) AS code_postal, c.code_commune
    FROM ref.communes AS c
    WHERE c.codes_postaux IS NOT NULL
      AND c.type_commune IN ('commune-actuelle', 'arrondissement-municipal')
      AND NOT EXISTS (
          SELECT 1 FROM ref.communes AS a
          WHERE a.type_commune = 'arrondissement-municipal' AND a.code_commune_parente = c.code_commune)
)
"""


def _check_header(path: Path, columns: list[str]) -> None:
    # read_csv with explicit columns binds by position, so a reordered file would load silently.
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split(",")
    if header != columns:
        raise ValueError(f"{path.name}: header {header} does not match expected columns {columns}")


def load_reference(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Create or replace schema ``ref`` from the shipped files; returns row counts per table.

    Runs in one transaction (call it outside any open transaction): a failed load keeps
    the previous ``ref``.
    """
    for file, columns, _ in _TABLES.values():
        _check_header(REFERENCE_DIR / file, [name for name, _, _ in columns])

    con.begin()
    try:
        con.execute("DROP SCHEMA IF EXISTS ref CASCADE")
        con.execute("CREATE SCHEMA ref")
        # Table, column and type names below are module constants; the file path is passed
        # as a parameter.
        for table, (file, columns, extra) in _TABLES.items():
            ddl = ", ".join(f"{name} {type_}{' NOT NULL' if not_null else ''}" for name, type_, not_null in columns)
            con.execute(f"CREATE TABLE ref.{table} ({ddl}, {extra})")
            types = ", ".join(f"'{name}': '{type_}'" for name, type_, _ in columns)
            con.execute(
                f"INSERT INTO ref.{table} SELECT * FROM read_csv(?, header = true, delim = ',', "
                f"quote = '\"', escape = '\"', nullstr = '', columns = {{{types}}})",
                [str(REFERENCE_DIR / file)],
            )
        con.execute(
            "CREATE TABLE ref.postal_codes (code_postal VARCHAR NOT NULL, code_commune VARCHAR NOT NULL, "
            "PRIMARY KEY (code_postal, code_commune))"
        )
        con.execute(_POSTAL_CODES_SQL)
        con.execute("CREATE TABLE ref.anciens_codes (code_ancien VARCHAR PRIMARY KEY, code_commune VARCHAR NOT NULL, "
                    "basis VARCHAR NOT NULL)")
        con.execute("INSERT INTO ref.anciens_codes SELECT code_ancien, code_commune, 'INSEE COG ' || ? "
                    "FROM read_csv(?, header = true, columns = {'code_ancien': 'VARCHAR', 'code_commune': 'VARCHAR'})",
                    [str(COG_VINTAGE), str(REFERENCE_DIR / ANCIENS_CODES)])
        con.execute("INSERT INTO ref.anciens_codes SELECT * FROM read_csv(?, header = true, "
                    "columns = {'code_ancien': 'VARCHAR', 'code_commune': 'VARCHAR', 'basis': 'VARCHAR'})",
                    [str(REFERENCE_DIR / ANCIENS_CODES_COMPLEMENT)])
        con.execute("CREATE TABLE ref.france_boxes AS SELECT * FROM read_csv(?, header = true, columns = {"
                    "'zone': 'VARCHAR', 'lat_min': 'DOUBLE', 'lat_max': 'DOUBLE', 'lon_min': 'DOUBLE', "
                    "'lon_max': 'DOUBLE', 'basis': 'VARCHAR'})", [str(REFERENCE_DIR / FRANCE_BOXES)])
        con.execute("CREATE TABLE ref.commune_codes (code VARCHAR PRIMARY KEY, code_commune VARCHAR NOT NULL, "
                    "kind VARCHAR NOT NULL)")
        con.execute(_COMMUNE_CODES_SQL)
        con.execute("CREATE TABLE ref.meta (cog_vintage INTEGER NOT NULL, loaded_at TIMESTAMPTZ NOT NULL, "
                    "files_sha256 VARCHAR NOT NULL)")
        con.execute("INSERT INTO ref.meta VALUES (?, current_timestamp, ?)", [COG_VINTAGE, reference_digest()])
        counts = {
            table: con.execute(f"SELECT count(*) FROM ref.{table}").fetchone()[0]
            for table in [*_TABLES, "postal_codes", "anciens_codes", "commune_codes", "france_boxes"]
        }
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return counts


@lru_cache(maxsize=1)
def reference_digest() -> str:
    """sha256 over the shipped reference files: a warehouse loaded from other files reloads
    (files of the package: read once per process)."""
    digest = hashlib.sha256()
    for path in sorted(REFERENCE_DIR.glob("*.csv*")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def is_loaded(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``ref`` holds exactly the shipped reference files (same digest)."""
    present = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'ref' AND table_name = 'meta' AND column_name = 'files_sha256'"
    ).fetchone()[0]
    if not present:
        return False
    return con.execute("SELECT max(files_sha256) FROM ref.meta").fetchone()[0] == reference_digest()
