"""Names that come from outside (drop-zone entries, downloaded files): one form to match them, one
form to show them.

A partner chooses its file names; the hub matches them against the registry's patterns and prints
them in messages, logs and reports. ``matching_form`` makes the match independent of how the name
was typed or transported (Unicode normalisation, an upper-case extension); ``printable`` makes a
name safe to print: no line break or control character can forge a log line, no bidirectional
override can make a name read backwards.
"""

from __future__ import annotations

import re
import unicodedata

# the extensions a delivery can carry, matched whatever their case (".CSV.GZ" is ".csv.gz")
_EXTENSIONS = re.compile(r"(\.(?:csv|txt|tsv|gz|gzip|zip|json|geojson|shp|dbf|xlsx?|ods|pdf|html?|xml|parquet))+$",
                         re.IGNORECASE)

# characters that change how the text around them is displayed: bidi embeddings, overrides and
# isolates, marks, and the invisible separators; shown as their code point
_INVISIBLE = set("\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
                 "\u2060\u2066\u2067\u2068\u2069\ufeff")


# what a spreadsheet executes when a cell starts with it (CSV injection): partner text starting so
# is said at loading and prefixed with ' in every CSV the hub writes
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = "^[=+@\t\r-]"        # the same, as an RE2 pattern (Arrow, DuckDB)


def matching_form(name: str) -> str:
    """The name as the registry's patterns see it: NFC, its extension in lower case."""
    name = unicodedata.normalize("NFC", name)
    return _EXTENSIONS.sub(lambda m: m.group(0).lower(), name)


def printable(name: str) -> str:
    """The name with every control, format or bidi character escaped (``\\n``, ``\\x1b``,
    ``\\u202e``): what is printed is one line that reads as the bytes are ordered."""
    out = []
    for char in name:
        if char == "\\":
            out.append("\\\\")
        elif char in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        elif 0xDC80 <= ord(char) <= 0xDCFF:   # a byte that is not UTF-8 (Python's surrogateescape)
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif char in _INVISIBLE or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)
