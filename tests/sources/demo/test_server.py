"""The fake partner server, over real HTTP on loopback."""

from __future__ import annotations

import hashlib
import http.client
import os
import threading
import time
from email.utils import formatdate

import pytest

from territoire_hub.sources.demo.server import PartnerServer

CONTENT = b"station;date;t\n34172001;2024-03-01;12.5\n"
MTIME = 1_709_251_200  # 2024-03-01T00:00:00Z


@pytest.fixture()
def root(tmp_path):
    root = tmp_path / "root"
    (root / "horaire").mkdir(parents=True)
    data = root / "horaire" / "H_34_202403.csv"
    data.write_bytes(CONTENT)
    os.utime(data, (MTIME, MTIME))
    (root / "private").mkdir()
    (root / "private" / "occupancy.csv").write_bytes(b"secret rows\n")
    (tmp_path / "outside.txt").write_bytes(b"must not be served\n")
    return root


@pytest.fixture()
def server(root):
    with PartnerServer(root, tokens={"/private/": "s3cret-token"}) as srv:
        yield srv


def get(server: PartnerServer, path: str, headers: dict | None = None, method: str = "GET"):
    """Send ``path`` verbatim (no client-side normalisation of '..')."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_url_uses_a_free_loopback_port(root):
    srv = PartnerServer(root)
    with pytest.raises(RuntimeError):
        _ = srv.url
    with srv:
        assert srv.url.startswith("http://127.0.0.1:")
        assert int(srv.url.rsplit(":", 1)[1]) > 0


def test_serves_file_with_validators(server):
    status, headers, body = get(server, "/horaire/H_34_202403.csv")
    assert status == 200
    assert body == CONTENT
    assert headers["ETag"] == '"' + hashlib.sha256(CONTENT).hexdigest()[:16] + '"'
    assert headers["Last-Modified"] == "Fri, 01 Mar 2024 00:00:00 GMT"
    assert headers["Content-Length"] == str(len(CONTENT))
    assert server.requests == [("GET", "/horaire/H_34_202403.csv", 200)]


def test_head_sends_headers_without_body(server):
    status, headers, body = get(server, "/horaire/H_34_202403.csv", method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(len(CONTENT))


def test_if_none_match(server):
    _, headers, _ = get(server, "/horaire/H_34_202403.csv")
    etag = headers["ETag"]
    status, _, body = get(server, "/horaire/H_34_202403.csv", {"If-None-Match": etag})
    assert (status, body) == (304, b"")
    status, _, body = get(server, "/horaire/H_34_202403.csv", {"If-None-Match": '"other", ' + etag})
    assert status == 304
    status, _, body = get(server, "/horaire/H_34_202403.csv", {"If-None-Match": '"stale"'})
    assert (status, body) == (200, CONTENT)


def test_if_modified_since(server, root):
    path = "/horaire/H_34_202403.csv"
    assert get(server, path, {"If-Modified-Since": formatdate(MTIME, usegmt=True)})[0] == 304
    assert get(server, path, {"If-Modified-Since": formatdate(MTIME + 3600, usegmt=True)})[0] == 304
    assert get(server, path, {"If-Modified-Since": formatdate(MTIME - 1, usegmt=True)})[0] == 200
    assert get(server, path, {"If-Modified-Since": "not a date"})[0] == 200
    # the partner republishes: new content, newer mtime -> the old validators no longer hold
    data = root / "horaire" / "H_34_202403.csv"
    data.write_bytes(CONTENT + b"34172001;2024-03-02;13.0\n")
    os.utime(data, (MTIME + 86400, MTIME + 86400))
    status, headers, body = get(server, path, {"If-Modified-Since": formatdate(MTIME, usegmt=True)})
    assert status == 200
    assert body.endswith(b"13.0\n")
    assert headers["Last-Modified"] == "Sat, 02 Mar 2024 00:00:00 GMT"


def test_if_none_match_takes_precedence_over_if_modified_since(server):
    headers = {"If-None-Match": '"stale"', "If-Modified-Since": formatdate(MTIME, usegmt=True)}
    assert get(server, "/horaire/H_34_202403.csv", headers)[0] == 200


def test_missing_file_is_404(server):
    assert get(server, "/horaire/H_34_209912.csv")[0] == 404
    assert get(server, "/horaire")[0] == 404  # a folder is not a file
    assert server.requests[-2:] == [("GET", "/horaire/H_34_209912.csv", 404), ("GET", "/horaire", 404)]


@pytest.mark.parametrize(
    "path",
    ["/../outside.txt", "/horaire/../../outside.txt", "/%2e%2e/outside.txt", "/..%2Foutside.txt", "//etc/passwd",
     "/horaire/./H_34_202403.csv"],
)
def test_path_traversal_is_refused(server, path):
    status, _, body = get(server, path)
    assert status == 404
    assert b"must not be served" not in body


def test_symlink_escaping_root_is_refused(server, root, tmp_path):
    (root / "escape.txt").symlink_to(tmp_path / "outside.txt")
    (root / "alias.csv").symlink_to(root / "horaire" / "H_34_202403.csv")
    assert get(server, "/escape.txt")[0] == 404
    status, _, body = get(server, "/alias.csv")  # a link that stays inside root is fine
    assert (status, body) == (200, CONTENT)


def test_bearer_token_required_on_prefix(server):
    status, headers, _ = get(server, "/private/occupancy.csv")
    assert status == 401
    assert headers["WWW-Authenticate"] == "Bearer"
    assert get(server, "/private/occupancy.csv", {"Authorization": "Bearer wrong"})[0] == 401
    assert get(server, "/private/occupancy.csv", {"Authorization": "s3cret-token"})[0] == 401
    status, _, body = get(server, "/private/occupancy.csv", {"Authorization": "Bearer s3cret-token"})
    assert (status, body) == (200, b"secret rows\n")
    assert get(server, "/horaire/H_34_202403.csv")[0] == 200  # other paths stay public


def test_faults_are_consumed_one_per_request(server):
    path = "/horaire/H_34_202403.csv"
    server.inject(path, "503", "500")
    assert [get(server, path)[0] for _ in range(3)] == [503, 500, 200]
    assert [r[2] for r in server.requests] == [503, 500, 200]
    with pytest.raises(ValueError, match="unknown fault"):
        server.inject(path, "418")


def test_truncate_announces_full_length_and_sends_half(server):
    path = "/horaire/H_34_202403.csv"
    server.inject(path, "truncate")
    with pytest.raises(http.client.IncompleteRead) as info:
        get(server, path)
    assert info.value.partial == CONTENT[: len(CONTENT) // 2]
    assert get(server, path)[2] == CONTENT


def test_reset_closes_without_answer(server):
    path = "/horaire/H_34_202403.csv"
    server.inject(path, "reset")
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        get(server, path)
    assert server.requests == [("GET", path, 0)]


def test_timeout_fault_stalls_then_stop_does_not_hang(root):
    srv = PartnerServer(root).start()
    srv.slow_seconds = 30  # stop() must wake the stalled handler, not wait for this
    srv.inject("/horaire/H_34_202403.csv", "timeout")
    host, port = srv.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=0.5)
    conn.request("GET", "/horaire/H_34_202403.csv")
    with pytest.raises(TimeoutError):
        conn.getresponse()
    conn.close()
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 2
    assert srv.requests == [("GET", "/horaire/H_34_202403.csv", 0)]


def test_server_is_quiet(server, capfd):
    get(server, "/horaire/H_34_202403.csv")
    get(server, "/nothing")
    server.inject("/horaire/H_34_202403.csv", "reset")
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        get(server, "/horaire/H_34_202403.csv")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_concurrent_requests(server):
    results: list[int] = []

    def worker():
        results.append(get(server, "/horaire/H_34_202403.csv")[0])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 8
    assert len(server.requests) == 8
