"""Dagster resources: small, configured from the environment in this one place."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import dagster as dg
import duckdb

from territoire_hub.settings import Settings
from territoire_hub.registry import Registry
from territoire_hub.warehouse import connect


class HubResource(dg.ConfigurableResource):
    """The hub's settings and warehouse. Empty fields fall back to ``Settings.from_env()``."""

    warehouse: str | None = None
    home: str | None = None

    def settings(self) -> Settings:
        env = {}
        if self.home:
            env["HUB_HOME"] = self.home
        if self.warehouse:
            env["HUB_WAREHOUSE"] = self.warehouse
        return Settings.from_env({**_environ(), **env})

    def registry(self) -> Registry:
        return self.settings().load_registry()

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = connect(self.settings().warehouse)
        try:
            yield con
        finally:
            con.close()


def _environ() -> dict[str, str]:
    import os  # the one environment read of the orchestration layer, through Settings

    return dict(os.environ)
