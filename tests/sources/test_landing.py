"""Immutable landing: content-addressed, idempotent, and corrections supersede without deleting."""

from __future__ import annotations

import os
import stat

from territoire_hub.orchestration.ingestion import ingest_dataset
from tests.conftest import drop
from tests.sources.test_loading import TRAFFIC, traffic_file, traffic_rows


def deliveries(con):
    return con.execute(
        "SELECT filename, period, status, superseded_by, rows_loaded, sha256, stored_path FROM landing.deliveries ORDER BY sequence"
    ).fetchall()


def test_same_bytes_twice_is_a_no_op(settings, registry, warehouse):
    entry = registry.dataset(TRAFFIC)
    content = traffic_file("2024-06-12")
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612.csv", content)
    first = ingest_dataset(warehouse, settings, entry)
    raw_before = warehouse.execute(f'SELECT * FROM raw."{TRAFFIC}" ORDER BY _source_line').fetchall()
    # the partner sends the very same file again, even under another name
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612_bis.csv", content)
    second = ingest_dataset(warehouse, settings, entry)
    assert (first.landed, first.loaded, second.landed, second.already_landed, second.loaded) == (1, 1, 0, 1, 0)
    assert len(deliveries(warehouse)) == 1
    assert warehouse.execute(f'SELECT * FROM raw."{TRAFFIC}" ORDER BY _source_line').fetchall() == raw_before
    # the drop zone is emptied once the bytes are safe in the landing store
    assert list((settings.inbox / "montpellier-metropole").iterdir()) == []


def test_landed_file_is_stored_by_checksum_read_only(settings, registry, warehouse):
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612.csv", traffic_file("2024-06-12"))
    ingest_dataset(warehouse, settings, registry.dataset(TRAFFIC))
    (_, period, status, _, rows, sha, stored), = deliveries(warehouse)
    assert (period, status, rows) == ("20240612", "loaded", 24)
    assert stored.endswith(f"{sha[:2]}/{sha}")
    assert not os.stat(stored).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    meta = warehouse.execute(
        "SELECT partner_id, dataset_id, origin, licence, sensitivity, received_at IS NOT NULL FROM landing.deliveries").fetchone()
    assert meta[:2] == ("montpellier-metropole", "comptages_routiers")
    assert meta[2].startswith("inbox:") and meta[2].endswith("comptages_routiers_20240612.csv")
    assert meta[3:] == ("odbl", "open", True)


def test_corrected_delivery_supersedes_the_previous_one_without_deleting_it(settings, registry, warehouse):
    entry = registry.dataset(TRAFFIC)
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612.csv", traffic_file("2024-06-12"))
    ingest_dataset(warehouse, settings, entry)
    rows = traffic_rows("2024-06-12")
    rows[3] = rows[3].replace(";12,5;", ";80,0;")
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612_rectificatif.csv", traffic_file("2024-06-12", rows))
    ingest_dataset(warehouse, settings, entry)
    (orig, p1, s1, sup1, _, _, path1), (corr, p2, s2, sup2, _, _, path2) = deliveries(warehouse)
    new_id = warehouse.execute("SELECT delivery_id FROM landing.deliveries WHERE filename = ?", [corr]).fetchone()[0]
    assert (p1, s1, sup1) == ("20240612", "loaded", new_id)
    assert (p2, s2, sup2) == ("20240612", "loaded", None)
    assert os.path.exists(path1) and os.path.exists(path2)
    # raw keeps both deliveries with their lineage; the current one is the one not superseded
    current = warehouse.execute(
        f'SELECT r.taux_d_occupation FROM raw."{TRAFFIC}" r JOIN landing.deliveries d ON d.delivery_id = r._delivery_id '
        f"WHERE d.superseded_by IS NULL AND r._source_line = 5").fetchall()
    assert current == [(80.0,)]
    assert warehouse.execute(f'SELECT count(*) FROM raw."{TRAFFIC}"').fetchone()[0] == 48


def test_a_correction_also_supersedes_a_quarantined_delivery(settings, registry, warehouse):
    entry = registry.dataset(TRAFFIC)
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612.csv", traffic_file("2024-06-12").replace(";", ","))
    ingest_dataset(warehouse, settings, entry)
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612_v2.csv", traffic_file("2024-06-12"))
    ingest_dataset(warehouse, settings, entry)
    statuses = [(d[0], d[2], d[3] is not None) for d in deliveries(warehouse)]
    assert statuses == [("comptages_routiers_20240612.csv", "quarantined", True),
                        ("comptages_routiers_20240612_v2.csv", "loaded", False)]
