"""The nightly retention job, a real Dagster run: it deletes the finished runs older than the period
(with their event logs) and reports what it pruned."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg

from territoire_hub.orchestration.resources import HubResource
from territoire_hub.orchestration.retention import prune_runs, retention_job
from territoire_hub.orchestration.runs import hub_instance


@dg.op
def a_step():
    return 1


@dg.job
def some_job():
    a_step()


def test_old_runs_are_deleted_with_their_events_and_the_job_reports_its_pruning(settings):
    instance = hub_instance(settings)
    done = [some_job.execute_in_process(instance=instance).run_id for _ in range(2)]
    now = datetime.now(timezone.utc)
    assert prune_runs(instance, now - timedelta(days=1)) == []           # younger than the period: kept
    assert sorted(prune_runs(instance, now + timedelta(minutes=1), dry_run=True)) == sorted(done)
    assert len(instance.get_runs()) == 2                                   # a dry run removes nothing
    assert sorted(prune_runs(instance, now + timedelta(minutes=1))) == sorted(done)
    assert instance.get_runs() == [] and instance.all_logs(done[0]) == []

    result = retention_job.execute_in_process(instance=instance, resources={"hub": HubResource(home=str(settings.home))})
    assert result.success
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata
    assert metadata["runs"].value == 0 and metadata["results"].value == 0   # nothing older than 90 days
