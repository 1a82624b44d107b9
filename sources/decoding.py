"""From delivered bytes to clean UTF-8 CSV text: compression, encoding, separator, header.

Each check fails with a specific Problem (naming the line where it applies) instead of
letting a parser guess: a wrong encoding or separator must be refused, not half-read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

from territoire_hub.formats import FormatSpec, header_name
from territoire_hub.names import printable
from territoire_hub.problems import DeliveryRejected, Problem
from territoire_hub.settings import Limits
from territoire_hub.sources.compression import GZIP_MAGIC, gunzip
from territoire_hub.sources.detection import closest_format, compare
from territoire_hub.sources.sniffing import Sniffed, split_header

BOM = "\ufeff"


@dataclass(frozen=True)
class DecodedFile:
    text: bytes            # UTF-8, no BOM, line breaks as delivered (LF, CRLF or CR)
    encoding: str          # the encoding that decoded it
    separator: str
    header: list[str]      # trimmed header names, in file order
    compressed: bool


def unknown_columns(header: list[str], spec: FormatSpec) -> list[Problem]:
    """A warning naming the header's columns the format does not know: they are not read, and the
    partner should know it (a renamed column looks like an unknown one and a missing one)."""
    known = set(spec.source_columns) | set(spec.other_columns)
    unknown = [name for name in header if name and name not in known]
    if not unknown:
        return []
    listed = ", ".join(f"'{printable(name)}'" for name in unknown[:10])
    more = f" and {len(unknown) - 10:,} more" if len(unknown) > 10 else ""
    return [Problem("unknown_columns", f"{len(unknown):,} column(s) not in format {spec.id}, not read: "
                    f"{listed}{more}", line=1, severity="warning")]


def _decompress(data: bytes, allowed: list[str], limits: Limits) -> tuple[bytes, bool]:
    if not data.startswith(GZIP_MAGIC):
        return data, False
    if "gzip" not in allowed:
        raise DeliveryRejected([Problem("unexpected_compression", "file is gzip-compressed; this dataset is delivered uncompressed")])
    raw = gunzip(data, limits)
    if raw.startswith(GZIP_MAGIC):
        raise DeliveryRejected([Problem("not_a_csv", "not a CSV file: gzip file inside a gzip file (nested compression)")])
    return raw, True


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


SINGLE_BYTE = ("cp1252", "windows-1252", "latin-1", "latin1", "iso-8859-1", "iso-8859-15")


def _utf8_in_disguise(data: bytes, encoding: str) -> None:
    """A single-byte encoding decodes anything, so UTF-8 bytes would become mojibake ("Ã©")
    instead of failing: refuse a file declared single-byte whose accents are valid UTF-8."""
    if encoding.lower() not in SINGLE_BYTE or data.isascii():
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return
    offset = next(i for i, byte in enumerate(data) if byte >= 0x80)
    line = _line_of(data, offset)
    raise DeliveryRejected([Problem(
        "wrong_encoding",
        f"file is UTF-8 (accents from line {line} on are UTF-8 sequences) but the dataset is declared "
        f"{encoding}; reading it as {encoding} would garble the accents",
        line=line,
    )])


def _decode(data: bytes, encodings: list[str]) -> tuple[str, str]:
    first_error: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
            continue
        _utf8_in_disguise(data, encoding)
        return text, encoding
    assert first_error is not None
    offset = first_error.start
    line = _line_of(data, offset)
    guess = from_bytes(data[: 1 << 20]).best()
    hint = f"; the bytes look like {guess.encoding}" if guess is not None else ""
    raise DeliveryRejected([Problem(
        "wrong_encoding",
        f"byte 0x{data[offset]:02x} at line {line} is not valid {'/'.join(encodings)}{hint}; "
        f"expected encoding {encodings[0]}",
        line=line,
    )]) from None


SEPARATORS = (";", ",", "\t", "|")


def _header(header_line: str, separator: str, spec: FormatSpec) -> list[str]:
    """The header's column names as the format names them (quotes and DBF type suffixes removed)."""
    return [header_name(cell, spec.header_dbf_suffixes) for cell in split_header(header_line, separator)]


def _unknown_layout(header: list[str], spec: FormatSpec, formats: dict[str, FormatSpec] | None) -> DeliveryRejected:
    """The header matches no column set of the dataset's format: say how far it is from it, and
    which known format it is closest to."""
    own = compare(Sniffed("csv", header=header), spec)
    message = (f"the header matches no column set of format {spec.id} ({len(own.known)} of "
               f"{len(spec.source_columns)} columns; {own.describe()})")
    other = closest_format(header, formats or {}, excluding=spec.id)
    if other is not None and other.score > own.score:
        message += f"; closest known format: {other.format.id} — {other.format.title} ({other.describe()})"
    return DeliveryRejected([Problem("unknown_layout", message, line=1, value=", ".join(header)[:200])])


def decode_delivery(data: bytes, *, spec: FormatSpec, encodings: list[str], separators: list[str],
                    formats: dict[str, FormatSpec] | None = None, limits: Limits = Limits()) -> DecodedFile:
    """Decompress (within ``limits``), decode and check the header of a delivered CSV file."""
    raw, compressed = _decompress(data, list(spec.compression), limits)
    if not raw.strip():
        raise DeliveryRejected([Problem("empty_file", "file is empty (no header, no rows)")])
    text, encoding = _decode(raw, encodings)
    text = text.removeprefix(BOM)
    # line breaks stay as delivered: a CR or CRLF inside a quoted value is part of the value
    header_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    declared = set(spec.source_columns)
    separator = max(separators, key=lambda sep: (len(set(_header(header_line, sep, spec)) & declared), -separators.index(sep)))
    header = _header(header_line, separator, spec)
    if len(header) > limits.max_columns:
        raise DeliveryRejected([Problem(
            "too_many_columns", f"the header has {len(header):,} columns, more than {limits.max_columns:,} "
            f"(limit HUB_MAX_COLUMNS): refused before reading its rows", line=1)])
    known = set(header) & declared
    missing = [name for name in spec.required_sources if name not in header]
    if not known or (missing and 2 * len(known) < len(declared)):
        for other in (s for s in SEPARATORS if s not in separators):
            if all(name in _header(header_line, other, spec) for name in spec.required_sources):
                raise DeliveryRejected([Problem(
                    "wrong_separator",
                    f"header does not split into the expected columns with separator "
                    f"{' or '.join(map(repr, separators))}; the header looks {other!r}-separated",
                    line=1, value=header_line[:120])])
        raise _unknown_layout(header, spec, formats)
    if missing:
        raise DeliveryRejected([
            Problem("missing_column", f"required column {name!r} is missing from the header", line=1, column=name)
            for name in missing
        ])
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    if duplicated:
        raise DeliveryRejected([Problem("duplicate_column", f"column {duplicated[0]!r} appears twice in the header", line=1)])
    if not re.search(r"[\r\n]", text.strip("\r\n")):
        raise DeliveryRejected([Problem("no_rows", "file has a header but no data rows", line=1)])
    return DecodedFile(text.encode("utf-8"), encoding, separator, header, compressed)
