"""A fake partner web server speaking real HTTP on loopback, for tests and the demo.

The partners cannot be reached from here, so this stands in for them: it serves the
files under ``root`` with the validators a real server sends (ETag, Last-Modified),
answers conditional GETs, requires bearer tokens on some URL prefixes, and can be
told to misbehave (5xx, stall, truncated body, reset) to exercise client retries.
"""

from __future__ import annotations

import hashlib
import re
import hmac
import socket
import struct
import threading
from collections import deque
from dataclasses import replace
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Mapping
from urllib.parse import unquote, urlsplit

from territoire_hub.settings import Settings
from territoire_hub.registry import HttpTransport, Registry

FAULTS = ("500", "503", "timeout", "truncate", "reset")


class PartnerServer:
    """Serve ``root`` on ``http://127.0.0.1:<port>``; use as a context manager.

    ``requests`` logs ``(method, path, status)`` per request; status 0 means no answer
    was sent (faults "timeout" and "reset").
    """

    # How long the "timeout" fault stalls before closing; clients in tests use ~0.5 s.
    slow_seconds: float = 3.0

    def __init__(self, root: Path, port: int = 0, tokens: Mapping[str, str] | None = None):
        self.root = Path(root).resolve()
        self.port = port
        self.tokens = dict(tokens or {})
        self.requests: list[tuple[str, str, int]] = []
        self._faults: dict[str, deque[str]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("PartnerServer is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def inject(self, path: str, *faults: str) -> None:
        """Queue faults for a URL path; each request to that path consumes one."""
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; expected some of {FAULTS}")
        with self._lock:
            self._faults.setdefault(path, deque()).extend(faults)

    def start(self) -> "PartnerServer":
        handler = type("_BoundHandler", (_Handler,), {"partner_server": self})
        self._stopping.clear()
        self._httpd = _QuietServer(("127.0.0.1", self.port), handler)
        # a short poll interval keeps stop() fast (shutdown waits for one poll)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="partner-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers stalled by a "timeout" fault
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> "PartnerServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- used by the handler -------------------------------------------------------

    def _next_fault(self, path: str) -> str | None:
        with self._lock:
            queue = self._faults.get(path)
            return queue.popleft() if queue else None

    def _log(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))

    def _token_for(self, path: str) -> str | None:
        """The token of the longest prefix that applies to ``path``, if any."""
        prefixes = [p for p in self.tokens if path.startswith(p)]
        return self.tokens[max(prefixes, key=len)] if prefixes else None

    def _resolve(self, path: str) -> Path | None:
        """The file served for a URL path, or None (missing, or outside root)."""
        if not path.startswith("/") or "\x00" in path or "\\" in path:
            return None
        parts = path[1:].split("/")
        if any(part in ("", ".", "..") for part in parts):
            return None
        candidate = self.root.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        # resolve() follows symlinks, so a link pointing outside root is refused here
        if not resolved.is_relative_to(self.root) or not resolved.is_file():
            return None
        return resolved


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # clients hanging up mid-answer (timeouts, retries) are expected here
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # drop idle keep-alive connections so threads do not linger
    # headers and body leave in separate writes: without TCP_NODELAY each response waits ~40 ms
    # for the client's delayed ACK (Nagle)
    disable_nagle_algorithm = True
    partner_server: PartnerServer

    def log_message(self, format, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def _serve(self, with_body: bool) -> None:
        server = self.partner_server
        path = unquote(urlsplit(self.path).path)
        fault = server._next_fault(path)
        if fault in ("500", "503"):
            return self._answer(path, int(fault), b"injected fault\n")
        if fault == "timeout":
            server._log(self.command, path, 0)
            server._stopping.wait(server.slow_seconds)
            self.close_connection = True
            return None
        if fault == "reset":
            server._log(self.command, path, 0)
            # SO_LINGER 0: close() sends a TCP RST instead of a clean FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # drop the last reference so close() really closes now
            self.connection.close()
            self.close_connection = True
            return None

        required = server._token_for(path)
        if required is not None:
            given = self.headers.get("Authorization", "")
            expected = f"Bearer {required}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return self._answer(path, 401, b"authentication required\n", {"WWW-Authenticate": "Bearer"})

        file = server._resolve(path)
        if file is None:
            return self._answer(path, 404, b"not found\n")
        body = file.read_bytes()
        mtime = int(file.stat().st_mtime)
        headers = {
            "ETag": '"' + hashlib.sha256(body).hexdigest()[:16] + '"',
            "Last-Modified": formatdate(mtime, usegmt=True),
            "Content-Type": "application/octet-stream",
        }
        if self._not_modified(headers["ETag"], mtime):
            return self._answer(path, 304, b"", headers)
        if fault == "truncate":
            server._log(self.command, path, 200)
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))  # the full length, then half the bytes
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return None
        return self._answer(path, 200, body if with_body else b"", headers, length=len(body))

    def _not_modified(self, etag: str, mtime: int) -> bool:
        # RFC 9110 13.2.2: If-None-Match takes precedence over If-Modified-Since
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            return "*" in tags or etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since:
            try:
                since = parsedate_to_datetime(if_modified_since).timestamp()
            except (TypeError, ValueError):
                return False
            return mtime <= since
        return False

    def _answer(
        self, path: str, status: int, body: bytes, headers: Mapping[str, str] | None = None, length: int | None = None
    ) -> None:
        self.partner_server._log(self.command, path, status)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)


def protected_paths(registry: Registry, token: str) -> dict[str, str]:
    """Path prefixes the demo server protects: those of the datasets declared ``auth: bearer``."""
    paths = {}
    for entry in registry.datasets.values():
        transport = entry.dataset.transport
        if isinstance(transport, HttpTransport) and transport.auth == "bearer":
            path = re.sub(r"^\$\{[^}]+\}", "", transport.url).split("{", 1)[0]
            paths[f"/{entry.partner.id}{path.rsplit('/', 1)[0]}/"] = token
    return paths


def demo_environment(settings: Settings, registry: Registry, url: str, token: str) -> dict[str, str]:
    """:func:`demo_settings` as the environment variables that give them (``HUB_URL_*``,
    ``HUB_PARTNER_TOKEN_*``): what a run reading its settings from the environment needs."""
    served = demo_settings(settings, registry, url, token)
    return {**served.url_vars,
            **{f"HUB_PARTNER_TOKEN_{name.upper()}": value for name, value in served.partner_tokens.items()}}


def demo_settings(settings: Settings, registry: Registry, url: str, token: str) -> Settings:
    """The settings pointing every HTTP partner at the demo server, with its one-run token."""
    url_vars = {**settings.url_vars}
    for partner_id in registry.partners:
        url_vars.setdefault(f"HUB_URL_{partner_id.upper().replace('-', '_')}", f"{url}/{partner_id}")
    bearer = {e.partner.id for e in registry.datasets.values()
              if isinstance(e.dataset.transport, HttpTransport) and e.dataset.transport.auth == "bearer"}
    tokens = {**settings.partner_tokens, **{p.replace("-", "_"): token for p in bearer}}
    return replace(settings, url_vars=url_vars, partner_tokens=tokens)
