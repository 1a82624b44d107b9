"""What CKAN harvesters read from ``package_show``: the classic ``extras``.

data.gouv.fr's CKAN harvester (udata, ``harvest/backends/ckan``) reads a dataset's coverage and
frequency from ``extras`` only — ``spatial`` (a GeoJSON polygon), ``spatial-text``,
``temporal_start`` / ``temporal_end`` and ``frequency`` — while ckanext-scheming keeps the hub's
DCAT-AP fields at the top level and shows no ``extras``. The API's answer to a ``package_show``
request therefore also carries them as extras, derived from the DCAT-AP fields.

Only the answer to ``/api/…/package_show`` itself: ``package_revise`` and ``package_update`` read
the dataset through ``package_show`` too, and must not find a second copy of the fields there.
"""
from __future__ import annotations

import json
import re
from typing import Any

import ckan.plugins.toolkit as toolkit

_POLYGON = re.compile(r"^\s*POLYGON\s*\(\((.*)\)\)\s*$", re.I)


def wkt_polygon_to_geojson(wkt: str) -> dict | None:
    """A WKT ``POLYGON((x y, …))`` with one ring as a GeoJSON Polygon; None for anything else."""
    match = _POLYGON.match(wkt or "")
    if not match or "(" in match.group(1):
        return None
    try:
        ring = [[float(v) for v in point.split()] for point in match.group(1).split(",")]
    except ValueError:
        return None
    if len(ring) < 4 or any(len(p) != 2 for p in ring) or ring[0] != ring[-1]:
        return None
    return {"type": "Polygon", "coordinates": [ring]}


def classic_extras(pkg_dict: dict[str, Any]) -> list[dict[str, str]]:
    """The extras a CKAN harvester reads, from the dataset's DCAT-AP fields."""
    extras: dict[str, str] = {}
    if pkg_dict.get("frequency"):
        extras["frequency"] = pkg_dict["frequency"]           # an EU frequency IRI
    periods = pkg_dict.get("temporal_coverage") or []
    if periods and periods[0].get("start") and periods[0].get("end"):
        extras["temporal_start"], extras["temporal_end"] = periods[0]["start"], periods[0]["end"]
    places = pkg_dict.get("spatial_coverage") or []
    if places:
        extras["spatial-text"] = places[0].get("text") or ""
        geometry = next((g for g in (wkt_polygon_to_geojson(p.get("bbox")) for p in places) if g), None)
        if geometry:
            extras["spatial"] = json.dumps(geometry)
        uris = [p["uri"] for p in places if p.get("uri")]
        if uris:
            extras["spatial-uri"] = uris[0]
    return [{"key": k, "value": v} for k, v in extras.items() if v]


def is_package_show_request() -> bool:
    try:
        path = toolkit.request.path
    except (RuntimeError, AttributeError, TypeError):     # no request: a command, a job
        return False
    return bool(path) and path.rstrip("/").endswith("/package_show")
