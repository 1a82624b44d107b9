"""Peak memory and wall time of `hub ingest` on costly deliveries (issue 18).

Each case is one file dropped in the demo traffic partner's inbox of a fresh hub home, then one
`hub ingest --dataset montpellier_metropole__comptages_routiers` in a child process whose peak
resident memory is read from the kernel (``ru_maxrss``). The files are generated here (nothing
large is committed) and deleted afterwards.

    .venv/bin/python bench/hostile.py            # every case
    .venv/bin/python bench/hostile.py bomb       # one
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HUB = str(Path(sys.executable).with_name("hub"))
DATASET = "montpellier_metropole__comptages_routiers"
HEADER = ("Identifiant arc;Libelle;Date et heure de comptage;Débit horaire;Taux d'occupation;Etat trafic;"
          "Identifiant noeud amont;Libelle noeud amont;Identifiant noeud aval;Libelle noeud aval;Etat arc;"
          "Date debut dispo data;Date fin dispo data;geo_point_2d;geo_shape\n")
# each stamp closes its hour (README, event_time_ends_interval): 01:00 … 24:00 make the 24 hours of
# 13 June, Paris time, so every counter-day is complete and the file passes every rule
STAMPS = [f"2024-06-13T{h:02d}:00:00+02:00" for h in range(1, 24)] + ["2024-06-14T00:00:00+02:00"]
ROW = "{arc};Av. test;{stamp};412;12.5;Fluide;1;A;2;B;Ouvert;;;43.6,3.87;\n"


def write_gzip_bomb(path: Path, expanded: int, lying: bool) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"0" * (1 << 20)
    with path.open("wb") as out:
        out.write(packer.compress(HEADER.encode()))
        for _ in range(expanded >> 20):
            out.write(packer.compress(zeros))
        tail = packer.flush()
        out.write(tail[:-4] + ((1000).to_bytes(4, "little") if lying else tail[-4:]))


def write_plain(path: Path, size: int) -> None:
    """A valid day of as many counters as it takes (each its 24 hours): every row loads."""
    with path.open("wb") as out:
        out.write(HEADER.encode())
        written, arc = 0, 100_000
        while written < size:
            rows = "".join(ROW.format(arc=arc + i, stamp=stamp) for i in range(1000) for stamp in STAMPS).encode()
            out.write(rows)
            written += len(rows)
            arc += 1000


def write_long_line(path: Path, size: int) -> None:
    with path.open("wb") as out:
        out.write(HEADER.encode())
        out.write(b"101;" + b"x" * size + b"\n")


CASES = {
    "bomb": ("comptages_routiers_20240613.csv.gz", lambda p: write_gzip_bomb(p, 1 << 30, lying=False)),
    "lying_trailer": ("comptages_routiers_20240613.csv.gz", lambda p: write_gzip_bomb(p, 1 << 30, lying=True)),
    "long_line": ("comptages_routiers_20240613.csv", lambda p: write_long_line(p, 200 << 20)),
    "plain_1gb": ("comptages_routiers_20240613.csv", lambda p: write_plain(p, 1 << 30)),
    "plain_256mb": ("comptages_routiers_20240613.csv", lambda p: write_plain(p, 256 << 20)),   # a quicker check
}


def run(case: str) -> dict:
    name, write = CASES[case]
    home = Path(tempfile.mkdtemp(prefix=f"hub-bench-{case}-"))
    try:
        folder = home / "data" / "inbox" / "montpellier-metropole"
        folder.mkdir(parents=True)
        write(folder / name)
        size = (folder / name).stat().st_size
        env = {**os.environ, "HUB_HOME": str(home)}
        start = time.perf_counter()
        child = subprocess.Popen([HUB, "ingest", "--dataset", DATASET], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        output, _ = child.communicate()
        elapsed = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024   # KiB on Linux
        return {"case": case, "file_bytes": size, "seconds": round(elapsed, 2), "peak_rss_mib": round(peak / 2**20),
                "exit": child.returncode,
                "summary": [line for line in output.splitlines() if line.startswith(("Ingestion:", "  ")) and "return fn(" not in line][:3], "tail": output[-800:]}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    wanted = sys.argv[1:] or list(CASES)
    results = []
    for case in wanted:          # one child per case: ru_maxrss of children is a maximum over all of them
        out = subprocess.run([sys.executable, __file__, "--one", case], capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stdout, out.stderr)
            continue
        result = json.loads(out.stdout)
        results.append(result)
        print(f"{case:<14} {result['file_bytes'] / 2**20:>8,.0f} MiB file  {result['seconds']:>7.1f} s  "
              f"peak RSS {result['peak_rss_mib']:>6,} MiB  {result['summary']}")
    folder = Path(__file__).parent / "results"
    folder.mkdir(exist_ok=True)
    (folder / "hostile.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(run(sys.argv[2])))
    else:
        main()
