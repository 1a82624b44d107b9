"""Which known format a file is, or the closest one and exactly what differs.

Used by ``hub formats detect`` and ``hub registry scaffold`` (onboarding a partner), and by the
loader to name an ``unknown_layout`` (a header that matches no column set of the dataset's
format) with the closest known format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from territoire_hub.formats import FormatSpec, header_name
from territoire_hub.sources.sniffing import Sniffed


@dataclass(frozen=True)
class Comparison:
    """How a file's header compares with one format."""

    format: FormatSpec
    known: list[str]                 # header names the format reads
    missing_required: list[str]      # required source columns absent from the header
    missing_optional: list[str]      # other declared columns absent
    unknown: list[str]               # header names the format does not read
    differences: list[str] = field(default_factory=list)   # physical: separator, encoding, compression

    @property
    def matches(self) -> bool:
        """Every required column is there and at least half of the format's columns: a file that
        shares only a key column with a format (a channel list and a site list) is not of it."""
        return not self.missing_required and 2 * len(self.known) >= len(self.format.source_columns)

    @property
    def score(self) -> float:
        """Share of the format's columns present, then of the header the format explains."""
        declared = len(self.format.source_columns)
        return (len(self.known) / declared if declared else 0.0) - 0.01 * len(self.missing_required)

    def describe(self) -> str:
        parts = []
        if self.missing_required:
            parts.append("missing required column(s): " + ", ".join(self.missing_required))
        if self.missing_optional:
            parts.append("missing column(s): " + ", ".join(self.missing_optional))
        if self.unknown:
            shown = self.unknown[:12]
            parts.append("unknown column(s): " + ", ".join(shown) + (f" (+{len(self.unknown) - 12})" if len(self.unknown) > 12 else ""))
        parts += self.differences
        return "; ".join(parts) if parts else "identical columns"


def compare(sniffed: Sniffed, spec: FormatSpec) -> Comparison:
    names = [header_name(cell, spec.header_dbf_suffixes) for cell in sniffed.header]
    present = [n for n in names if n]
    declared = spec.source_columns
    known = [n for n in present if n in declared]
    differences = []
    if sniffed.separator and sniffed.separator not in spec.separators:
        differences.append(f"separator {sniffed.separator!r} (format: {' or '.join(map(repr, spec.separators))})")
    if sniffed.encoding and not any(_same_encoding(sniffed.encoding, e) for e in spec.encodings):
        differences.append(f"encoding {sniffed.encoding} (format: {', '.join(spec.encodings)})")
    if sniffed.compressed and "gzip" not in spec.compression:
        differences.append("gzip-compressed (format: uncompressed)")
    return Comparison(
        format=spec,
        known=known,
        missing_required=[c for c in spec.required_sources if c not in present],
        missing_optional=[c for c in declared if c not in present and c not in spec.required_sources],
        unknown=[n for n in present if n not in declared and not n.startswith("_unnamed")],
        differences=differences,
    )


def _same_encoding(found: str, declared: str) -> bool:
    norm = {"utf-8-sig": "utf-8", "utf8": "utf-8", "windows-1252": "cp1252", "latin-1": "cp1252",
            "latin1": "cp1252", "iso-8859-1": "cp1252", "iso-8859-15": "cp1252"}
    found, declared = found.lower(), declared.lower()
    # an ASCII-only head decodes alike in UTF-8 and in every single-byte encoding
    return found == "ascii" or norm.get(found, found) == norm.get(declared, declared)


@dataclass(frozen=True)
class Detection:
    sniffed: Sniffed
    best: Comparison | None            # the matching format, or the closest one
    ranked: list[Comparison]

    @property
    def matches(self) -> bool:
        return self.best is not None and self.best.matches


def detect(sniffed: Sniffed, formats: dict[str, FormatSpec]) -> Detection:
    """Rank the formats for a sniffed file: matching formats first, then by share of columns known."""
    container = {"shapefile_zip": "shapefile_zip", "geojson": "geojson"}.get(sniffed.kind, "csv")
    candidates = [spec for spec in formats.values() if spec.container == container]
    if sniffed.kind == "not_a_csv" or not candidates:
        return Detection(sniffed, None, [])
    ranked = sorted((compare(sniffed, spec) for spec in candidates),
                    key=lambda c: (not c.matches, -c.score, c.format.id))
    return Detection(sniffed, ranked[0] if ranked and ranked[0].known else None, ranked)


def closest_format(header: list[str], formats: dict[str, FormatSpec], excluding: str | None = None) -> Comparison | None:
    """The format whose columns best match a CSV header (for an unknown_layout message)."""
    sniffed = Sniffed("csv", header=header)
    ranked = [c for c in detect(sniffed, formats).ranked if c.format.id != excluding and c.known]
    return ranked[0] if ranked else None
