"""A process that has imported dbt once and forks a fresh child for each dbt command.

dbt's import costs seconds (its artefact schemas are built at import time); the hub runs dbt many
times in one session (a build, the gate's re-runs, the tests: about a hundred). ``hub`` starts this
server once (``python -m territoire_hub.orchestration.dbt_server``) and sends it one JSON line per
command: ``{"args": [...], "env": {...}, "cwd": "...", "output": "<file>", "errors": "<file>"}``. The server forks; the
child is a new process, exactly as if ``dbt <args>`` had been typed, with dbt already in memory:
it sets its environment and folder, writes dbt's standard output and error to those files and exits with dbt's code,
which the server sends back as ``{"code": n}``. The server holds no connection and no state: a
child never sees what another one did. It stops when its standard input closes.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

from dbt.cli.main import dbtRunner


def run_child(request: dict) -> None:
    """In the forked child: dbt's own command line, then a normal exit with dbt's code (dbt's and
    multiprocessing's exit handlers run, as when the dbt command ends)."""
    code = 2
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, name in ((1, "output"), (2, "errors")):
            os.dup2(os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        result = dbtRunner().invoke(request["args"])
        if result.exception is not None:        # a usage error: dbt's command line prints it
            print(f"Error: {result.exception}", file=sys.stderr)
        code = 0 if result.success else (2 if result.exception is not None else 1)
    except BaseException:  # noqa: BLE001 - reported in the output, as dbt's command line does
        traceback.print_exc()
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


def serve(requests=sys.stdin, replies=sys.stdout) -> None:
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            run_child(request)
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve()
