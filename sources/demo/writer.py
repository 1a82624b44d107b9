"""CSV text built column-wise with numpy string arrays, then written in a partner's physical form.

Every cell is formatted as a whole column (``fixed``, ``integer``, ``quoted``…) and rows are
joined element-wise: no Python loop ever runs per row. ``write_csv`` applies the physical
quirks (separator, BOM, Windows-1252, gzip with a fixed header so output is byte-stable).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Sequence

import numpy as np
from numpy.dtypes import StringDType

STR = StringDType()


def strings(values) -> np.ndarray:
    """Any array-like as a numpy variable-width string array."""
    return np.asarray(values).astype(STR)


def fixed(values, decimals: int, *, comma: bool = False, missing=None) -> np.ndarray:
    """Numbers with exactly ``decimals`` decimals (``12.0``, ``-3.5``), never ``-0.0`` nor ``1e-05``.

    ``missing`` (bool mask) gives empty cells; ``comma`` writes the French decimal comma.
    """
    values = np.asarray(values, dtype=np.float64)
    scaled = np.rint(np.nan_to_num(values) * 10**decimals).astype(np.int64)
    sign = np.where(scaled < 0, "-", "").astype(STR)
    scaled = np.abs(scaled)
    out = np.strings.add(sign, (scaled // 10**decimals).astype(STR))
    if decimals:
        frac = np.strings.zfill((scaled % 10**decimals).astype(STR), decimals)
        out = np.strings.add(np.strings.add(out, "," if comma else "."), frac)
    return blank(out, missing if missing is not None else np.isnan(values))


def integer(values, *, missing=None) -> np.ndarray:
    """Whole numbers (rounded); ``missing`` mask gives empty cells."""
    values = np.asarray(values)
    nan = np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, bool)
    out = np.rint(np.nan_to_num(values.astype(np.float64))).astype(np.int64).astype(STR)
    return blank(out, nan if missing is None else (missing | nan))


def shortest(values, *, missing=None) -> np.ndarray:
    """Floats as Python/pandas would print them (``154.0``, ``0.0613259170355113``, ``2.9e-13``)."""
    values = np.asarray(values, dtype=np.float64)
    return blank(values.astype(STR), missing if missing is not None else np.isnan(values))


def blank(cells: np.ndarray, mask) -> np.ndarray:
    """``cells`` with empty strings where ``mask`` is true."""
    if mask is None or not np.any(mask):
        return cells
    return np.where(mask, "", cells).astype(STR)


def quoted(cells) -> np.ndarray:
    """Every cell in double quotes, inner quotes doubled (RFC 4180)."""
    cells = strings(cells)
    return np.strings.add(np.strings.add('"', np.strings.replace(cells, '"', '""')), '"')


def quote_needed(cells, separator: str) -> np.ndarray:
    """Quote only the cells that contain the separator, a quote or a line break."""
    cells = strings(cells)
    need = (np.strings.find(cells, separator) >= 0) | (np.strings.find(cells, '"') >= 0)
    need |= np.strings.find(cells, "\n") >= 0
    return np.where(need, quoted(cells), cells).astype(STR) if need.any() else cells


def pick(choices: Sequence[str], index: np.ndarray) -> np.ndarray:
    """``choices[index]`` as a string array (labels drawn by integer codes)."""
    return np.asarray(list(choices), dtype=object)[index].astype(STR)


def join_rows(columns: Sequence, separator: str) -> np.ndarray:
    """One string per row: the columns (arrays or constant strings) joined by ``separator``.

    Runs of constant cells are merged first, so a 204-column file with 190 empty columns
    costs a handful of array operations.
    """
    merged: list = []
    for column in columns:
        if isinstance(column, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + separator + column
        else:
            merged.append(column if isinstance(column, str) else strings(column))
    row = merged[0]
    for part in merged[1:]:
        if isinstance(part, str):
            row = np.strings.add(row, separator + part)
        elif isinstance(row, str):
            row = np.strings.add(row + separator, part)
        else:
            row = np.strings.add(np.strings.add(row, separator), part)
    return row


def render(header: Sequence[str], rows: np.ndarray, separator: str) -> str:
    """Header line, one line per row, final newline (LF)."""
    lines = [separator.join(header)]
    lines.extend(np.asarray(rows).tolist())
    return "\n".join(lines) + "\n"


def write_csv(
    path: Path,
    text: str,
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    compress: bool = False,
) -> Path:
    """Write ``text`` as the partner would: ``encoding``, optional UTF-8 BOM, optional gzip.

    gzip is written with mtime 0 and no file name, so the bytes depend on the content only.
    """
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    if compress:
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=6, mtime=0) as gz:
            gz.write(data)
        data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
