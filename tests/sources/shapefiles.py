"""Test helper: a zipped ESRI shapefile of points, written by GDAL (DuckDB's spatial extension)
from a CSV of Lambert-93 points, as a city's GIS exports it (.shp/.shx/.dbf/.prj, Windows-1252)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb

from territoire_hub import extensions


def write_points_shapefile(csv_path: Path, zip_path: Path, layer: str = "VilleMTP_MTP_EclairagePublic",
                           with_prj: bool = True) -> Path:
    """Points of ``csv_path`` (columns x_l93, y_l93, type_lante) as the zipped shapefile ``zip_path``."""
    folder = zip_path.parent / f"_{layer}"
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        extensions.load(con, "spatial")
        con.execute(f"""
            COPY (SELECT type_lante, ST_Point(x_l93, y_l93) AS geom
                  FROM read_csv(?, header = true, columns = {{'record_number': 'INTEGER', 'x_l93': 'DOUBLE',
                                                               'y_l93': 'DOUBLE', 'type_lante': 'VARCHAR'}})
                  ORDER BY record_number)
            TO '{folder / (layer + ".shp")}' (FORMAT GDAL, DRIVER 'ESRI Shapefile', SRS 'EPSG:2154')""",
                    [str(csv_path)])
    finally:
        con.close()
    with zipfile.ZipFile(zip_path, "w") as archive:
        for member in sorted(folder.iterdir()):
            if member.suffix.lower() == ".prj" and not with_prj:
                continue
            archive.write(member, member.name)
    return zip_path
