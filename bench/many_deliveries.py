"""Peak memory and time of one `hub ingest` of many small deliveries (a year of daily files).

    .venv/bin/python bench/many_deliveries.py            # 366 daily traffic files
    .venv/bin/python bench/many_deliveries.py --days 90

A year of a partner's daily files, dropped at once (a backfill, a partner catching up): the
deliveries are parsed, validated (inside DuckDB) and committed one at a time."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sources.test_loading import TRAFFIC, traffic_file  # noqa: E402  (the tests' real Montpellier layout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=366)
    days = parser.parse_args().days
    home = Path(tempfile.mkdtemp(prefix="hub-bench-many-"))
    try:
        inbox = home / "data" / "inbox" / "montpellier-metropole"
        inbox.mkdir(parents=True)
        for i in range(days):
            day = date(2024, 1, 1) + timedelta(days=i)
            (inbox / f"comptages_routiers_{day:%Y%m%d}.csv").write_text(traffic_file(day.isoformat()))
        started = time.monotonic()
        done = subprocess.run([str(ROOT / ".venv" / "bin" / "hub"), "ingest", "--dataset", TRAFFIC], cwd=home,
                              env={**os.environ, "HUB_HOME": str(home)}, capture_output=True, text=True)
        result = {"deliveries": days, "exit": done.returncode, "seconds": round(time.monotonic() - started, 1),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
                  "summary": [line for line in done.stdout.splitlines() if line.startswith("Ingestion:")],
                  "error": done.stderr.strip().splitlines()[-1:] if done.returncode else []}
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
