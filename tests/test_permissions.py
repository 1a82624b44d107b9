"""The hub's files are its own (issue 19.3): warehouse, landing store, quality reports and partner
exports private to the hub's account, the analysts' snapshot readable by HUB_ANALYSTS_GROUP only.
Another account is played by ``nobody`` (setpriv, as root), with the folders above the hub home
opened (o+x) so that only the hub's own modes protect its files."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from territoire_hub.permissions import PermissionsError, group_id, private_dir, shared_with_group
from tests.conftest import copy_home, hub

AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="another local account is played with setpriv (root)")
ANALYSTS = "users"   # a group every Debian system has


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def reads(path: Path, *groups: str) -> subprocess.CompletedProcess:
    """``nobody`` (with ``groups`` only) reading ``path``."""
    group_option = f"--groups={','.join(groups)}" if groups else "--clear-groups"
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", group_option, "cat", str(path)],
                          capture_output=True, timeout=30)


def test_private_dir_and_group_sharing(tmp_path):
    old = os.umask(0o022)   # an operator's permissive shell: explicit modes still hold
    try:
        folder = private_dir(tmp_path / "a" / "b")
        assert mode(folder) == 0o700
        (folder / "f").write_text("x")
        assert mode(shared_with_group(folder / "f", None)) == 0o600
        assert mode(shared_with_group(folder, None, folder=True)) == 0o700
        shared = shared_with_group(folder / "f", ANALYSTS)
        assert mode(shared) == 0o640 and shared.stat().st_gid == group_id(ANALYSTS)
    finally:
        os.umask(old)
    with pytest.raises(PermissionsError, match="HUB_ANALYSTS_GROUP='analystes-inconnus': no such group"):
        group_id("analystes-inconnus")
    assert group_id(None) is None and group_id("100") == 100


@pytest.fixture(scope="module")
def opened_home(demo_home, tmp_path_factory):
    """A copy of the demo home with a partner export, every folder above it crossable by others."""
    settings = copy_home(demo_home, tmp_path_factory.mktemp("permissions") / "home")
    hub(settings.home, "partner", "export", "enedis")
    opened = []
    for folder in [settings.home, *settings.home.parents]:
        if folder in (Path("/tmp"), Path("/")) or folder.stat().st_uid != os.getuid():
            break
        opened.append((folder, mode(folder)))
        folder.chmod(mode(folder) | 0o001)
    yield settings
    for parent, before in opened:
        parent.chmod(before)


def test_the_hub_s_files_are_private(opened_home):
    s = opened_home
    assert mode(s.warehouse) == 0o600 and mode(s.warehouse.parent) == 0o700
    assert mode(s.landing) == 0o700
    landed = [p for p in s.landing.rglob("*") if p.is_file()]
    assert landed and {mode(p) for p in landed} <= {0o400, 0o600}
    reports = s.data_dir / "quality"
    assert mode(reports) == 0o700 and {mode(p) for p in reports.rglob("*.json")} == {0o600}
    export = s.exports_dir / "enedis.duckdb"
    assert mode(export) == 0o600 and mode(s.exports_dir) == 0o700
    assert mode(s.shared_warehouse) == 0o600   # no HUB_ANALYSTS_GROUP: the snapshot is private too


@AS_ROOT
def test_another_account_reads_none_of_them(opened_home):
    s = opened_home
    targets = [s.warehouse, s.shared_warehouse, s.exports_dir / "enedis.duckdb",
               next(p for p in s.landing.rglob("*") if p.is_file()),
               next((s.data_dir / "quality").rglob("*.json"))]
    for target in targets:
        done = reads(target)
        assert done.returncode != 0 and b"Permission denied" in done.stderr, target
    # the control: the same account reads a file that is not private (the test can fail)
    world = s.home / "world-readable.txt"
    world.write_text("public")
    world.chmod(0o644)
    assert reads(world).stdout == b"public"


@AS_ROOT
def test_the_analysts_group_reads_the_snapshot_and_nothing_else(opened_home, monkeypatch):
    s = opened_home
    monkeypatch.setenv("HUB_ANALYSTS_GROUP", ANALYSTS)
    hub(s.home, "snapshot")
    assert mode(s.shared_warehouse) == 0o640 and s.shared_warehouse.stat().st_gid == group_id(ANALYSTS)
    assert mode(s.shared_warehouse.parent) == 0o750
    assert reads(s.shared_warehouse, ANALYSTS).returncode == 0
    assert reads(s.shared_warehouse).returncode != 0            # not a member: refused
    assert reads(s.warehouse, ANALYSTS).returncode != 0         # the hub's own warehouse: refused to members
    assert reads(s.exports_dir / "enedis.duckdb", ANALYSTS).returncode != 0


def test_an_unknown_analysts_group_is_a_clear_error(opened_home, monkeypatch):
    monkeypatch.setenv("HUB_ANALYSTS_GROUP", "analystes-inconnus")
    done = hub(opened_home.home, "snapshot", check=False)
    assert done.returncode != 0
    assert "HUB_ANALYSTS_GROUP='analystes-inconnus': no such group" in done.stdout + done.stderr
