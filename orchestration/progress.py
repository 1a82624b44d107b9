"""Progress of long work: a tqdm bar on a terminal, else a line every few seconds on stderr (a log,
a CI job, the compute log of a Dagster run: no carriage returns)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

PROGRESS_SECONDS = 5.0


@contextmanager
def progress(unit: str) -> Iterator[Callable[[], None]]:
    """A counter of ``unit`` done; yields the function to call for each one."""
    if sys.stderr.isatty():
        with tqdm(desc=unit, unit="file", file=sys.stderr, leave=False) as bar:
            yield lambda: bar.update(1)
        return
    started = last = time.monotonic()
    done = 0

    def tick() -> None:
        nonlocal done, last
        done += 1
        now = time.monotonic()
        if now - last >= PROGRESS_SECONDS:
            last = now
            print(f"  {done} {unit} processed ({now - started:.0f} s)…", file=sys.stderr, flush=True)

    yield tick
