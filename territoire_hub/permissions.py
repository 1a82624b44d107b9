"""Who may read the hub's files: its own account, and the analysts' group for their snapshot.

The hub holds partners' raw rows (some declared ``personal``), so everything it writes is private
to the account it runs as: every process sets the umask ``PRIVATE_UMASK`` when it starts (the
``hub`` command, Dagster's code location) and the places that matter get explicit modes as well,
so a umask changed by a parent process or an operator's shell cannot widen them:

* folders 0700, files 0600: warehouse, landing store, quarantine, quality reports, partner
  exports (the operator hands an export over; the partner never reads the hub's disk);
* the analysts' snapshot 0640 in a 0750 folder, group ``HUB_ANALYSTS_GROUP``; without that
  setting it stays 0600 like the rest.
"""

from __future__ import annotations

import grp
import os
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
GROUP_DIR = 0o750
GROUP_FILE = 0o640


class PermissionsError(RuntimeError):
    """A setting about file access is wrong (an unknown group)."""


def private_process() -> None:
    """Every file this process (and its children) creates is private unless said otherwise."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """``path`` and its missing parents created 0700; ``path`` itself set to 0700 if it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    path.chmod(PRIVATE_FILE)
    return path


def group_id(group: str | None) -> int | None:
    """The numeric id of ``group`` (a name or a number), None when no group is configured."""
    if not group:
        return None
    try:
        return int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    except KeyError:
        raise PermissionsError(f"HUB_ANALYSTS_GROUP={group!r}: no such group on this machine "
                               "(create it with groupadd, or leave the setting empty)") from None


def shared_with_group(path: Path, group: str | None, *, folder: bool = False) -> Path:
    """``path`` readable by ``group`` (0640, or 0750 for a folder), by its owner only without one."""
    gid = group_id(group)
    if gid is None:
        path.chmod(PRIVATE_DIR if folder else PRIVATE_FILE)
    else:
        os.chown(path, -1, gid)
        path.chmod(GROUP_DIR if folder else GROUP_FILE)
    return path
