"""The hub's Dagster instance (orchestration/instance.py): Dagster's SQLite storage whose engines and
connections are kept for the process — same files, readable by a plain Dagster instance."""

from __future__ import annotations

import os
import shutil

import dagster as dg
import pytest
from sqlalchemy import event

from territoire_hub.orchestration.instance import HubInstance, KeptEngineEventLogStorage, KeptEngines
from territoire_hub.orchestration.runs import hub_instance

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dg.asset
def counted() -> int:
    return 1


@dg.asset
def doubled(counted: int) -> int:
    return counted * 2


JOB = dg.Definitions(assets=[counted, doubled], jobs=[dg.define_asset_job("both")]).resolve_job_def("both")


def opened_connections(engine) -> list[object]:
    """Every DBAPI connection ``engine`` opens from now on."""
    opened: list[object] = []
    event.listen(engine, "connect", lambda dbapi_connection, record: opened.append(dbapi_connection))
    return opened


def test_the_hubs_instance_keeps_its_connections_and_plain_dagster_reads_its_runs(settings):
    instance = hub_instance(settings)
    assert isinstance(instance, HubInstance)
    storage = instance.event_log_storage
    assert isinstance(storage, KeptEngineEventLogStorage)

    first = JOB.execute_in_process(instance=instance, run_config=QUIET)
    assert first.success
    index = storage.kept.get(storage.conn_string_for_shard("index"))
    opened = opened_connections(index)
    second = JOB.execute_in_process(instance=instance, run_config=QUIET)
    assert second.success
    # the index took every materialisation of the second run without opening its file again
    assert opened == []
    assert instance.get_latest_materialization_event(dg.AssetKey("doubled")).run_id == second.run_id

    # same files, same layout: Dagster's own instance over the same directory reads both runs
    plain_dir = settings.dagster_home.parent / "plain"
    shutil.copytree(settings.dagster_home, plain_dir)
    (plain_dir / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    plain = dg.DagsterInstance.from_config(str(plain_dir))
    assert type(plain) is dg.DagsterInstance
    assert {r.run_id for r in plain.get_runs()} == {first.run_id, second.run_id}
    materialized = plain.get_latest_materialization_event(dg.AssetKey("doubled"))
    assert materialized.run_id == second.run_id
    assert len(plain.all_logs(second.run_id)) == len(instance.all_logs(second.run_id)) > 10


def test_a_wiped_instance_records_runs_again(settings):
    instance = hub_instance(settings)
    assert JOB.execute_in_process(instance=instance, run_config=QUIET).success
    instance.wipe()  # deletes the run shards the kept engines pointed at
    again = JOB.execute_in_process(instance=instance, run_config=QUIET)
    assert again.success and [r.run_id for r in instance.get_runs()] == [again.run_id]
    assert len(instance.all_logs(again.run_id)) > 10


def test_only_the_most_recently_used_engines_are_kept(tmp_path):
    kept = KeptEngines(2)
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("a", "b", "c")]
    a, b = kept.get(urls[0]), kept.get(urls[1])
    assert kept.get(urls[0]) is a  # a used again: b is now the least recent
    kept.get(urls[2])
    assert len(kept) == 2 and kept.get(urls[0]) is a and kept.get(urls[1]) is not b
    kept.dispose()
    assert len(kept) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_opens_its_own_connections(settings):
    instance = hub_instance(settings)
    assert JOB.execute_in_process(instance=instance, run_config=QUIET).success
    storage = instance.event_log_storage
    index = storage.kept.get(storage.conn_string_for_shard("index"))
    inherited = index.pool.checkedin()
    assert inherited >= 1  # the parent keeps an idle connection to the index
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its engines start with no connection, then open their own
        try:
            fresh = index.pool.checkedin() == 0
            runs = len(instance.get_runs())
            os.write(write, f"{fresh} {runs}".encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 100).decode() == "True 1"
    # the parent's connection survived the child's exit and still serves
    assert JOB.execute_in_process(instance=instance, run_config=QUIET).success
    assert len(instance.get_runs()) == 2



def test_commits_wait_for_the_write_ahead_log_only(settings):
    """WAL with synchronous = NORMAL on every database the instance opens (SQLite's advice for WAL:
    a crash of the process loses nothing; a commit does not wait for the disk)."""
    instance = hub_instance(settings)
    assert JOB.execute_in_process(instance=instance, run_config=QUIET).success
    storage = instance.event_log_storage
    engines = [storage.kept.get(storage.conn_string_for_shard("index")), instance.run_storage._kept_engine]
    for engine in engines:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1      # NORMAL (FULL is 2)
