"""What a delivered file is, from its first bytes: container, compression, encoding, separator, header.

Partners send spreadsheets, zipped shapefiles, HTML error pages and PDFs where a CSV was
expected; each is recognised and named as such (``not_a_csv: zip archive``), never reported as
an encoding or separator problem. Only the head of the file is read (``SNIFF_BYTES``).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
import zlib
from dataclasses import dataclass, field

from territoire_hub.settings import Limits
from territoire_hub.sources.compression import gunzip

SNIFF_BYTES = 1 << 20          # the head read to tell what a file is
SEPARATORS = (";", ",", "\t", "|")

# magic numbers of the containers partners send instead of a CSV
_MAGIC = [
    (b"%PDF-", "PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office file (XLS/DOC)"),
    (b"PAR1", "Parquet file"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
]


@dataclass(frozen=True)
class Sniffed:
    kind: str                       # "csv" | "shapefile_zip" | "geojson" | "not_a_csv"
    what: str = ""                  # for not_a_csv: "zip archive (members: …)", "HTML page", …
    compressed: bool = False        # gzip-compressed once (what the formats allow)
    encoding: str | None = None     # for csv: utf-8-sig | ascii | utf-8 | cp1252
    separator: str | None = None
    header: list[str] = field(default_factory=list)   # raw header cells (quotes removed), file order
    members: list[str] = field(default_factory=list)  # for zip archives


def _gunzip_head(data: bytes, limit: int) -> bytes:
    """The first ``limit`` decompressed bytes of a gzip stream (a truncated stream gives what it has)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        return inflater.decompress(data, limit)
    except zlib.error:
        return b""


def _zip_kind(data: bytes | Path) -> tuple[str, str, list[str]]:
    try:
        with zipfile.ZipFile(data if isinstance(data, Path) else io.BytesIO(data)) as archive:
            names = archive.namelist()
            mimetype = archive.read("mimetype").decode("ascii", "replace").strip() if "mimetype" in names else ""
    except (zipfile.BadZipFile, EOFError, ValueError):
        return "not_a_csv", "zip archive (unreadable: truncated or corrupt)", []
    lower = [n.lower() for n in names]
    if any(n.startswith("xl/") for n in lower):
        return "not_a_csv", "Excel workbook (XLSX)", names
    if "opendocument.spreadsheet" in mimetype:
        return "not_a_csv", "OpenDocument spreadsheet (ODS)", names
    if any(n.startswith("word/") for n in lower) or "opendocument.text" in mimetype:
        return "not_a_csv", "word-processing document", names
    if any(n.endswith(".shp") for n in lower) and any(n.endswith(".dbf") for n in lower):
        return "shapefile_zip", "zipped ESRI shapefile", names
    shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
    return "not_a_csv", f"zip archive (members: {shown})", names


def _text_kind(head: bytes) -> str | None:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")) or (start.startswith(b"<") and b"<body" in start[:4096]):
        return "HTML page"
    if start.startswith(b"<?xml"):
        return "XML document"
    if start.startswith((b"{", b"[")):
        return "JSON document"
    return None


def guess_encoding(head: bytes) -> str:
    """utf-8-sig with a BOM, ascii when there is no byte above 127, utf-8 when the bytes are
    valid UTF-8, else Windows-1252."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.isascii():
        return "ascii"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:      # a sequence cut by the head's end
            return "utf-8"
        return "cp1252"


def split_header(line: str, separator: str) -> list[str]:
    """Header cells as a CSV reader sees them (a quoted cell may hold the separator)."""
    try:
        cells = next(csv.reader([line], delimiter=separator, quotechar='"'))
    except (StopIteration, csv.Error):
        cells = line.split(separator)
    return [c.strip().strip('"').strip() for c in cells]


def guess_separator(line: str) -> str:
    """The separator that splits the header into the most cells (quotes respected)."""
    return max(SEPARATORS, key=lambda s: (len(split_header(line, s)), -SEPARATORS.index(s)))


def sniff(data: bytes, path: Path | None = None) -> Sniffed:
    """What ``data`` (the head of a delivered file, or all of it) is; a zip archive's directory,
    at its end, is read from ``path`` when given."""
    compressed = data.startswith(b"\x1f\x8b")
    head = _gunzip_head(data, SNIFF_BYTES) if compressed else data[:SNIFF_BYTES]
    if compressed and head.startswith(b"\x1f\x8b"):
        return Sniffed("not_a_csv", "gzip file inside a gzip file (nested compression)", compressed=True)
    if compressed and not head:
        return Sniffed("not_a_csv", "gzip stream that does not decompress (corrupt)", compressed=True)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        whole = path if path is not None and not compressed else data if not compressed else gunzip(data, Limits())
        kind, what, members = _zip_kind(whole)
        return Sniffed(kind, what, compressed=compressed, members=members)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return Sniffed("not_a_csv", what, compressed=compressed)
    text_kind = _text_kind(head)
    if text_kind:
        return Sniffed("not_a_csv", text_kind, compressed=compressed)
    if b"\x00" in head[:4096]:
        return Sniffed("not_a_csv", "binary file (NUL bytes)", compressed=compressed)
    encoding = guess_encoding(head)
    text = head.decode(encoding, errors="replace")
    first = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    separator = guess_separator(first)
    return Sniffed("csv", compressed=compressed, encoding=encoding, separator=separator,
                   header=split_header(first, separator))
