"""Every stage of the hub on a generated region, as the user runs it, as ratios (issue 22).

    .venv/bin/python bench/run.py --days 7        # a week at region scale (minutes)
    .venv/bin/python bench/run.py                 # the region-year: 366 days (~25 min, ~45 GB of disk)

Generates ``--days`` days of deliveries at region scale (3,000 traffic counters hourly, 500 lamp
sensors every 10 minutes, 50 weather stations, 2,000 charge points) into a fresh hub home, holds
the last day's files aside, then runs each stage as a ``hub`` command in a child process (wall
time, and the peak resident memory of it and the processes it starts, polled from /proc):

1. baseline: one DuckDB ``read_csv`` per CSV dataset of the same files (the floor: no checks,
   no lineage, types guessed);
2. ingest: ``hub ingest``, every day but the last (the HTTP partners served on loopback by this
   script, as ``hub demo run`` does);
3. full build: ``hub build --full-refresh``;
4. one more day: its files back, then ingest and ``hub build``;
5. a build with nothing new: ``hub build``;
6. ``hub snapshot``;
7. ``hub partner export`` of the partner delivering the traffic counts and lamp sensors.

Writes ``bench/RESULTS.md`` (the table, the ratios) and ``bench/results/run.json``. Never run by
the tests: timings depend on the machine.

    .venv/bin/python bench/run.py --years 3 --start 2023-01-01   # three past years, for memory (~1 h, ~70 GB of disk)

``--years N`` generates and ingests N calendar years one at a time, deleting each year's
deliveries once ingested (the disk then holds the hub's landed copies, ~11 GB a year, and the
warehouse), without the baseline; then stages 3 to 7 on the whole history. Writes
``bench/RESULTS-years.md`` and ``bench/results/years.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import duckdb

from territoire_hub.settings import Settings
from territoire_hub.sources.demo import Scale, generate_demo
from territoire_hub.sources.demo.server import PartnerServer, demo_environment, protected_paths

HERE = Path(__file__).resolve().parent
HUB = str(Path(sys.executable).with_name("hub"))
REGION = {"counters": 3000, "lamp_sensors": 500, "stations": 50, "charge_points": 2000}
EXPORTED = "montpellier-metropole"    # the partner of the traffic counters and lamp sensors: the largest export
MISHAPS = {"wrong_encoding", "truncated_gzip"}   # the demo's broken files: the hub refuses them, read_csv fails


@dataclass
class Stage:
    name: str
    seconds: float
    peak_rss_mib: int
    exit: int
    note: str = ""


def _high_water_kib(pid: int) -> int:
    """The largest VmHWM (peak resident size since exec) of ``pid`` and its descendants now (KiB);
    0 for a process gone meanwhile."""
    peak, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            peak = max(peak, next((int(line.split()[1]) for line in status.splitlines()
                                   if line.startswith("VmHWM:")), 0))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return peak


def run_hub(home: Path, *args: str, env: dict[str, str] | None = None) -> Stage:
    """One ``hub`` command for ``home``: its wall time and the peak resident memory of it and the
    processes it starts (dbt), polled every 0.1 s from each one's VmHWM. Not ``wait4``'s
    ru_maxrss: a child forked from this process starts with this process's high-water mark (which
    generating a region-year raises to ~4 GiB), and exec does not reset it. ``env``: more variables
    (the demo partners' URLs and token: never on a command line)."""
    env = {**os.environ, "HUB_HOME": str(home), **(env or {})}
    start = time.perf_counter()
    peak = 0
    with open(home / "bench.log", "a") as log:
        log.write(f"\n$ hub {' '.join(args)}\n")
        log.flush()
        child = subprocess.Popen([HUB, *args], env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)
        while True:
            peak = max(peak, _high_water_kib(child.pid))
            pid, status = os.waitpid(child.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.1)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    child.returncode = code
    return Stage(" ".join(args), round(seconds, 1), round(peak / 1024), code)


SINGLE_BYTE = {"cp1252", "windows-1252", "iso-8859-1", "iso-8859-15", "latin-1", "latin1"}


def baseline(home: Path, files: dict[str, tuple[list[Path], str, str]]) -> Stage:
    """One ``read_csv`` per CSV dataset of the same files the hub ingests (copies: the hub empties
    its drop zone and serves the HTTP partners' files), into a table of a fresh DuckDB file; the
    separator the registry declares; files in a single-byte encoding transcoded to UTF-8 first (not timed)."""
    copies = home / "baseline-files"
    con = duckdb.connect(str(home / "baseline.duckdb"))
    rows, seconds = 0, 0.0
    for number, (key, (paths, separator, encoding)) in enumerate(sorted(files.items())):
        folder = copies / key
        folder.mkdir(parents=True)
        copied = []
        for index, path in enumerate(paths):   # names may repeat across folders (periods, waves)
            copied.append(folder / f"{index:05d}-{path.name}")
            if encoding.lower() in SINGLE_BYTE:  # DuckDB reads no Windows-1252: transcoded beforehand (small files)
                copied[-1].write_text(path.read_bytes().decode(encoding), encoding="utf-8")
            else:
                shutil.copyfile(path, copied[-1])
        start = time.perf_counter()
        con.execute(f"CREATE TABLE t{number} AS SELECT * FROM read_csv(?, header = true, union_by_name = true, "
                    f"delim = ?)", [[str(p) for p in copied], separator])
        seconds += time.perf_counter() - start
        rows += con.execute(f"SELECT count(*) FROM t{number}").fetchone()[0]
    con.close()
    shutil.rmtree(copies)
    return Stage(f"baseline: DuckDB read_csv of every CSV dataset ({len(files)})", round(seconds, 1), 0, 0,
                 f"{rows:,} rows")


def raw_rows(home: Path) -> int:
    con = duckdb.connect(str(home / "warehouse" / "hub.duckdb"), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'raw'").fetchall()]
        return sum(con.execute(f'SELECT count(*) FROM raw."{t}"').fetchone()[0] for t in tables)
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--start", default="2024-01-01")
    parser.add_argument("--years", type=int, default=0,
                        help="history mode: this many calendar years from --start (a 1 January), generated "
                             "and ingested a year at a time, each year's deliveries deleted once ingested "
                             "(the disk holds the landed copies only); no baseline; writes "
                             "bench/RESULTS-years.md")
    parser.add_argument("--keep", action="store_true", help="keep the hub home")
    args = parser.parse_args()
    first = date.fromisoformat(args.start)
    if args.years:
        if (first.month, first.day) != (1, 1):
            parser.error("--years counts calendar years: --start must be a 1 January")
        spans = [(date(first.year + y, 1, 1), (date(first.year + y + 1, 1, 1) - date(first.year + y, 1, 1)).days)
                 for y in range(args.years)]
        if date(first.year + args.years, 1, 1) > date.today():
            parser.error(f"--years {args.years} from {first.year} reaches the future (the hub's partitions end today): "
                         f"start earlier, e.g. --start {date.today().year - args.years}-01-01")
    else:
        if args.days < 2:
            parser.error("--days must be at least 2 (the last one is added afterwards)")
        spans = [(first, args.days)]

    home = Path(tempfile.mkdtemp(prefix="hub-bench-run-"))
    stages: list[Stage] = []
    try:
        local = {"HUB_REGISTRY": str(_registry_from(home, first))}
        settings = Settings.from_env({"HUB_HOME": str(home), **local})
        data, held = settings.data_dir, home / "held"
        registry, token = settings.load_registry(), secrets.token_urlsafe(24)
        (data / "remote").mkdir(parents=True)
        hub = partial(run_hub, env=local)
        with PartnerServer(data / "remote", tokens=protected_paths(registry, token)) as server:
            partners = {**local, **demo_environment(settings, registry, server.url, token)}
            for number, (start, days) in enumerate(spans):
                span = f" {start.year}" if args.years else ""
                began = time.perf_counter()
                generated = generate_demo(data, registry, seed=42, scale=Scale(start=start, days=days, **REGION))
                stages.append(Stage(f"generate the deliveries{span}", round(time.perf_counter() - began, 1), 0, 0,
                                    f"{len(generated):,} files"))
                if number == len(spans) - 1:  # the last day waits for its own stage
                    last = (start + timedelta(days=days - 1)).strftime("%Y%m%d")
                    moved = _hold(generated, last, data, held)
                if not args.years:
                    stages.append(baseline(home, _csv_files(registry, generated, last)))
                ingest = hub(home, "ingest", env=partners)
                ingest.name += span
                ingest.note = f"{raw_rows(home):,} raw rows"
                stages.append(ingest)
                if args.years:  # the partners' copies go: the hub keeps its landed ones
                    for file in generated:
                        file.path.unlink(missing_ok=True)
                    ingest.note += f"; {_disk(home)}"
            stages.append(hub(home, "build", "--full-refresh"))
            for path in moved:
                target = data / path.relative_to(held)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)
            added = hub(home, "ingest", env=partners)
            added.name, added.note = f"one more day ({last}): ingest", f"{len(moved)} files"
            stages.append(added)
        build = hub(home, "build")
        build.name, build.note = "one more day: build", _what_built(home)
        stages.append(build)
        stages.append(hub(home, "build"))
        stages[-1].name, stages[-1].note = "build, nothing new", _what_built(home)
        stages.append(hub(home, "snapshot"))
        stages.append(hub(home, "partner", "export", EXPORTED))
        stages[-1].note = f"{(settings.exports_dir / f'{EXPORTED}.duckdb').stat().st_size / 2**20:,.0f} MiB file"
    finally:
        log = (home / "bench.log").read_text() if (home / "bench.log").exists() else ""
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    failed = [s for s in stages if s.exit != 0]
    if failed:
        print(log[-4000:])
    for stage in failed:  # recorded as measured, marked
        stage.note = f"**exit {stage.exit}** {stage.note}".strip()
    write(args, stages)
    if failed:
        raise SystemExit(f"failed: {', '.join(s.name for s in failed)}")


def _registry_from(home: Path, first: date) -> Path:
    """The demo registry, its datasets' histories starting no later than ``first`` (a copy in ``home``):
    a partner with a longer history declares an earlier start."""
    folder = home / "registry"
    shutil.copytree(Settings.from_env({}).registry_dir, folder)
    for path in folder.glob("*.yaml"):
        path.write_text(re.sub(r'start: "(\d{4}-\d{2}-\d{2})"',
                               lambda m: f'start: "{min(m[1], first.isoformat())}"', path.read_text()))
    return folder


def _hold(generated, last: str, data: Path, held: Path) -> list[Path]:
    """Move the files of period ``last`` aside (under ``held``, same layout): the one more day."""
    moved = []
    for file in generated:
        if file.period == last:
            target = held / file.path.relative_to(data)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(file.path, target)
            moved.append(target)
    return moved


def _csv_files(registry, generated, last: str) -> dict[str, tuple[list[Path], str, str]]:
    """The CSV files the hub ingests (the held day and the demo's broken files aside), per dataset."""
    csv_files: dict[str, tuple[list[Path], str, str]] = {}
    for file in generated:
        entry = registry.dataset(file.dataset_key)
        if file.period != last and file.note not in MISHAPS and entry.spec.container == "csv":
            csv_files.setdefault(file.dataset_key, ([], entry.separators[0], entry.encodings[0]))[0].append(file.path)
    return csv_files


def _disk(home: Path) -> str:
    """The hub home's size on disk (landed copies, warehouse), and what is left on its disk."""
    used = sum(p.stat().st_blocks * 512 for p in home.rglob("*") if p.is_file() and not p.is_symlink())
    return f"home {used / 2**30:,.1f} GiB, {shutil.disk_usage(home).free / 2**30:,.0f} GiB free"


def _what_built(home: Path) -> str:
    """What the last `hub build` said it had to run (its "N assets to build" or "Up to date" line)."""
    lines = [line.strip() for line in (home / "bench.log").read_text().splitlines()
             if "assets to build:" in line or line.strip().startswith("Up to date")]
    return lines[-1][:120].replace("|", "/") if lines else ""


def _gib(value: str) -> str:
    return f"{int(value) / 2**30:.2f} GiB" if value.isdigit() else value


TARGETS = {  # issue 22's
    "ingestion / baseline": "≤ 2",
    "one more day (ingest + build) / full build (ingest + build)": "≤ 0.05",
    "build with nothing new / full build (ingest + build)": "≤ 0.02",
    "peak RSS of ingest, build and export (GiB)": "≤ 2",
}


def write(args, stages: list[Stage]) -> None:
    by = {s.name: s for s in stages}
    base = next((s for s in stages if s.name.startswith("baseline")), None)
    ingested = sum(s.seconds for s in stages if s.name.startswith("ingest"))
    full = by["build --full-refresh"]
    day = [s for s in stages if s.name.startswith("one more day")]
    noop = by["build, nothing new"]
    ratios = {"ingestion / baseline": by["ingest"].seconds / base.seconds} if base else {}
    ratios |= {
        "one more day (ingest + build) / full build (ingest + build)": sum(s.seconds for s in day)
        / (ingested + full.seconds),
        "build with nothing new / full build (ingest + build)": noop.seconds / (ingested + full.seconds),
        "peak RSS of ingest, build and export (GiB)": max(s.peak_rss_mib for s in stages
                                                          if not s.name.startswith(("generate", "baseline"))) / 1024,
    }
    memory = {k: os.environ[k] for k in ("HUB_BUILD_MEMORY", "HUB_INGEST_MEMORY") if k in os.environ}
    record = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "days": args.days,
              "years": args.years, "region": REGION, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "memory": memory, "stages": [asdict(s) for s in stages], "ratios": ratios}
    name = "years" if args.years else "run"
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"{name}.json").write_text(json.dumps(record, indent=1))
    region = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in REGION.items())
    command = f"--years {args.years}" if args.years else f"--days {args.days}"
    title = (f"{args.years} years of history from {args.start}, generated and ingested a year at a time"
             if args.years else f"{args.days} days from {args.start}")
    lines = [f"# Region bench — {title}", "",
             f"Measured {record['when']} on {record['machine']} by `bench/run.py {command}` "
             f"(region scale: {region}"
             + "".join(f", {k}={_gib(v)}" for k, v in memory.items()) + "). "
             "Each stage is a `hub` command in its own process; peak RSS is that of its process tree.", "",
             "| stage | wall time | peak RSS | |", "| --- | ---: | ---: | --- |"]
    lines += [f"| {s.name} | {s.seconds:,.1f} s | {s.peak_rss_mib:,} MiB | {s.note} |" for s in stages]
    lines += ["", "| ratio | measured | issue 22's target |", "| --- | ---: | ---: |"]
    lines += [f"| {ratio} | {value:.3f} | {TARGETS[ratio]} |" for ratio, value in ratios.items()]
    results = HERE / ("RESULTS-years.md" if args.years else "RESULTS.md")
    results.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
