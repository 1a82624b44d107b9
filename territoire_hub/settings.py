"""Hub settings: one object, read from the environment with documented defaults.

Every other module receives a ``Settings`` (or a value taken from it); nothing else
reads ``os.environ``.

| variable              | default                   | meaning                                   |
|-----------------------|---------------------------|-------------------------------------------|
| HUB_HOME              | current directory         | root for the relative paths below         |
| HUB_DATA_DIR          | data                      | inbox, landing store, scratch files       |
| HUB_WAREHOUSE         | warehouse/hub.duckdb      | the DuckDB warehouse (raw + landing)      |
| HUB_INBOX             | <data>/inbox              | drop zone, one folder per partner         |
| HUB_LANDING           | <data>/landing            | content-addressed store of deliveries     |
| HUB_REGISTRY          | (packaged sources/registry)| folder of the territory and partner YAML files |
| HUB_FORMATS           | unset                     | folders of extra file formats (":"-separated), searched before the packaged territoire_hub/formats |
| HUB_HTTP_TIMEOUT      | 30                        | seconds, connect and read                 |
| HUB_HTTP_RETRIES      | 3                         | retries on 5xx / connection errors        |
| HUB_HTTP_BACKOFF      | 0.5                       | backoff factor (s) between retries        |
| HUB_PARTNER_TOKEN_<ID>| unset                     | bearer token for partner <ID> (HTTP)      |
| HUB_URL_<NAME>        | unset                     | base URLs used by the registry's ${...}   |
| HUB_PORTAL_DIR        | <data>/portal             | local CKAN portal: database, config, logs |
| HUB_PORTAL_VENV       | <data>/portal/venv        | CKAN 2.12's own virtualenv                |
| HUB_PORTAL_PORT       | 5055                      | portal web server (127.0.0.1)             |
| HUB_PORTAL_PG_PORT    | 55432                     | the portal's private PostgreSQL           |
| HUB_PORTAL_REDIS_PORT | 56379                     | the portal's private Redis                |
| HUB_PORTAL_DB         | ckan_default              | the portal's CKAN database                |
| HUB_PORTAL_DATASTORE_DB | datastore_default       | the portal's DataStore database           |
| HUB_CKAN_URL          | (the local portal)        | CKAN 2.10+ portal to publish to           |
| HUB_CKAN_TOKEN        | (the local portal's)      | API token of the publishing account       |
| HUB_SHARED_WAREHOUSE  | warehouse/shared.duckdb   | analysts' snapshot (marts, COG, views)    |
| HUB_EXPORTS           | <data>/exports            | partner exports (hub partner export)      |
| HUB_CACHE_DIR         | ~/.cache/territoire-hub   | dbt's parse state, shared by the hub homes of the account |
| HUB_MAX_DELIVERY_BYTES | 2147483648 (2 GiB)       | a delivered file larger than this is refused (too_large) |
| HUB_MAX_EXPANDED_BYTES | 2147483648 (2 GiB)       | a compressed file expanding past this is refused (too_large) |
| HUB_MAX_EXPANSION_RATIO | 100                     | a gzip expanding more than this × its size (past 16 MiB) is a bomb |
| HUB_MAX_COLUMNS       | 500                       | a header with more columns is refused (too_many_columns) |
| HUB_MAX_FIELD_BYTES   | 65536 (64 KiB)            | a value longer than this in a column of the format is refused (field_too_large) |
| HUB_MAX_LINE_BYTES    | 1048576 (1 MiB)           | a physical line longer than this is refused (line_too_long) |
| HUB_INGEST_MEMORY     | 167772160 (160 MiB)       | DuckDB's memory during an ingestion (it spills to disk beyond) |
| HUB_BUILD_MEMORY      | 80 % of the machine's RAM | DuckDB's memory during dbt's build and a partner export (it spills to disk beyond where it can) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from territoire_hub.registry import Registry, load_registry

PACKAGE_SOURCES = Path(__file__).resolve().parent.parent / "sources"


@dataclass(frozen=True)
class Limits:
    """What a delivery may cost the hub: beyond these, it is refused with a reason naming the limit
    and the setting that raises it (never read into memory first)."""

    max_delivery_bytes: int = 2 << 30
    max_expanded_bytes: int = 2 << 30
    max_expansion_ratio: int = 100
    max_columns: int = 500
    max_field_bytes: int = 64 << 10
    max_line_bytes: int = 1 << 20
    ingest_memory: int = 160 << 20
    # DuckDB's own default. 1 GiB is too little for a region-year: the staging views' windows of
    # current rows over a year of traffic counts run out of memory (bench/RESULTS.md)
    build_memory: int = int(0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Limits":
        def number(name: str, default: int) -> int:
            value = env.get(name)
            if not value:
                return default
            try:
                parsed = int(value)
            except ValueError:
                raise ValueError(f"{name}={value!r} is not a whole number") from None
            if parsed <= 0:
                raise ValueError(f"{name}={value!r} must be positive")
            return parsed
        return cls(number("HUB_MAX_DELIVERY_BYTES", cls.max_delivery_bytes),
                   number("HUB_MAX_EXPANDED_BYTES", cls.max_expanded_bytes),
                   number("HUB_MAX_EXPANSION_RATIO", cls.max_expansion_ratio),
                   number("HUB_MAX_COLUMNS", cls.max_columns),
                   number("HUB_MAX_FIELD_BYTES", cls.max_field_bytes),
                   number("HUB_MAX_LINE_BYTES", cls.max_line_bytes),
                   number("HUB_INGEST_MEMORY", cls.ingest_memory),
                   number("HUB_BUILD_MEMORY", cls.build_memory))


def _path(env: Mapping[str, str], name: str, default: Path, home: Path) -> Path:
    value = env.get(name)
    path = Path(value) if value else default
    return path if path.is_absolute() else (home / path)


@dataclass(frozen=True)
class Settings:
    home: Path
    data_dir: Path
    warehouse: Path
    inbox: Path
    landing: Path
    registry_dir: Path
    formats_dirs: tuple[Path, ...] = ()    # a region's own formats, before the packaged ones
    http_timeout: float = 30.0
    http_retries: int = 3
    http_backoff: float = 0.5
    partner_tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    url_vars: Mapping[str, str] = field(default_factory=dict)
    portal_dir: Path | None = None         # the local CKAN portal (hub portal up): data, config, logs
    portal_venv: Path | None = None        # CKAN's own virtualenv (its pins clash with Dagster's)
    portal_port: int = 5055
    portal_pg_port: int = 55432
    portal_redis_port: int = 56379
    portal_db: str = "ckan_default"
    portal_datastore_db: str = "datastore_default"
    portal_workers: int = 4                # web workers: slow anonymous queries must not take them all
    portal_anonymous_query_timeout: float = 5.0   # seconds an anonymous DataStore query may run
    ckan_url: str | None = None            # the portal to publish to (default: the local one)
    ckan_token: str | None = field(default=None, repr=False)
    shared_warehouse: Path | None = None   # the analysts' snapshot, swapped in after each gated build
    exports_dir: Path | None = None        # partner exports
    analysts_group: str | None = None      # the group that may read the analysts' snapshot (none: owner only)
    alert_webhook: str | None = field(default=None, repr=False)   # alerts POSTed there (may hold a token)
    cache_dir: Path | None = None          # what can be rebuilt at any time (dbt's parse state)
    dagster_home: Path | None = None       # the Dagster instance the hub's runs are recorded in
    retention_days: int = 90               # quality results, Data Docs, run reports, outbox, Dagster runs
    limits: Limits = field(default_factory=Limits)   # the size limits of a delivery

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        home = Path(env.get("HUB_HOME") or os.getcwd()).resolve()
        data_dir = _path(env, "HUB_DATA_DIR", Path("data"), home)
        tokens = {
            key.removeprefix("HUB_PARTNER_TOKEN_").lower(): value
            for key, value in env.items()
            if key.startswith("HUB_PARTNER_TOKEN_") and value
        }
        return cls(
            home=home,
            data_dir=data_dir,
            warehouse=_path(env, "HUB_WAREHOUSE", Path("warehouse/hub.duckdb"), home),
            inbox=_path(env, "HUB_INBOX", data_dir / "inbox", home),
            landing=_path(env, "HUB_LANDING", data_dir / "landing", home),
            registry_dir=_path(env, "HUB_REGISTRY", PACKAGE_SOURCES / "registry", home),
            formats_dirs=tuple(_path({"d": d}, "d", Path(d), home)
                               for d in (env.get("HUB_FORMATS") or "").split(os.pathsep) if d),
            http_timeout=float(env.get("HUB_HTTP_TIMEOUT", "30")),
            http_retries=int(env.get("HUB_HTTP_RETRIES", "3")),
            http_backoff=float(env.get("HUB_HTTP_BACKOFF", "0.5")),
            partner_tokens=tokens,
            url_vars={k: v for k, v in env.items() if k.startswith("HUB_URL_")},
            portal_dir=_path(env, "HUB_PORTAL_DIR", data_dir / "portal", home),
            portal_venv=_path(env, "HUB_PORTAL_VENV", data_dir / "portal" / "venv", home),
            portal_port=int(env.get("HUB_PORTAL_PORT", "5055")),
            portal_pg_port=int(env.get("HUB_PORTAL_PG_PORT", "55432")),
            portal_redis_port=int(env.get("HUB_PORTAL_REDIS_PORT", "56379")),
            portal_db=env.get("HUB_PORTAL_DB", "ckan_default"),
            portal_datastore_db=env.get("HUB_PORTAL_DATASTORE_DB", "datastore_default"),
            portal_workers=int(env.get("HUB_PORTAL_WORKERS", "4")),
            portal_anonymous_query_timeout=float(env.get("HUB_PORTAL_ANONYMOUS_QUERY_TIMEOUT", "5")),
            ckan_url=env.get("HUB_CKAN_URL") or None,
            ckan_token=env.get("HUB_CKAN_TOKEN") or None,
            shared_warehouse=_path(env, "HUB_SHARED_WAREHOUSE", Path("warehouse/shared.duckdb"), home),
            exports_dir=_path(env, "HUB_EXPORTS", data_dir / "exports", home),
            analysts_group=env.get("HUB_ANALYSTS_GROUP") or None,
            alert_webhook=env.get("HUB_ALERT_WEBHOOK") or None,
            cache_dir=_path(env, "HUB_CACHE_DIR", Path.home() / ".cache" / "territoire-hub", home),
            dagster_home=_path(env, "DAGSTER_HOME", data_dir / "dagster", home),
            retention_days=int(env.get("HUB_RETENTION_DAYS", "90")),
            limits=Limits.from_env(env),
        )

    @property
    def scratch(self) -> Path:
        """Folder for temporary decoded files; safe to delete between runs."""
        return self.data_dir / "scratch"

    def load_registry(self) -> Registry:
        """The registry of HUB_REGISTRY, with the formats of HUB_FORMATS and the packaged ones."""
        return load_registry(self.registry_dir, self.formats_dirs)

    def token_for(self, partner_id: str) -> str | None:
        return self.partner_tokens.get(partner_id.replace("-", "_").lower())
