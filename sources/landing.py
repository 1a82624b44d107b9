"""Immutable landing: every delivery is stored, content-addressed, before it is parsed.

The bytes go to ``<landing>/<sha[:2]>/<sha256>`` (read-only); the catalogue
``landing.deliveries`` in the warehouse records partner, dataset, file, origin, period,
checksum, licence and what became of it. The same bytes delivered twice are a no-op; a
new delivery for the same dataset, period and slot supersedes the previous one, which is
kept.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from territoire_hub.freshness import Lateness, lateness
from territoire_hub.names import matching_form, printable
from territoire_hub.problems import Problem
from territoire_hub.registry import CONTENT_PERIOD, PartnerDataset
from territoire_hub.sources.transports import Incoming
from territoire_hub.warehouse import insert_rows

CATALOGUE_DDL = """
CREATE SCHEMA IF NOT EXISTS landing;
CREATE TABLE IF NOT EXISTS landing.deliveries (
    delivery_id    VARCHAR PRIMARY KEY,
    dataset_key    VARCHAR NOT NULL,
    partner_id     VARCHAR NOT NULL,
    dataset_id     VARCHAR NOT NULL,
    filename       VARCHAR NOT NULL,
    origin         VARCHAR NOT NULL,
    period         VARCHAR NOT NULL,
    slot           VARCHAR NOT NULL,
    sha256         VARCHAR NOT NULL,
    size_bytes     BIGINT NOT NULL,
    stored_path    VARCHAR NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL,
    sequence       BIGINT NOT NULL,
    licence        VARCHAR NOT NULL,
    sensitivity    VARCHAR NOT NULL,
    etag           VARCHAR,
    last_modified  VARCHAR,
    status         VARCHAR NOT NULL,      -- landed | loaded | partial | quarantined
    superseded_by  VARCHAR,
    encoding       VARCHAR,
    separator      VARCHAR,
    rows_loaded    BIGINT,
    processed_at   TIMESTAMPTZ,
    run_id         VARCHAR                -- the run that loaded or quarantined it
);
CREATE TABLE IF NOT EXISTS landing.issues (
    delivery_id  VARCHAR NOT NULL,
    severity     VARCHAR NOT NULL,        -- error (quarantine) | warning
    code         VARCHAR NOT NULL,
    line         BIGINT,
    column_name  VARCHAR,
    value        VARCHAR,
    message      VARCHAR NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS landing.processing_history (
    delivery_id    VARCHAR NOT NULL,
    run_id         VARCHAR,
    status         VARCHAR NOT NULL,      -- loaded | quarantined (the outcome of that processing)
    period         VARCHAR,
    rows_loaded    BIGINT,
    errors         BIGINT NOT NULL,
    warnings       BIGINT NOT NULL,
    processed_at   TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS landing.rejected_rows (   -- records of a partial delivery kept aside
    delivery_id  VARCHAR NOT NULL,
    line         BIGINT NOT NULL,         -- physical line of the record in the decoded file
    code         VARCHAR NOT NULL,        -- the first reason found for that line
    column_name  VARCHAR,
    value        VARCHAR,
    recorded_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS landing.transport_errors (
    dataset_key  VARCHAR NOT NULL,
    origin       VARCHAR NOT NULL,        -- URL or inbox path
    reason       VARCHAR NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL
);
"""


@dataclass(frozen=True)
class Landed:
    delivery_id: str
    new: bool                   # False: the same bytes were already landed (no-op)
    superseded: list[str]       # deliveries this one supersedes
    source: tuple[int, int] | None = None   # (device, inode) of the file read: only it may be removed


class UnreadableDelivery(Exception):
    """A delivered entry the hub refuses to open: not a regular file once opened (a link swapped in
    after the scan, a FIFO, a folder), or gone. Nothing of it is landed; it stays where it is."""


def ensure_catalogue(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(CATALOGUE_DDL)
    con.execute("ALTER TABLE landing.deliveries ADD COLUMN IF NOT EXISTS run_id VARCHAR")  # warehouses of 0.1
    con.execute("ALTER TABLE landing.deliveries ADD COLUMN IF NOT EXISTS rows_rejected BIGINT")


def slot_of(entry: PartnerDataset, filename: str) -> str:
    """Named groups of the file-name regex other than ``period`` (e.g. the département)."""
    if entry.dataset.filename is None:
        return ""
    match = re.fullmatch(entry.dataset.filename, matching_form(filename))
    if not match:
        return ""
    groups = {k: v for k, v in match.groupdict().items() if k != "period" and v is not None}
    return ",".join(f"{k}={v}" for k, v in sorted(groups.items()))


def _open_delivered(path: Path) -> int:
    """Open a delivered file for reading without following a link in its last component and
    without blocking on a FIFO; refuse anything that is not a regular file once open."""
    path = Path(path)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableDelivery(f"{printable(path.name)} is a symbolic link: not a regular file, never read") from None
        raise UnreadableDelivery(f"{printable(path.name)} cannot be opened: {exc.strerror}") from None
    finally:
        os.close(folder)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UnreadableDelivery(f"{printable(path.name)} is not a regular file: never read")
    os.set_blocking(fd, True)
    return fd


def _copy_in(landing_dir: Path, source: Path) -> tuple[str, Path, tuple[int, int]]:
    """Copy the delivered file into the landing store while hashing it (one read of the bytes, from
    the descriptor checked to be a regular file). The stored file is read-only, in folders private
    to the hub's account. Returns the checksum, the stored path and the (device, inode) read."""
    landing_dir = Path(landing_dir)
    landing_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = _open_delivered(source)
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        handle, tmp = tempfile.mkstemp(dir=landing_dir, prefix=".landing-")
        try:
            with os.fdopen(handle, "wb") as out:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
            sha = digest.hexdigest()
            target = landing_dir / sha[:2] / sha
            if target.exists():
                os.unlink(tmp)
            else:
                target.parent.mkdir(exist_ok=True, mode=0o700)
                os.chmod(tmp, 0o400)
                os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return sha, target, (st.st_dev, st.st_ino)


def remove_delivered(path: Path, source: tuple[int, int] | None) -> None:
    """Remove a landed file from the drop zone, only if the name still designates the file read
    (a name swapped for a link or another file since is left alone)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if source is None or ((st.st_dev, st.st_ino) == source and stat.S_ISREG(st.st_mode)):
        os.unlink(path)


def land(con: duckdb.DuckDBPyConnection, landing_dir: Path, entry: PartnerDataset, item: Incoming) -> Landed:
    """Store the bytes and record the delivery; supersede the previous one for its period.
    Raises :class:`UnreadableDelivery` for an entry that is not a regular file when opened."""
    sha, stored, source = _copy_in(landing_dir, item.path)
    delivery_id = hashlib.sha256(f"{entry.key}:{sha}".encode()).hexdigest()[:20]
    if con.execute("SELECT 1 FROM landing.deliveries WHERE delivery_id = ?", [delivery_id]).fetchone():
        return Landed(delivery_id, new=False, superseded=[], source=source)
    slot = slot_of(entry, item.filename)
    con.execute("BEGIN TRANSACTION")
    try:
        # a delivery whose period is read from its content, or of a dataset declared `upsert`,
        # replaces no earlier file as a whole: its records replace the earlier ones with the same
        # key (staging keeps the latest)
        whole = entry.replaces_whole_period and item.period != CONTENT_PERIOD
        previous = [] if not whole else [r[0] for r in con.execute(
            "SELECT delivery_id FROM landing.deliveries WHERE dataset_key = ? AND period = ? AND slot = ? "
            "AND superseded_by IS NULL",
            [entry.key, item.period, slot],
        ).fetchall()]
        con.execute(
            """
            INSERT INTO landing.deliveries (delivery_id, dataset_key, partner_id, dataset_id, filename, origin,
                period, slot, sha256, size_bytes, stored_path, received_at, sequence, licence, sensitivity,
                etag, last_modified, status)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(),
                    (SELECT coalesce(max(sequence), 0) + 1 FROM landing.deliveries), ?, ?, ?, ?, 'landed')
            """,
            [delivery_id, entry.key, entry.partner.id, entry.dataset.id, item.filename, item.origin,
             item.period, slot, sha, stored.stat().st_size, str(stored), entry.dataset.licence,
             entry.dataset.sensitivity.value, item.etag, item.last_modified],
        )
        if previous:
            con.execute(
                "UPDATE landing.deliveries SET superseded_by = ? WHERE delivery_id IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [delivery_id, previous],
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return Landed(delivery_id, new=True, superseded=previous, source=source)


def record_problems(con: duckdb.DuckDBPyConnection, delivery_id: str, problems: list[Problem]) -> None:
    insert_rows(con, "landing.issues", [[delivery_id, p.severity, p.code, p.line, p.column, p.value, p.message]
                                        for p in problems], tail="now()")


def record_transport_errors(con: duckdb.DuckDBPyConnection, dataset_key: str, errors: list[tuple[str, str]]) -> None:
    """A URL that failed after its retries, or an inbox file that could not be claimed."""
    if errors:
        con.executemany("INSERT INTO landing.transport_errors VALUES (?, ?, ?, now())",
                        [[dataset_key, origin, reason] for origin, reason in errors])


def mark(con: duckdb.DuckDBPyConnection, delivery_id: str, status: str, *, rows: int | None = None,
         encoding: str | None = None, separator: str | None = None, run_id: str | None = None,
         rejected: int | None = None) -> None:
    """Record a processing outcome (after its problems): the delivery's current status, and one
    more row of its history (a replay keeps every earlier outcome). ``rejected``: the records of a
    partial delivery kept aside (delivered = loaded + rejected)."""
    con.execute(
        "UPDATE landing.deliveries SET status = ?, rows_loaded = ?, rows_rejected = ?, encoding = ?, separator = ?, "
        "processed_at = now(), run_id = ? WHERE delivery_id = ?",
        [status, rows, rejected, encoding, separator, run_id, delivery_id],
    )
    con.execute(
        """INSERT INTO landing.processing_history
           SELECT d.delivery_id, ?, ?, d.period, ?,
                  count(i.code) FILTER (WHERE i.severity = 'error'), count(i.code) FILTER (WHERE i.severity = 'warning'),
                  now()
           FROM landing.deliveries d LEFT JOIN landing.issues i USING (delivery_id)
           WHERE d.delivery_id = ? GROUP BY d.delivery_id, d.period""",
        [run_id, status, rows, delivery_id],
    )


def reset_for_replay(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, delivery_id: str, filename: str) -> None:
    """Put a landed delivery back to 'landed' so the loader reads it again: its rows leave raw, its
    current problems are cleared (its earlier outcomes stay in landing.processing_history), its
    period and slot are read again from its file name with the current registry, and it takes its
    place again over the earlier deliveries of that period."""
    period = entry.period_of(filename)
    if period is None:
        raise ValueError(f"{filename} no longer matches the file-name pattern of {entry.key} "
                         f"({entry.dataset.filename!r})")
    con.execute("BEGIN TRANSACTION")
    try:
        if con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = ?",
                       [entry.key]).fetchone()[0]:
            con.execute(f"DELETE FROM {entry.raw_relation} WHERE _delivery_id = ?", [delivery_id])
        con.execute("DELETE FROM landing.issues WHERE delivery_id = ?", [delivery_id])
        con.execute("DELETE FROM landing.rejected_rows WHERE delivery_id = ?", [delivery_id])
        con.execute("UPDATE landing.deliveries SET status = 'landed', period = ?, slot = ?, rows_loaded = NULL, "
                    "rows_rejected = NULL "
                    "WHERE delivery_id = ?", [period, slot_of(entry, filename), delivery_id])
        if entry.replaces_whole_period:
            supersede_earlier(con, delivery_id)
        else:   # declared `upsert` since: what it replaced whole becomes current again, merged by key
            con.execute("UPDATE landing.deliveries SET superseded_by = NULL WHERE superseded_by = ?", [delivery_id])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def supersede_earlier(con: duckdb.DuckDBPyConnection, delivery_id: str) -> list[str]:
    """Make ``delivery_id`` replace the earlier current deliveries of its dataset, period and slot
    (a replayed correction takes its place again). Returns the deliveries it now supersedes."""
    rows = con.execute(
        """SELECT e.delivery_id FROM landing.deliveries d JOIN landing.deliveries e
             ON e.dataset_key = d.dataset_key AND e.period = d.period AND e.slot = d.slot
            AND e.sequence < d.sequence AND e.superseded_by IS NULL AND e.delivery_id <> d.delivery_id
           WHERE d.delivery_id = ? AND d.period <> ? AND d.superseded_by IS NULL""",
        [delivery_id, CONTENT_PERIOD]).fetchall()
    earlier = [r[0] for r in rows]
    if earlier:
        con.execute("UPDATE landing.deliveries SET superseded_by = ? WHERE delivery_id IN (SELECT unnest(?::VARCHAR[]))",
                    [delivery_id, earlier])
    return earlier


class CatalogueValidators:
    """Conditional-GET validators remembered from the last delivery fetched from a URL."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con

    def validators(self, url: str) -> tuple[str | None, str | None]:
        row = self._con.execute(
            "SELECT etag, last_modified FROM landing.deliveries WHERE origin = ? ORDER BY sequence DESC LIMIT 1",
            [url],
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)


def delivered_periods(con: duckdb.DuckDBPyConnection, dataset_key: str) -> dict[str, datetime]:
    """The periods of ``dataset_key`` some delivery covers — one that arrived (landed, loaded,
    partial); a quarantined file leaves its period missing — with the latest time one was received."""
    known = con.execute("SELECT count(*) FROM information_schema.tables "
                        "WHERE table_schema = 'landing' AND table_name = 'deliveries'").fetchone()[0]
    if not known:
        return {}
    return dict(con.execute(
        "SELECT period, max(received_at) FROM landing.deliveries WHERE dataset_key = ? "
        "AND status IN ('landed', 'loaded', 'partial') GROUP BY period", [dataset_key]).fetchall())


def dataset_lateness(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, now: datetime) -> Lateness | None:
    """What is overdue for ``entry`` at ``now`` (None: nothing), from what landed."""
    periods = delivered_periods(con, entry.key)
    return lateness(entry.partner.id, entry.dataset, set(periods), max(periods.values(), default=None), now)
