"""Deliveries that are not CSV: GeoJSON feature collections and zipped ESRI shapefiles.

Each is read in bulk by DuckDB (its JSON reader, its spatial extension loaded offline) into the
same thing a CSV becomes: an Arrow table of text columns named after the format's sources, plus
``_line`` (the feature's number, 1-based: what a problem's "line" means for these files). The
typing, checks and load that follow are the CSV's.

Shapefile geometry becomes two pseudo-columns, ``geometry_longitude`` / ``geometry_latitude``
(WGS84, reprojected from the ``.prj``'s system, or from the format's declared ``crs`` when the
archive has no ``.prj``); a format names them as sources.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from territoire_hub import extensions
from territoire_hub.formats import FormatSpec
from territoire_hub.problems import DeliveryRejected, Problem
from territoire_hub.warehouse import quote_ident, quote_literal

# pseudo-columns a shapefile format may name as sources
GEOMETRY_SOURCES = ("_line_number", "geometry_longitude", "geometry_latitude")
MAX_JSON_BYTES = 256 << 20


@dataclass(frozen=True)
class ContainerTable:
    table: pa.Table           # text columns + _line
    header: list[str]         # what the file carries (property or attribute names)


def _text_columns(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pa.Table:
    return con.execute(sql, params).fetch_arrow_table()


def _geojson_keys(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    try:
        return [r[0] for r in con.execute(
            "SELECT DISTINCT unnest(json_keys(f -> 'properties')) FROM ("
            "  SELECT unnest(from_json(j -> 'features', '[\"JSON\"]')) AS f "
            "  FROM read_json_objects(?, format = 'auto', maximum_object_size = ?) AS t(j)) LIMIT 10000",
            [str(path), MAX_JSON_BYTES]).fetchall()]
    except duckdb.Error as exc:
        raise DeliveryRejected([Problem("unreadable_geojson", f"not a GeoJSON FeatureCollection: {exc}")]) from None


def geojson_properties(path: Path) -> list[str]:
    """The property names of a GeoJSON FeatureCollection's features (its "header")."""
    con = duckdb.connect()
    try:
        return sorted(_geojson_keys(con, path))
    finally:
        con.close()


def shapefile_attributes(path: Path) -> list[str]:
    """The DBF attribute names of a zipped shapefile, plus the geometry pseudo-columns."""
    shp = _single_layer(_members(Path(path).read_bytes()))
    con = duckdb.connect()
    try:
        extensions.load(con, "spatial")
        return _attributes(con, f"/vsizip/{{{Path(path).resolve()}}}/{shp}", shp) + list(GEOMETRY_SOURCES)
    finally:
        con.close()


def read_geojson(path: Path, spec: FormatSpec) -> ContainerTable:
    """A GeoJSON FeatureCollection: one row per feature, its properties as text columns."""
    con = duckdb.connect()
    try:
        keys = _geojson_keys(con, path)
        if not keys:
            raise DeliveryRejected([Problem("no_rows", "the GeoJSON file has no feature with properties")])
        wanted = [c for c in spec.source_columns if c in keys]
        columns = ", ".join(f"f -> 'properties' ->> {quote_literal(c)} AS {quote_ident(c)}" for c in wanted)
        table = _text_columns(con, f"""
            SELECT {columns}{', ' if columns else ''}CAST(row_number() OVER () AS BIGINT) AS _line
            FROM (SELECT unnest(from_json(j -> 'features', '["JSON"]')) AS f
                  FROM read_json_objects(?, format = 'auto', maximum_object_size = ?) AS t(j))
        """, [str(path), MAX_JSON_BYTES])
        return ContainerTable(table, sorted(keys))
    finally:
        con.close()


class Projection:
    """Adds the WGS84 longitude/latitude (text) of each of the format's projected points to Arrow
    tables, computed in bulk by DuckDB's spatial extension from the X/Y columns (decimal point or
    comma) in the format's crs; one side connection per delivery, its blocks projected in turn. A
    coordinate that is not a number gives no point (NULL), left to the checks."""

    def __init__(self, spec: FormatSpec):
        self.spec = spec
        self.con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> "Projection":
        if self.spec.projected_points:
            self.con = duckdb.connect()
            extensions.load(self.con, "spatial")
        return self

    def __exit__(self, *exc) -> None:
        if self.con is not None:
            self.con.close()

    def __call__(self, table: pa.Table) -> pa.Table:
        if self.con is None:
            return table
        present = set(table.column_names)
        added = []
        for p in self.spec.projected_points:
            if p.x not in present or p.y not in present:
                added += [f"CAST(NULL AS VARCHAR) AS {quote_ident(p.longitude)}", f"CAST(NULL AS VARCHAR) AS {quote_ident(p.latitude)}"]
                continue
            x = f"TRY_CAST(replace(trim({quote_ident(p.x)}), ',', '.') AS DOUBLE)"
            y = f"TRY_CAST(replace(trim({quote_ident(p.y)}), ',', '.') AS DOUBLE)"
            point = (f"CASE WHEN {x} IS NOT NULL AND {y} IS NOT NULL THEN "
                     f"ST_Transform(ST_Point({x}, {y}), {quote_literal(self.spec.crs)}, 'EPSG:4326', always_xy := true) END")
            added += [f"CAST(round(ST_X({point}), 7) AS VARCHAR) AS {quote_ident(p.longitude)}",
                      f"CAST(round(ST_Y({point}), 7) AS VARCHAR) AS {quote_ident(p.latitude)}"]
        self.con.register("src", table)
        try:
            return self.con.execute(f"SELECT *, {', '.join(added)} FROM src").fetch_arrow_table()
        finally:
            self.con.unregister("src")


def _members(data: bytes) -> list[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except zipfile.BadZipFile as exc:
        raise DeliveryRejected([Problem("unreadable_zip", f"the zip archive cannot be read: {exc}")]) from None


def _single_layer(members: list[str]) -> str:
    shapes = [m for m in members if m.lower().endswith(".shp")]
    if len(shapes) != 1:
        raise DeliveryRejected([Problem("unreadable_shapefile",
                                        f"the archive holds {len(shapes)} .shp layers ({', '.join(members[:8])}); "
                                        "one layer per delivery is expected")])
    return shapes[0]


def _attributes(con: duckdb.DuckDBPyConnection, layer: str, shp: str) -> list[str]:
    try:
        names = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE SELECT * FROM st_read(?))",
                                           [layer]).fetchall()]
    except duckdb.Error as exc:
        raise DeliveryRejected([Problem("unreadable_shapefile", f"{shp} cannot be read: {exc}")]) from None
    return [n for n in names if n != "geom"]


def read_shapefile(path: Path, spec: FormatSpec, crs: str | None) -> ContainerTable:
    """A zipped ESRI shapefile (one layer): its DBF attributes as text, its point geometry in WGS84."""
    data = Path(path).read_bytes()
    members = _members(data)
    shp = _single_layer(members)
    stem = shp[:-4]
    prj = next((m for m in members if m.lower() == f"{stem.lower()}.prj"), None)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        source_crs = archive.read(prj).decode("utf-8", "replace") if prj else crs
    if not source_crs:
        raise DeliveryRejected([Problem("unknown_crs", f"{shp} has no .prj and the format declares no crs: "
                                                       "its coordinates cannot be placed")])
    con = duckdb.connect()
    try:
        extensions.load(con, "spatial")
        layer = f"/vsizip/{{{Path(path).resolve()}}}/{shp}"  # braces: the stored file has no .zip suffix
        attributes = _attributes(con, layer, shp)
        wanted = [c for c in spec.source_columns if c in attributes]
        columns = "".join(f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}, " for c in wanted)
        try:
            table = _text_columns(con, f"""
                SELECT {columns}
                       CAST(row_number() OVER () AS VARCHAR) AS _line_number,
                       CAST(ST_X(p) AS VARCHAR) AS geometry_longitude, CAST(ST_Y(p) AS VARCHAR) AS geometry_latitude,
                       CAST(row_number() OVER () AS BIGINT) AS _line
                FROM (SELECT *, CASE WHEN geom IS NOT NULL AND ST_GeometryType(geom) = 'POINT'
                                     THEN ST_Transform(geom, ?, 'EPSG:4326', always_xy := true) END AS p
                      FROM st_read(?))
            """, [source_crs, layer])
        except duckdb.Error as exc:
            raise DeliveryRejected([Problem("unreadable_shapefile", f"{shp}: {exc}")]) from None
        return ContainerTable(table, attributes + list(GEOMETRY_SOURCES))
    finally:
        con.close()
