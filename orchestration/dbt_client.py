"""``hub-dbt``: ``dbt`` as the hub's dbt server runs it (``dbt_server.py``), or dbt itself.

dbt's import costs seconds; a build runs dbt three times, the tests about a hundred. This command
takes dbt's own arguments and hands them, with its environment, folder and standard streams, to
the server named by ``HUB_DBT_SERVER`` (a Unix socket in a private folder), which forks a child
that already holds dbt: the child reads and writes this process's own streams, so a caller
(dagster-dbt streaming dbt's JSON log) sees what ``dbt`` itself would print. This process waits,
forwards SIGINT and SIGTERM to the child, and exits with its code. Without a server (the variable
unset, the socket gone), it becomes ``dbt`` (exec).

Imports nothing heavy: its own start is a few tens of milliseconds.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import threading
from pathlib import Path

SERVER_VARIABLE = "HUB_DBT_SERVER"
MESSAGE_BYTES = 1 << 20          # a request: arguments and environment


class ServerGone(ConnectionError):
    """The server closed the connection before the child's exit code."""


def run_via_server(path: str, args: list[str], env: dict[str, str], cwd: str, streams: tuple[int, int, int],
                   *, on_wait=lambda: None) -> int:
    """dbt ``args`` run by the server at ``path`` with ``streams`` (stdin, stdout, stderr file
    descriptors) as the child's; returns its exit code (``on_wait`` called every 0.2 s meanwhile).
    Raises OSError when no server answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
        conn.connect(path)
        request = json.dumps({"args": args, "env": env, "cwd": cwd}).encode()
        if len(request) > MESSAGE_BYTES:
            raise OSError(f"dbt request of {len(request)} bytes")
        socket.send_fds(conn, [request], list(streams))
        started = conn.recv(4096)
        if not started:
            raise ServerGone("the dbt server did not start the command")
        child = json.loads(started)["pid"]
        forward = {sig: signal.signal(sig, lambda number, _frame: os.kill(child, number))
                   for sig in (signal.SIGINT, signal.SIGTERM)} if _main_thread() else {}
        try:
            while not select.select([conn], [], [], 0.2)[0]:
                on_wait()
            ended = conn.recv(4096)
        finally:
            for sig, handler in forward.items():
                signal.signal(sig, handler)
        if not ended:
            raise ServerGone("the dbt server stopped before the command ended")
        return json.loads(ended)["code"]


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()    # only it may set signal handlers


def main() -> None:
    path = os.environ.get(SERVER_VARIABLE)
    if path:
        try:
            sys.exit(run_via_server(path, sys.argv[1:], dict(os.environ), os.getcwd(), (0, 1, 2)))
        except (FileNotFoundError, ConnectionRefusedError):
            pass                     # no server (any more): dbt itself
        except ServerGone as exc:
            print(f"hub-dbt: {exc}", file=sys.stderr)
            sys.exit(2)
    dbt = Path(sys.executable).with_name("dbt")
    os.execv(dbt, [str(dbt), *sys.argv[1:]])


if __name__ == "__main__":
    main()
