"""Onboarding a partner: which format a sample file is, and the registry entry it calls for.

``hub formats detect FILE…`` and ``hub registry scaffold FILE…`` print what this module returns.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import yaml

from territoire_hub.formats import FormatSpec
from territoire_hub.sources.detection import Detection, detect
from territoire_hub.problems import DeliveryRejected
from territoire_hub.sources.containers import geojson_properties, shapefile_attributes
from territoire_hub.sources.sniffing import SNIFF_BYTES, Sniffed, sniff


def detect_file(path: Path, formats: dict[str, FormatSpec]) -> Detection:
    """What ``path`` is and which format it matches: a CSV by its header, a zipped shapefile by its
    DBF attributes, a GeoJSON file by its features' properties."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    sniffed = sniff(head, Path(path))
    try:
        if sniffed.kind == "shapefile_zip":
            sniffed = replace(sniffed, header=shapefile_attributes(path))
        elif sniffed.kind == "not_a_csv" and sniffed.what == "JSON document" and any(
                f.container == "geojson" for f in formats.values()):
            properties = geojson_properties(path)
            if properties:
                sniffed = Sniffed("geojson", "GeoJSON feature collection", header=properties)
    except DeliveryRejected:
        pass                                              # described as what the sniffing saw
    return detect(sniffed, formats)


def describe_detection(path: Path, found: Detection) -> str:
    """One paragraph per file: the format it matches, or the closest one and what differs."""
    s = found.sniffed
    if s.kind == "not_a_csv":
        return f"{path}: not a CSV: {s.what}"
    physical = ("zipped shapefile" if s.kind == "shapefile_zip" else "GeoJSON" if s.kind == "geojson"
                else f"CSV, {s.encoding}, separator {s.separator!r}") + (", gzip" if s.compressed else "")
    if found.best is None:
        return f"{path}: {physical}; no known format shares a column with it (header: {', '.join(s.header[:12])})"
    best = found.best
    fmt = best.format
    if found.matches:
        notes = [] if not (best.unknown or best.missing_optional or best.differences) else [best.describe()]
        return (f"{path}: format {fmt.id} — {fmt.family}, {fmt.title} ({physical}; {len(best.known)} of "
                f"{len(fmt.source_columns)} columns)" + (f"\n    {notes[0]}" if notes else ""))
    return (f"{path}: no format matches ({physical}); closest: {fmt.id} — {fmt.title} "
            f"({len(best.known)} of {len(fmt.source_columns)} columns)\n    {best.describe()}")


_PERIODS = [
    # (regex for the date in the file name, cadence, period group pattern)
    (re.compile(r"(?<!\d)((?:19|20)\d{2})-((?:19|20)\d{2})(?!\d)"), None, None),          # a span of years
    (re.compile(r"(?<!\d)((?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(?!\d)"), "daily", r"\d{8}"),
    (re.compile(r"(?<!\d)((?:19|20)\d{2}(?:0[1-9]|1[0-2]))(?!\d)"), "monthly", r"\d{6}"),
    (re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)"), "yearly", r"\d{4}"),
]


def _filename_rule(name: str, spec: FormatSpec) -> tuple[str, dict]:
    """A file-name regex for files like ``name`` and what it says of the period."""
    stem, dot, ext = name.partition(".")
    ext_re = re.escape(dot + ext).replace(r"\.gz", "") + r"(\.gz)?" if dot else ""
    for pattern, cadence, group in _PERIODS:
        match = pattern.search(stem)
        if not match:
            continue
        before, after = re.escape(stem[:match.start()]), re.escape(stem[match.end():])
        if cadence is None:     # latest-2023-2024: a multi-year file, its period is its content
            regex = f"^{before}\\d{{4}}-\\d{{4}}{after}{ext_re}$"
            return regex, {"cadence": "yearly", "period": "content", "start": f"{match.group(1)}-01-01"}
        regex = f"^{before}(?P<period>{group}){after}(_[a-z0-9]+)?{ext_re}$"
        first = match.group(1)
        start = {"daily": f"{first[:4]}-{first[4:6]}-{first[6:8]}", "monthly": f"{first[:4]}-{first[4:6]}-01",
                 "yearly": f"{first}-01-01"}[cadence]
        return regex, {"cadence": cadence, "start": start}
    regex = f"^{re.escape(stem)}.*{ext_re}$"
    if spec.event_time is None:
        return regex, {"cadence": "snapshot"}
    return regex, {"cadence": "yearly", "period": "content", "start": "1950-01-01"}  # review: the first year delivered


def scaffold(paths: list[Path], formats: dict[str, FormatSpec], partner_id: str = "nouveau-partenaire") -> str:
    """A registry file proposal (YAML) for a partner delivering these sample files."""
    datasets, notes = [], []
    for path in paths:
        found = detect_file(path, formats)
        if not found.matches:
            notes.append(describe_detection(path, found))
            continue
        spec, s = found.best.format, found.sniffed
        regex, period = _filename_rule(Path(path).name, spec)
        dataset = {"id": spec.id, "format": spec.id, "transport": {"type": "inbox"}, "filename": regex, **period}
        if s.encoding not in ("ascii",) and not any(s.encoding.replace("-sig", "") == e.replace("-sig", "")
                                                     for e in spec.encodings):
            dataset["encoding"] = s.encoding
        if s.separator not in spec.separators:
            dataset["separator"] = s.separator
        dataset.update({"licence": "licence-ouverte-2.0", "sensitivity": "open"})
        for role, targets in spec.links.items():
            notes.append(f"dataset {spec.id}: links.{role} may name the partner/dataset of a {' or '.join(targets)} "
                         "(default: the same partner's)")
        datasets.append(dataset)
    if not datasets:
        raise ValueError("no sample matches a known format:\n" + "\n".join(notes))
    proposal = {"partner": {"id": partner_id, "name": "À compléter", "kind": "commune"}, "datasets": datasets}
    header = ["# Proposed by `hub registry scaffold`: review every field (partner, licence, sensitivity,",
              "# cadence and start), then save as <registry>/<partner-id>.yaml and run `hub registry`."]
    header += [f"# {line}" for note in notes for line in note.splitlines()]
    return "\n".join(header) + "\n" + yaml.safe_dump(proposal, allow_unicode=True, sort_keys=False, width=120)
