"""The audit log: append-only events, latest first, filtered by action and audience."""

from __future__ import annotations

import pytest

from territoire_hub.publish import audit


def test_events_are_recorded_and_listed_latest_first(warehouse):
    assert audit.events(warehouse) == [] and audit.render([]) == "No audit event recorded yet."
    audit.record(warehouse, "snapshot", "analysts", "warehouse/shared.duckdb", "run-1", {"tables": {"marts.a": 3}})
    audit.record(warehouse, "partner_export", "enedis", "data/exports/enedis.duckdb", "run-1")
    audit.record(warehouse, "publication", "public", "http://portal/dataset/x", "run-2", {"resources_changed": 2})
    found = audit.events(warehouse)
    assert [(e.action, e.audience, e.run_id) for e in found] == [
        ("publication", "public", "run-2"), ("partner_export", "enedis", "run-1"), ("snapshot", "analysts", "run-1")]
    assert found[2].detail == {"tables": {"marts.a": 3}} and found[0].actor
    assert [e.target for e in audit.events(warehouse, audience="enedis")] == ["data/exports/enedis.duckdb"]
    assert [e.action for e in audit.events(warehouse, action="snapshot")] == ["snapshot"]
    lines = audit.render(found).splitlines()
    assert len(lines) == 4 and lines[1].split()[2:5] == ["publication", "public", "run-2"]


def test_an_unknown_action_is_refused(warehouse):
    with pytest.raises(ValueError, match="unknown audit action 'download'"):
        audit.record(warehouse, "download", "analysts", "x", None)
