"""The Data Docs of a build, rendered by a process started with the build.

Rendering the gates' pages needs Great Expectations, whose import costs seconds (2.5 s on an idle
machine, 5 s beside a build); the build's own process never imports it (the gates validate inside
DuckDB). ``DocsRenderer`` starts ``python -m territoire_hub.expectations.docs_renderer`` as the
build starts: the child imports GX and opens the hub's GX context while the build's runs go on,
then waits on its standard input. ``render()`` tells it to render the results stored since the
last rendering (``QualityContext.build_docs``) and waits for it; ``close()`` without rendering
stops it (the results stay pending for the next rendering). A process, not a thread: an
import in a thread beside Dagster's could meet the main thread's imports on a module lock.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from territoire_hub.expectations.runtime import QualityContext

RENDER = "render"


class Rendering(NamedTuple):
    index: Path           # the Data Docs' index page
    pages: int            # results whose pages were rendered
    seconds: float        # how long the build waited for them


class DocsError(RuntimeError):
    """The Data Docs could not be rendered; the message carries the renderer's own lines."""


class DocsRenderer:
    """A renderer process for ``quality``'s Data Docs, started at once (use as a context manager)."""

    def __init__(self, quality: QualityContext) -> None:
        if quality.root is None or quality.docs_dir is None:
            raise DocsError("an in-memory quality context has no Data Docs")
        self._errors = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(quality.root), str(quality.docs_dir), str(quality.cache_dir or "")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors, text=True)

    def render(self) -> Rendering:
        """Render the pending results now (the child has imported GX meanwhile)."""
        started = time.monotonic()
        output, _ = self._process.communicate(RENDER + "\n")
        if self._process.returncode != 0:
            self._errors.seek(0)
            lines = self._errors.read().decode(errors="replace").strip().splitlines() or ["no output"]
            raise DocsError(f"the Data Docs renderer failed (exit code {self._process.returncode}): {lines[-1]}\n"
                            + "\n".join(lines[-20:-1]))
        index, pages = output.strip().splitlines()[-1].rsplit("\t", 1)
        return Rendering(Path(index), int(pages), time.monotonic() - started)

    def close(self) -> None:
        """Stop the child if it has not rendered (it may still be importing GX): the results it
        did not render stay pending for the next rendering."""
        if self._process.poll() is None:
            self._process.terminate()
            self._process.communicate()
        self._errors.close()

    def __enter__(self) -> "DocsRenderer":
        return self

    def __exit__(self, *_) -> None:
        self.close()


def main(argv: list[str]) -> int:
    root, docs, cache = argv
    quality = QualityContext(root=Path(root), docs_dir=Path(docs), cache_dir=Path(cache) if cache else None)
    quality.open()
    if sys.stdin.readline().strip() != RENDER:
        return 0
    index, pages = quality.render_pending()
    print(f"{index}\t{pages}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
