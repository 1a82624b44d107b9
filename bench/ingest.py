"""Ingestion cost as a ratio to raw DuckDB on the same files.

Generates a region-scale slice (3,000 traffic counters hourly, 500 lamp sensors every
10 minutes, for --days days), then times, per dataset:
  - the hub: land (checksum, store) + decode + type + check + load into raw, per delivery;
  - the baseline: one DuckDB ``read_csv`` of the same files into a table (auto-typed,
    no checks, no lineage).
Prints the ratio hub / baseline. Never run by the tests; timings depend on the machine.

    .venv/bin/python bench/ingest.py --days 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from territoire_hub.settings import Settings
from territoire_hub.sources.demo import Scale, generate_demo
from territoire_hub.orchestration.ingestion import ingest_dataset, prepare_warehouse
from territoire_hub.warehouse import connect

MISHAPS = {"wrong_encoding", "truncated_gzip"}  # refused by the hub: not part of the comparison
DATASETS = {
    "montpellier_metropole__comptages_routiers": "traffic counters, hourly",
    "montpellier_metropole__capteurs_eclairage": "lamp sensors, 10 minutes",
}


def baseline(files: list[Path], separator: str, database: Path) -> float:
    con = duckdb.connect(str(database))
    start = time.perf_counter()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM read_csv(?, delim = ?, header = true, union_by_name = true)",
        [[str(f) for f in files], separator],
    )
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--counters", type=int, default=3000)
    parser.add_argument("--lamp-sensors", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    settings = Settings.from_env({"HUB_HOME": str(work)})
    registry = settings.load_registry()
    scale = Scale(start=date(2024, 3, 25), days=args.days, counters=args.counters, lamp_sensors=args.lamp_sensors,
                  stations=2, charge_points=10, lamp_points=2000)
    t0 = time.perf_counter()
    files = generate_demo(settings.data_dir, registry, seed=1, scale=scale)
    print(f"generated {len(files)} files in {time.perf_counter() - t0:.1f} s into {work}")

    results = []
    con = connect(settings.warehouse)
    prepare_warehouse(con)
    for key, label in DATASETS.items():
        entry = registry.dataset(key)
        mine = [f.path for f in files if f.dataset_key == key and f.note not in MISHAPS]
        size = sum(p.stat().st_size for p in mine)
        if not mine:   # a short span may hold only a mishap (the demo breaks one file per dataset)
            print(f"{label}: no valid file in {args.days} day(s): skipped")
            continue
        copies = work / "baseline-files" / key
        copies.mkdir(parents=True)
        for p in mine:  # the hub empties the drop zone: the baseline reads copies
            shutil.copyfile(p, copies / p.name)
        base = baseline(sorted(copies.iterdir()), entry.separators[0], work / f"baseline-{key}.duckdb")
        start = time.perf_counter()
        report = ingest_dataset(con, settings, entry)
        hub = time.perf_counter() - start
        results.append({"dataset": key, "what": label, "files": len(mine), "mbytes": round(size / 1e6, 1),
                        "rows": report.rows, "hub_s": round(hub, 2), "duckdb_read_csv_s": round(base, 2),
                        "ratio": round(hub / base, 2), "hub_rows_per_s": int(report.rows / hub)})
    con.close()
    print(json.dumps(results, indent=1))
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(results, indent=1) + "\n")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
