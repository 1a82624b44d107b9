"""From delivered bytes to clean UTF-8 CSV text: compression, encoding, separator, header.

The file is read a piece at a time (never whole into memory): decompressed within the limits,
decoded, written back as UTF-8 into a scratch folder, with the line on which each record starts.

Each check fails with a specific Problem (naming the line where it applies) instead of
letting a parser guess: a wrong encoding or separator must be refused, not half-read.
"""

from __future__ import annotations

import codecs
import collections
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charset_normalizer import from_bytes

from territoire_hub.formats import FormatSpec, header_name
from territoire_hub.names import printable
from territoire_hub.problems import DeliveryRejected, Problem
from territoire_hub.settings import Limits
from territoire_hub.sources.compression import GZIP_MAGIC, file_pieces, inflate, mib
from territoire_hub.sources.detection import closest_format, compare
from territoire_hub.sources.sniffing import Sniffed, split_header

BOM = "\ufeff"


@dataclass(frozen=True)
class DecodedFile:
    path: Path             # the text in UTF-8, no BOM, line breaks as delivered (LF, CRLF or CR)
    lines: Path            # int64 array: the physical line on which each record starts, header included
    records: int           # records, header included
    cuts: list[int]        # byte offsets where parts of the text start (after the first): whole records each
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


PIECE = 4 << 20         # delivered bytes read at a time
PART_BYTES = 8 << 20    # the decoded text is parsed in parts of about this size


class RecordLines:
    """Where each record starts, found a piece of UTF-8 text at a time: the physical line (1 =
    first) on which each non-empty record starts, header included, written as int64 to ``out``.

    A line break (LF, CRLF or lone CR) inside a quoted value continues the record; empty lines are
    skipped, as the CSV reader skips them. A physical line longer than ``max_line_bytes`` refuses
    the file (``line_too_long``) before any parser holds it.
    """

    def __init__(self, out, max_line_bytes: int, part_bytes: int = PART_BYTES):
        self.out = out
        self.max_line_bytes = max_line_bytes
        self.part_bytes = part_bytes
        self.cuts: list[int] = []  # byte offsets of the records that start each part after the first
        self.offset = 0            # bytes fed so far
        self.line = 1              # physical line at the start of the next piece
        self.inside = 0            # quote parity carried over pieces
        self.after_break = True    # the previous byte ended a record (or nothing came yet)
        self.pending_cr = False    # the previous piece ended on a CR: a line break unless an LF follows
        self.line_bytes = 0        # bytes of the current physical line so far
        self.records = 0

    def feed(self, piece: bytes) -> None:
        data = np.frombuffer(piece, dtype=np.uint8)
        n = len(data)
        if not n:
            return
        if self.pending_cr and data[0] != 10:
            self.line += 1
            self.line_bytes = 0
        # positions only (a record is ~100 bytes): no array of the piece's size beyond the compares
        lf = np.flatnonzero(data == 10)
        if b"\r" in piece:
            cr = np.flatnonzero(data == 13)
            after = cr + 1
            lone = cr[(after < n) & (data[np.minimum(after, n - 1)] != 10)]   # the CR of a CRLF: its LF breaks
            breaks = np.union1d(lf, lone)
            any_break = np.union1d(lf, cr)
            self.pending_cr = bool(data[-1] == 13)                          # a final CR waits for the next piece
        else:
            breaks = any_break = lf
            self.pending_cr = False
        self._check_lengths(breaks, n)
        if b'"' in piece:       # record-ending bytes: CR and LF outside quotes (even count of quotes before)
            quotes = np.flatnonzero(data == 34)
            ends = any_break[((np.searchsorted(quotes, any_break) + self.inside) & 1) == 0]
            self.inside = (len(quotes) + self.inside) & 1
        else:                   # no quote: the parity carried over holds throughout
            ends = any_break if not self.inside else any_break[:0]
        # a record starts on a byte that ends nothing, right after one that ends a record
        follows = ends + 1
        alone = np.ones(len(ends), dtype=bool)
        alone[:-1] = ends[1:] != follows[:-1]
        starts = follows[alone & (follows < n)]
        if self.after_break and not (len(ends) and ends[0] == 0):
            starts = np.concatenate([[0], starts])
        self.after_break = bool(len(ends) and ends[-1] == n - 1)
        self.out.write((self.line + np.searchsorted(breaks, starts)).astype(np.int64).tobytes())
        self.records += len(starts)
        self.line += len(breaks)
        due = (self.cuts[-1] if self.cuts else 0) + self.part_bytes    # parts of about part_bytes,
        later = starts[self.offset + starts >= due]                      # cut where a record starts
        if len(later):
            self.cuts.append(int(self.offset + later[0]))
        self.offset += n

    def _check_lengths(self, breaks: np.ndarray, size: int) -> None:
        bounds = np.concatenate([[-1], breaks, [size]])
        lengths = np.diff(bounds) - 1
        lengths[0] += self.line_bytes
        longest = int(lengths.max())
        if longest > self.max_line_bytes:
            line = self.line + int(np.argmax(lengths > self.max_line_bytes))
            raise DeliveryRejected([Problem(
                "line_too_long", f"line {line:,} is longer than {mib(self.max_line_bytes)} (limit "
                "HUB_MAX_LINE_BYTES): the file is refused before it is parsed", line=line)])
        self.line_bytes = int(lengths[-1])


@dataclass
class _Stream:
    """What one pass over the delivered bytes learnt."""

    encoding: str
    header_line: str = ""
    header_done: bool = False
    content: bool = False          # a byte other than whitespace
    raw_lines: int = 0             # LFs in the delivered bytes read so far
    first_non_ascii: int | None = None   # its line
    valid_utf8: bool = True


def _pieces(path: Path, allowed: list[str], limits: Limits) -> tuple[Iterator[bytes], bool]:
    """The delivered bytes, decompressed within ``limits`` when gzip."""
    with open(path, "rb") as stream:
        compressed = stream.read(len(GZIP_MAGIC)) == GZIP_MAGIC
    if not compressed:
        return file_pieces(path, PIECE), False
    if "gzip" not in allowed:
        raise DeliveryRejected([Problem("unexpected_compression", "file is gzip-compressed; this dataset is delivered uncompressed")])
    return inflate(file_pieces(path), path.stat().st_size, limits), True


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


UTF8 = ("utf-8", "utf-8-sig")      # codecs' names: the text is the delivered bytes (BOM aside)
SINGLE_BYTE = ("cp1252", "windows-1252", "latin-1", "latin1", "iso-8859-1", "iso-8859-15")


class _OtherEncoding(Exception):
    """The bytes are not valid in this encoding (the next declared one may read them)."""

    def __init__(self, line: int, byte: int, head: bytes):
        self.line, self.byte, self.head = line, byte, head


def _decode_as(path: Path, encoding: str, allowed: list[str], limits: Limits, text_out, lines_out) -> tuple[_Stream, RecordLines, bool]:
    """One streaming pass: decode ``encoding`` into UTF-8 (``text_out``, BOM removed, line breaks
    as delivered), recording where records start (``lines_out``)."""
    pieces, compressed = _pieces(path, allowed, limits)
    state = _Stream(encoding)
    decoder = codecs.getincrementaldecoder(encoding)()
    utf8 = codecs.getincrementaldecoder("utf-8")() if encoding.lower() in SINGLE_BYTE else None
    same_bytes = codecs.lookup(encoding).name in UTF8
    records = RecordLines(lines_out, limits.max_line_bytes, PART_BYTES)
    head, started, held = b"", False, b""
    for piece in itertools.chain(pieces, [None]):
        final = piece is None
        piece = piece or b""
        if len(head) < 4096:
            head += piece[:4096]
            if compressed and head.startswith(GZIP_MAGIC):
                raise DeliveryRejected([Problem("not_a_csv", "not a CSV file: gzip file inside a gzip file (nested compression)")])
        state.content = state.content or bool(piece.strip())
        # past the BOM and the header, UTF-8 text is written as delivered: decoding only checks it
        # (an ASCII piece between whole characters needs not even that)
        as_delivered = same_bytes and started and state.header_done
        try:
            if not as_delivered or decoder.getstate()[0] or not piece.isascii() or final:
                text = decoder.decode(piece, final)
        except UnicodeDecodeError as exc:
            raise _OtherEncoding(state.raw_lines + _line_of(exc.object, exc.start), exc.object[exc.start], head) from None
        if utf8 is not None:
            _watch_utf8(state, utf8, piece, final)
        state.raw_lines += piece.count(b"\n")
        if as_delivered:
            encoded, held = held + piece, b""
        else:
            held = decoder.getstate()[0] if same_bytes else b""   # a character's first bytes, not written yet
            if text and not started:
                text, started = text.removeprefix(BOM), True
            if not state.header_done:
                state.header_line += re.split(r"\r\n|\r|\n", text, maxsplit=1)[0] if text else ""
                state.header_done = bool(re.search(r"[\r\n]", text)) or final
            encoded = text.encode("utf-8")
        try:
            records.feed(encoded)
        except DeliveryRejected:
            if compressed:      # a bomb is refused as one (its caps judged on the rest), not as a long line
                collections.deque(pieces, maxlen=0)
            raise
        text_out.write(encoded)
    records.feed(b"\n" if records.pending_cr else b"")    # a final CR ends the last line
    return state, records, compressed


def _watch_utf8(state: _Stream, utf8, piece: bytes, final: bool) -> None:
    """A single-byte encoding decodes anything: note whether the bytes are UTF-8 with accents."""
    if state.first_non_ascii is None and not piece.isascii():
        offset = int(np.argmax(np.frombuffer(piece, dtype=np.uint8) >= 0x80))
        state.first_non_ascii = state.raw_lines + _line_of(piece, offset)
    if state.valid_utf8:
        try:
            utf8.decode(piece, final)
        except UnicodeDecodeError:
            state.valid_utf8 = False


def _utf8_in_disguise(state: _Stream) -> None:
    """A file declared single-byte whose accents are valid UTF-8 would become mojibake ("Ã©")
    instead of failing: refuse it."""
    if state.encoding.lower() not in SINGLE_BYTE or state.first_non_ascii is None or not state.valid_utf8:
        return
    line = state.first_non_ascii
    raise DeliveryRejected([Problem(
        "wrong_encoding",
        f"file is UTF-8 (accents from line {line} on are UTF-8 sequences) but the dataset is declared "
        f"{state.encoding}; reading it as {state.encoding} would garble the accents",
        line=line,
    )])


def _wrong_encoding(error: _OtherEncoding, encodings: list[str]) -> DeliveryRejected:
    guess = from_bytes(error.head).best() if error.head else None
    hint = f"; the bytes look like {guess.encoding}" if guess is not None else ""
    return DeliveryRejected([Problem(
        "wrong_encoding",
        f"byte 0x{error.byte:02x} at line {error.line} is not valid {'/'.join(encodings)}{hint}; "
        f"expected encoding {encodings[0]}",
        line=error.line,
    )])


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


def decode_delivery(path: Path, work: Path, *, spec: FormatSpec, encodings: list[str], separators: list[str],
                    formats: dict[str, FormatSpec] | None = None, limits: Limits = Limits()) -> DecodedFile:
    """Decompress (within ``limits``), decode and check the header of a delivered CSV file, one
    piece at a time: the UTF-8 text and the records' lines are written into folder ``work``."""
    first_error: _OtherEncoding | None = None
    for encoding in encodings:
        text_path, lines_path = work / "text.csv", work / "records.int64"
        with open(text_path, "wb") as text_out, open(lines_path, "wb") as lines_out:
            try:
                state, records, compressed = _decode_as(path, encoding, list(spec.compression), limits, text_out, lines_out)
                break
            except _OtherEncoding as error:
                first_error = first_error or error
    else:
        assert first_error is not None
        raise _wrong_encoding(first_error, encodings)
    if not state.content:
        raise DeliveryRejected([Problem("empty_file", "file is empty (no header, no rows)")])
    _utf8_in_disguise(state)
    header_line = state.header_line
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
    if records.records < 2:
        raise DeliveryRejected([Problem("no_rows", "file has a header but no data rows", line=1)])
    return DecodedFile(text_path, lines_path, records.records, records.cuts, state.encoding, separator, header, compressed)
