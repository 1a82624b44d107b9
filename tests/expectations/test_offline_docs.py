"""The Data Docs render without network access: the demo's pages point to no CDN, every asset they
name is in the docs folder, Chromium with every host unresolvable runs their scripts (the result
tables are built by bootstrap-table); a package whose bytes differ from the pinned integrity is
refused; without the assets, the message says how to get them."""

from __future__ import annotations

import http.server
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from territoire_hub.expectations import offline_docs
from territoire_hub.settings import Settings

REMOTE = re.compile(r"""(?:src|href)=["'](https?://[^"']+)["']""")


@pytest.fixture(scope="module")
def docs(demo_home) -> Path:
    return Settings.from_env({"HUB_HOME": str(demo_home)}).data_dir / "quality" / "docs"


def pages(docs: Path) -> list[Path]:
    return sorted(docs.rglob("*.html"))


def test_no_page_loads_anything_from_the_network(docs):
    found = pages(docs)
    assert len(found) > 5                                   # the index and the validations of the demo
    for page in found:
        text = page.read_text(encoding="utf-8")
        loaded = [u for u in REMOTE.findall(text) if re.search(r"\.(js|css|png)\b|npm/|@\d", u)
                  and "greatexpectations.io" not in u]
        assert loaded == [], (page, loaded[:3])
        # what the hub points to: the vendored assets and GX's logo (GX's own favicon link is one
        # level off in the validation pages: not the hub's, and harmless)
        for local in re.findall(r"""(?:src|href)=["']((?:\.\./)*static/(?:vendor/|images/logo-long)[^"'?#]*)""", text):
            assert (page.parent / local).resolve().is_file(), (page, local)


def render_offline(url: str, profile: Path) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Debian's chromium is needed (make test installs it)"
    return subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND", "--allow-file-access-from-files",
         "--virtual-time-budget=8000", "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout


def test_chromium_without_network_renders_the_index_and_a_validation(docs, tmp_path):
    validation = next(p for p in pages(docs) if "validations" in p.parts)
    for page in (docs / "index.html", validation):
        dom = render_offline(page.as_uri(), tmp_path / "profile")
        # bootstrap-table wraps each table it builds: its script (and jQuery, Bootstrap) did run
        assert "fixed-table-container" in dom, page


def test_a_package_that_is_not_the_pinned_one_is_refused(tmp_path):
    """A registry on loopback serving a tarball that differs from the pinned integrity."""
    first = offline_docs.PACKAGES[0]
    root = tmp_path / "registry"
    served = root / first.tarball("").lstrip("/")
    served.parent.mkdir(parents=True)
    served.write_bytes(b"\x1f\x8b not the published package")

    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(RuntimeError, match=rf"{first.name}.*differs from the pinned.*nothing kept"):
            offline_docs.fetch_assets(tmp_path / "cache", registry=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
    assert not (offline_docs.assets_dir(tmp_path / "cache") / "manifest.json").exists()


def test_without_the_assets_the_message_says_how_to_get_them(docs, tmp_path):
    copy = tmp_path / "docs"
    shutil.copytree(docs, copy)
    with pytest.raises(offline_docs.AssetsMissing, match="hub quality fetch-assets"):
        offline_docs.make_offline(copy, tmp_path / "empty-cache")
