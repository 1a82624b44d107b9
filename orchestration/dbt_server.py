"""A process that has imported dbt once and forks a fresh child for each dbt command.

dbt's import costs seconds (its artefact schemas are built at import time); the hub runs dbt many
times in one session (a build's three dbt steps, the gate's re-runs, the tests: about a hundred).
The hub starts this server once per process (``python -m territoire_hub.orchestration.dbt_server
<socket>``); it listens on a Unix socket in a private folder. A client (``hub-dbt``, which
dagster-dbt runs as its dbt executable, or ``run_dbt``) sends one request per command —
``{"args": [...], "env": {...}, "cwd": "..."}`` with its stdin, stdout and stderr file descriptors
attached — and the server forks: the child is a new process, exactly as if ``dbt <args>`` had
been typed, with dbt already in memory, reading and writing the client's own streams. The server
answers ``{"pid": n}``, then ``{"code": n}`` when the child exits; a client that goes away takes
its child with it (SIGTERM). The server holds no connection and no state: a child never sees
what another one did. It stops, removing its socket, when its standard input closes (the hub
process that started it ended).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import traceback
from pathlib import Path

from dbt.cli.main import cli

from territoire_hub.orchestration.dbt_client import MESSAGE_BYTES


def run_child(request: dict, streams: list[int]) -> None:
    """In the forked child: dbt's own command line (the ``dbt`` script's entry point, with its
    usage errors and exit codes) on the client's streams, then a normal exit (dbt's and
    multiprocessing's exit handlers run, as when the dbt command ends)."""
    code: int | str | None = 2
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for fd, received in zip((0, 1, 2), streams):
            os.dup2(received, fd)
            os.close(received)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["dbt", *request["args"]]
        cli.main(args=request["args"], prog_name="dbt")
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:  # noqa: BLE001 - reported in the output, as dbt's command line does
        traceback.print_exc()
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


def _serve_one(listener: socket.socket, conn: socket.socket) -> None:
    message, streams, _, _ = socket.recv_fds(conn, MESSAGE_BYTES, 3)
    if not message or len(streams) != 3:
        for fd in streams:
            os.close(fd)
        return
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        listener.close()
        conn.close()
        run_child(request, streams)
    for fd in streams:
        os.close(fd)
    conn.send(json.dumps({"pid": pid}).encode())
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if select.select([conn], [], [], 0.2)[0] and not conn.recv(1):   # the client went away
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
            return
    try:
        conn.send(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode())
    except OSError:
        pass


def serve(path: str, parent=sys.stdin) -> None:
    """Serve on the socket ``path`` until ``parent`` (a pipe from the starting process) closes."""
    server = os.getpid()          # a child leaves through this function too (sys.exit): it cleans nothing
    signal.signal(signal.SIGTERM, lambda _number, _frame: sys.exit(0))      # stopped: clean up below
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(8)
    try:
        while True:
            ready = select.select([listener, parent], [], [])[0]
            if parent in ready and not os.read(parent.fileno(), 4096):
                return
            if listener in ready:
                conn, _ = listener.accept()
                with conn:
                    _serve_one(listener, conn)
    finally:
        listener.close()
        if os.getpid() == server:
            Path(path).unlink(missing_ok=True)
            try:
                Path(path).parent.rmdir()          # the private folder the hub made for it
            except OSError:
                pass


if __name__ == "__main__":
    serve(sys.argv[1])
