"""DuckDB extensions, loaded offline from the ``duckdb-ext-<name>`` packages installed with the hub.

The hub never downloads an extension at run time: the wheels ship the binaries for the pinned
DuckDB version under ``duckdb_ext/extensions``; a connection points ``extension_directory`` at
that folder and loads from there (dbt-duckdb does the same through its profile's settings).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import duckdb_ext   # the namespace package of the duckdb-ext-* wheels


class ExtensionMissing(RuntimeError):
    """The package of a DuckDB extension is not installed."""


def extension_directory() -> Path:
    """The folder holding the packaged extension binaries."""
    return Path(next(iter(duckdb_ext.__path__))) / "extensions"


def load(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load extension ``name`` from the packaged binaries (never from the network)."""
    directory = extension_directory()
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute(f"SET extension_directory = '{directory.as_posix()}'")
    try:
        con.execute(f"LOAD {name}")
    except duckdb.Error as exc:
        raise ExtensionMissing(f"DuckDB extension {name!r} is not in {directory} "
                               f"(pip install duckdb-ext-{name}): {exc}") from None
