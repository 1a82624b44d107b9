"""The warehouse's session helpers: what they change, and that they put it back."""

from __future__ import annotations

import pytest

from territoire_hub.warehouse import ROWS_PER_INSERT, checkpoint_after, connect, insert_rows, memory_limited, unordered


def _wal_bytes(path) -> int:
    wal = path.with_name(path.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def test_commits_in_a_batch_wait_for_one_checkpoint_at_its_end(tmp_path):
    """Each commit of ~20 MiB of log would fold DuckDB's log into the file (16 MiB by default); inside
    checkpoint_after the log keeps them all, and the file takes them in one checkpoint at the end."""
    path = tmp_path / "hub.duckdb"
    con = connect(path)
    con.execute("CREATE TABLE raw_rows (line BIGINT, payload VARCHAR)")
    default = con.execute("SELECT current_setting('wal_autocheckpoint')").fetchone()[0]

    def one_delivery(number: int) -> None:
        # fewer rows than a row group (122,880): DuckDB logs them (a larger insert writes its row
        # groups to the file directly), as it does a day of traffic counts
        con.execute("INSERT INTO raw_rows SELECT range + ?, repeat(md5(CAST(range + ? AS VARCHAR)), 5) "
                    "FROM range(120000)", [number * 120000, number])

    one_delivery(0)
    one_delivery(1)
    assert _wal_bytes(path) == 0                # the first one's log folded at the next commit
    with checkpoint_after(con, wal_bytes=1 << 30):
        for number in (2, 3, 4):
            one_delivery(number)
        assert _wal_bytes(path) > 3 * (16 << 20)    # three deliveries' rows, still in the log
    assert _wal_bytes(path) == 0
    assert con.execute("SELECT current_setting('wal_autocheckpoint')").fetchone()[0] == default
    assert con.execute("SELECT count(*), count(DISTINCT line) FROM raw_rows").fetchone() == (600_000, 600_000)
    con.close()


def test_rows_inserted_in_chunks_arrive_as_given(tmp_path):
    """More rows than one statement takes, values with quotes, NULLs and accents, a tail
    expression: every row as given, none twice."""
    con = connect(tmp_path / "hub.duckdb")
    con.execute("CREATE TABLE issues (n BIGINT, message VARCHAR, line BIGINT, recorded_at TIMESTAMPTZ)")
    rows = [[n, f"l'unité « {n} » ; \"x\"" if n % 3 else None, None if n % 7 == 0 else n * 2]
            for n in range(2 * ROWS_PER_INSERT + 1)]
    insert_rows(con, "issues", rows, tail="now()")
    assert con.execute("SELECT n, message, line FROM issues ORDER BY n").fetchall() == [tuple(r) for r in rows]
    assert con.execute("SELECT count(*) FROM issues WHERE recorded_at IS NULL").fetchone() == (0,)
    insert_rows(con, "issues", [], tail="now()")
    assert con.execute("SELECT count(*) FROM issues").fetchone() == (len(rows),)
    con.close()


def test_session_settings_are_put_back_even_after_an_error(tmp_path):
    con = connect(tmp_path / "hub.duckdb")
    before = con.execute("SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')").fetchone()
    with pytest.raises(RuntimeError):
        with memory_limited(con, 160 << 20), unordered(con):
            assert con.execute("SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')") \
                .fetchone() == ("160.0 MiB", False)
            raise RuntimeError("stop")
    limit, ordered = con.execute("SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')") \
        .fetchone()
    # the limit comes back as DuckDB printed it (rounded to 0.1 of its unit: 18.8 GiB may read 18.7)
    assert ordered is before[1] and limit.split()[1] == before[0].split()[1]
    assert abs(float(limit.split()[0]) - float(before[0].split()[0])) < 0.15
    con.close()
