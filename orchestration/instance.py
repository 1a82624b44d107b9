"""The hub's Dagster instance: Dagster's SQLite storage, each database's engine kept for the process.

Dagster's SQLite storages create a SQLAlchemy engine, and dispose of it, at every connection —
several connections a stored event, each paying the engine's creation and its dialect's
first-connect queries. A build of one more day stores ~600 events in runs launched in process,
so that overhead alone is seconds of a build the hub wants short (issue 22).

``HubInstance`` is Dagster's default instance with one change: its default storage,
``HubSqliteStorage``, keeps one engine per SQLite database (runs, schedules, the event log's index
and its run shards — the least recently used shards' engines disposed beyond ``KEPT_SHARDS``), and
each engine keeps its connections open between uses (SQLAlchemy's pool for SQLite files) instead
of opening the file again each time. Same files, same layout, same transactions: the databases are
in WAL mode, where an idle connection holds no lock, so other processes (``dagster dev``, the
daemon) read and write them as before. A process forked while connections are pooled drops its
copies (``os.register_at_fork``: a SQLite connection must not cross a fork). Commits do not wait for the disk
(``synchronous = NORMAL``, as SQLite advises in WAL mode). A storage configured
in ``dagster.yaml`` (PostgreSQL...) replaces all this as usual. The hub's ``dagster.yaml`` names
the class (``instance_class``).

Dagster does not export its SQLite storages' building blocks: the imports below from
``dagster._core`` are tied to the pinned Dagster (1.13); ``tests/orchestration/test_instance.py``
checks that the hub's instance stores and reads runs through them.
"""

from __future__ import annotations

import os
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef, _event_logs_directory, _runs_directory, _schedule_directory
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

KEPT_SHARDS = 16  # run shards whose engines are kept at once (a process writes one run at a time)
SQLITE_BUSY_TIMEOUT_SECONDS = 120  # how long Dagster's event log waits for another writer's lock


_POOLED: weakref.WeakSet[Engine] = weakref.WeakSet()  # every kept engine of this process


def kept_engine(conn_string: str, **kwargs) -> Engine:
    engine = create_engine(conn_string, **kwargs)
    event.listen(engine, "connect", _relaxed_sync)
    _POOLED.add(engine)
    return engine


def _relaxed_sync(dbapi_connection, _record) -> None:
    """WAL's advised setting: a commit no longer waits for the disk (the log is synced at
    checkpoints); a crash of the process loses nothing, a power cut at most the last events.
    A stored event costs ~20 % less (0.92 → 0.72 s for a 30-asset run's 215 events)."""
    dbapi_connection.execute("PRAGMA synchronous = NORMAL")


def _forget_pooled_connections() -> None:
    """In a forked child: new connections for the engines, the parent's left to the parent."""
    for engine in list(_POOLED):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_pooled_connections)


class KeptEngines:
    """One engine per SQLite database, created on first use; beyond ``keep``, the least recently used go."""

    def __init__(self, keep: int):
        self._keep = keep
        self._engines: OrderedDict[str, Engine] = OrderedDict()

    def get(self, conn_string: str) -> Engine:
        engine = self._engines.get(conn_string)
        if engine is not None:
            self._engines.move_to_end(conn_string)
            return engine
        engine = self._engines[conn_string] = kept_engine(
            conn_string, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        while len(self._engines) > self._keep:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def __len__(self) -> int:
        return len(self._engines)

    def dispose(self) -> None:
        while self._engines:
            self._engines.popitem()[1].dispose()


class KeptEngineEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, an engine kept per shard instead of one per connection."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self.kept = KeptEngines(KEPT_SHARDS + 1)  # + the index shard
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # Dagster's hook, same config as its own
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self.kept.get(self.conn_string_for_shard(shard))
            if shard not in self._initialized_dbs:  # emptied by wipe(): the file may be new
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def wipe(self) -> None:
        with self._db_lock:
            self.kept.dispose()
        super().wipe()

    def dispose(self) -> None:
        self.kept.dispose()
        super().dispose()


class KeptEngineConnect:
    """``connect()`` of Dagster's single-database SQLite storages (runs, schedules), its engine kept."""

    _conn_string: str
    _kept_engine: Engine | None = None

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        if self._kept_engine is None:
            self._kept_engine = kept_engine(self._conn_string)
        with self._kept_engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        if self._kept_engine is not None:
            self._kept_engine.dispose()
            self._kept_engine = None
        super().dispose()  # type: ignore[misc]  # the storage's own


class KeptEngineRunStorage(KeptEngineConnect, SqliteRunStorage):
    """Dagster's SQLite run storage, its engine kept."""


class KeptEngineScheduleStorage(KeptEngineConnect, SqliteScheduleStorage):
    """Dagster's SQLite schedule storage, its engine kept."""


class HubSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage (same files, same layout) on the kept-engine storages."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # DagsterSqliteStorage.__init__ with the kept-engine storages (its own would open them twice)
        self.base_dir = base_dir
        self._run_storage = KeptEngineRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = KeptEngineEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = KeptEngineScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        DagsterStorage.__init__(self)

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # Dagster's hook, same config as its own
        return cls.from_local(inst_data=inst_data, **config_value)


class HubInstance(dg.DagsterInstance):
    """Dagster's default instance, its default storage ``HubSqliteStorage``."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        defaults = dict(InstanceRef.config_defaults(base_dir))
        defaults["storage"] = ConfigurableClassData(
            __name__, HubSqliteStorage.__name__, yaml.dump({"base_dir": base_dir}, default_flow_style=False))
        return defaults
