"""The field rules of data.gouv.fr's harvesters (udata), replayed on what the portal serves.

Read from udata at commit 25b5a2ddd43798da1d7594823e5e9c10ddba34a1 (github.com/opendatateam/udata):
``udata/harvest/backends/ckan/schemas/ckan.py`` and ``harvesters.py`` (the CKAN backend: a
voluptuous schema over ``package_show``, then the mapping of tags, licence, resources and of the
``extras`` ``spatial``, ``spatial-text``, ``temporal_start``/``temporal_end``, ``frequency``),
``udata/harvest/backends/dcat.py``, ``udata/core/dataset/rdf.py`` and ``udata/rdf.py`` (the DCAT
backend: identifiers, titles, licences of the distributions, frequencies, spatial and temporal
coverage, download URLs, checksums), ``udata/core/dataset/models.py`` (``License.guess_one``).

Each rule returns the problems found as ``(dataset, field, why)``: a dataset the harvester would
refuse or skip, a resource it would drop, a value it would lose (licence guessed as "not
specified", a frequency, a coverage it cannot read). Written from the code, not copied; where udata
is lenient in a way that loses data silently (a tag too short is dropped), the rule fails.

The licence table is data.gouv.fr's database, not udata's code: ``LICENCES`` below holds the two
licences the hub publishes under as data.gouv.fr lists them (ids ``lov2`` and ``odc-odbl``, their
URLs and alternate titles), taken from a copy of its ``/api/1/datasets/licenses/`` answer; the
edit-distance fallback of ``guess_one`` is left out (stricter: it can only fail more).
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from urllib.parse import urlparse

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS as DCT, RDF

SPDX = "http://spdx.org/rdf/terms#"
EU_FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
DC_FREQUENCY = "http://purl.org/cld/freq/"
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"

# udata/rdf.py EUFREQ_TERM_TO_UDATA (the codes the hub may use) and FREQ_TERM_TO_UDATA's terms
EU_FREQUENCIES = {"DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly", "QUARTERLY": "quarterly",
                  "ANNUAL": "annual", "ANNUAL_2": "semiannual", "BIENNIAL": "biennial", "IRREG": "irregular",
                  "HOURLY": "hourly", "CONT": "severalTimesADay", "UPDATE_CONT": "continuous", "UNKNOWN": "unknown",
                  "NEVER": "never", "OTHER": "other", "AS_NEEDED": "punctual"}
DC_FREQUENCIES = {"continuous", "daily", "threeTimesAWeek", "semiweekly", "weekly", "biweekly", "threeTimesAMonth",
                  "semimonthly", "monthly", "bimonthly", "quarterly", "threeTimesAYear", "semiannual", "annual",
                  "biennial", "triennial", "irregular"}
UDATA_FREQUENCIES = set(EU_FREQUENCIES.values()) | DC_FREQUENCIES

LICENCES = {
    "lov2": {"url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
             "alternate_urls": ["https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf",
                                "https://github.com/etalab/Licence-Ouverte/blob/master/LO.md"],
             "titles": ["Licence Ouverte / Open Licence version 2.0", "etalab-2.0", "Licence Ouverte v2.0",
                        "Licence Ouverte version 2.0", "Open Licence version 2.0"]},
    "odc-odbl": {"url": "http://opendatacommons.org/licenses/odbl/summary/",
                 "alternate_urls": ["https://opendefinition.org/licenses/odc-odbl"],
                 "titles": ["Open Data Commons Open Database License (ODbL)", "Open Database License (ODbL) 1.0",
                            "Open Data Commons Open Database License 1.0", "Open Database License"]},
}
KEPT_RESOURCE_TYPES = {"dkan", "file", "file.upload", "api", "metadata"}
VALID_RESOURCE_TYPES = {"file", "file.upload", "api", "documentation", "image", "visualization"}
CHECKSUM_ALGORITHMS = {SPDX + "checksumAlgorithm_md5", SPDX + "checksumAlgorithm_sha1",
                       SPDX + "checksumAlgorithm_sha256"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def guess_licence(*texts: str | None) -> str | None:
    """``License.guess``: the first text that names a licence (id, slug, URL, URL without its
    scheme and trailing slash, title or alternate title)."""
    for text in texts:
        if not text:
            continue
        text = text.strip().lower()
        for lid, lic in LICENCES.items():
            urls = [lic["url"].lower()] + [u.lower() for u in lic["alternate_urls"]]
            if text == lid or slugify(text) == lid or text in urls \
                    or slugify(text) in {slugify(t) for t in lic["titles"]}:
                return lid
        parsed = urlparse(text)
        if parsed.scheme in ("http", "https") and parsed.netloc:
            query = parsed.netloc + parsed.path.rstrip("/")
            for lid, lic in LICENCES.items():
                if query in lic["url"].lower() or any(query in u.lower() for u in lic["alternate_urls"]):
                    return lid
    return None


def udata_frequency(value: str | None) -> str | None:
    """``frequency_from_rdf``, then udata's own ids (the CKAN backend's two tries)."""
    if not value:
        return None
    if value.startswith(EU_FREQUENCY):
        return EU_FREQUENCIES.get(value.removeprefix(EU_FREQUENCY))
    if value.startswith(DC_FREQUENCY):
        term = value.removeprefix(DC_FREQUENCY)
        return term if term in DC_FREQUENCIES else None
    return value if value in UDATA_FREQUENCIES else None


def _date(value) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value)) and \
        _parses(value)


def _parses(value: str) -> bool:
    parts = [int(p) for p in value.split("-")] + [1, 1]
    try:
        date(*parts[:3])
    except ValueError:
        return False
    return True


def _is_polygon(geojson: dict) -> bool:
    return isinstance(geojson, dict) and geojson.get("type") in ("Polygon", "MultiPolygon") \
        and isinstance(geojson.get("coordinates"), list)


def ckan_problems(d: dict) -> list[tuple[str, str, str]]:
    """The CKAN backend's schema and mapping over one ``package_show`` answer."""
    name = d.get("name") or d.get("id") or "?"
    out: list[tuple[str, str, str]] = []

    def bad(field: str, why: str) -> None:
        out.append((name, field, why))

    for key in ("id", "name", "title"):
        if not isinstance(d.get(key), str) or not d.get(key):
            bad(key, "required string")
    for key in ("notes", "license_title", "author", "maintainer", "state"):
        if key not in d or not isinstance(d[key], (str, type(None))):
            bad(key, "required key, a string or null")
    for key in ("author_email", "maintainer_email"):
        if key not in d or (d[key] and not EMAIL.match(d[key])):
            bad(key, "required key, an e-mail address, empty or null")
    if not isinstance(d.get("license_id") or "", str):
        bad("license_id", "a string")
    for key in ("metadata_created", "metadata_modified"):
        if not isinstance(d.get(key), str) or not _date(d[key][:10]):
            bad(key, "a date")
    if not isinstance(d.get("private"), bool):
        bad("private", "a boolean")
    if d.get("type") != "dataset":
        bad("type", "must be 'dataset'")
    org = d.get("organization")
    if org is not None and (not isinstance(org, dict) or org.get("approval_status", "approved") != "approved"):
        bad("organization", "an approved organisation or null")
    tags = d.get("tags")
    if not isinstance(tags, list) or any(not isinstance(t, dict) or not isinstance(t.get("id"), str)
                                         or not isinstance(t.get("name"), str) for t in tags):
        bad("tags", "a list of {id, name}")
    else:
        for t in tags:
            if len(slugify(t["name"])) < 3:
                bad("tags", f"{t['name']!r} is dropped (under 3 characters once normalised)")
    if guess_licence(d.get("license_id"), d.get("license_title")) is None:
        bad("license_id", f"{d.get('license_id')!r} / {d.get('license_title')!r}: licence not recognised "
                          "(guessed as not specified)")
    extras = d.get("extras", [])
    if not isinstance(extras, list) or any(not isinstance(e, dict) or not isinstance(e.get("key"), str)
                                           or "value" not in e for e in extras):
        bad("extras", "a list of {key, value}")
        extras = []
    values = {e["key"]: e["value"] for e in extras if e.get("value") not in (None, "")}
    if udata_frequency(values.get("frequency")) is None:
        bad("extras.frequency", f"{values.get('frequency')!r}: not a Dublin Core, EU or udata frequency")
    if not (_date(values.get("temporal_start")) and _date(values.get("temporal_end"))):
        bad("extras.temporal_start", "temporal_start and temporal_end: both, as YYYY[-MM[-DD]]")
    try:
        spatial = json.loads(values["spatial"]) if isinstance(values.get("spatial"), str) else values.get("spatial")
    except ValueError:
        spatial = None
    if not _is_polygon(spatial):
        bad("extras.spatial", "a GeoJSON Polygon or MultiPolygon (anything else fails the dataset)")
    resources = d.get("resources") or []
    if not resources:
        bad("resources", "none: the dataset is skipped")
    for r in resources:
        label = f"resources[{r.get('name') or r.get('id')}]"
        for key in ("id", "created"):
            if not isinstance(r.get(key), str):
                bad(f"{label}.{key}", "required string")
        if not isinstance(r.get("position"), int):
            bad(f"{label}.position", "an integer")
        if not isinstance(r.get("format"), str) or not r["format"]:
            bad(f"{label}.format", "a string (null fails the dataset)")
        if r.get("hash") and (len(r["hash"]) not in (32, 40, 64) or not re.fullmatch(r"[0-9a-f]+", r["hash"])):
            bad(f"{label}.hash", "an md5, sha1 or sha256 in hexadecimal")
        url = urlparse(r.get("url") or "")
        if url.scheme not in ("http", "https") or not url.netloc:
            bad(f"{label}.url", "an http(s) URL")
        kind = r.get("resource_type") or "file"
        if kind not in VALID_RESOURCE_TYPES:
            bad(f"{label}.resource_type", f"{kind!r} fails the dataset")
        elif kind not in KEPT_RESOURCE_TYPES:
            bad(f"{label}.resource_type", f"{kind!r}: the resource is dropped")
    return out


def dcat_problems(g: Graph) -> list[tuple[str, str, str]]:
    """The DCAT backend over a catalogue graph (every page merged)."""
    out: list[tuple[str, str, str]] = []
    seen: dict[str, str] = {}
    for node in sorted(set(g.subjects(RDF.type, DCAT.Dataset)), key=str):
        title = g.value(node, DCT.title)
        name = str(title) if title else str(node)

        def bad(field: str, why: str) -> None:
            out.append((name, field, why))

        identifier = g.value(node, DCT.identifier)
        if identifier is None:
            bad("dct:identifier", "missing: the dataset is skipped")
        elif str(identifier) in seen:
            bad("dct:identifier", f"{identifier} also names {seen[str(identifier)]}: the dataset fails")
        else:
            seen[str(identifier)] = name
        if title is None:
            bad("dct:title", "missing: the dataset is skipped")
        if udata_frequency(str(g.value(node, DCT.accrualPeriodicity) or "")) is None:
            bad("dct:accrualPeriodicity", "not a Dublin Core or EU frequency IRI")
        distributions = list(g.objects(node, DCAT.distribution))
        licences = [str(o) for d in distributions for o in g.objects(d, DCT.license)]
        licences += [str(o) for o in g.objects(node, DCT.license)] + [str(o) for o in g.objects(node, DCT.rights)]
        if guess_licence(*licences) is None:
            bad("dct:license", f"{sorted(set(licences))}: licence not recognised (guessed as not specified)")
        polygons = [str(o) for s in g.objects(node, DCT.spatial) for p, o in g.predicate_objects(s)
                    if p in (DCAT.bbox, URIRef("http://www.w3.org/ns/locn#geometry"))
                    and (str(o).lstrip().upper().startswith(("POLYGON", "MULTIPOLYGON"))
                         or '"Polygon"' in str(o) or '"MultiPolygon"' in str(o))]
        if not polygons:
            bad("dct:spatial", "no polygon (WKT or GeoJSON) to place the dataset on the map")
        periods = list(g.objects(node, DCT.temporal))
        if not any(g.value(p, DCAT.startDate) or g.value(p, URIRef("http://schema.org/startDate")) for p in periods):
            bad("dct:temporal", "no period with a start date")
        for d in distributions:
            label = f"distribution[{g.value(d, DCT.title) or d}]"
            if g.value(d, DCAT.downloadURL) is None and g.value(d, DCAT.accessURL) is None:
                bad(label, "no dcat:downloadURL nor dcat:accessURL: the resource is dropped")
            fmt = g.value(d, DCT["format"])
            if fmt is None or (isinstance(fmt, URIRef) and not str(fmt).startswith(EU_FILE_TYPE)):
                bad(f"{label}.dct:format", f"{fmt}: no EU file type to read a format from")
            for checksum in g.objects(d, URIRef(SPDX + "checksum")):
                algorithm = g.value(checksum, URIRef(SPDX + "algorithm"))
                if str(algorithm) not in CHECKSUM_ALGORITHMS or not isinstance(algorithm, URIRef):
                    bad(f"{label}.spdx:checksum", f"algorithm {algorithm}: not an SPDX md5/sha1/sha256 IRI "
                                                  "(fails the dataset)")
                if g.value(checksum, URIRef(SPDX + "checksumValue")) is None:
                    bad(f"{label}.spdx:checksum", "no checksumValue")
    return out
