"""The drop zone: what partners put in ``inbox/<partner_id>/``, examined without trusting it.

Anyone who can write to a partner's folder can put anything there: a symbolic link to a file of
the hub's account, a FIFO that blocks whoever opens it, a folder, a name with a line break. The
hub examines every entry without following it (``lstat``); only regular files are ever opened,
and without following a link (``O_NOFOLLOW``, checked again on the open file). Every other entry
stays where it is and is reported, with its partner, its kind and its name made printable: the
run summary, ``hub status`` and the Dagster sensor list them all.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from territoire_hub.names import printable
from territoire_hub.registry import PartnerDataset, Registry
from territoire_hub.sources.transports import FetchReport, Incoming


@dataclass(frozen=True)
class Unread:
    """A drop-zone entry the hub leaves in place, and why."""

    partner_id: str | None      # None: an entry at the top of the inbox, outside every partner folder
    name: str                   # printable (see territoire_hub.names)
    kind: str                   # regular file | symbolic link | directory | FIFO | device | socket
    reason: str

    def line(self) -> str:
        where = f"inbox/{self.partner_id}/" if self.partner_id else "inbox/"
        return f"{where}{self.name} ({self.kind}): {self.reason}"


def kind_of(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "regular file"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


@dataclass(frozen=True)
class Entry:
    """One name in a partner's folder, as ``lstat`` sees it (never followed)."""

    partner_id: str
    path: Path
    name: str
    kind: str
    mtime_ns: int

    @property
    def shown(self) -> str:
        return printable(self.name)


def partner_entries(inbox: Path, partner_id: str) -> tuple[list[Entry], list[Unread]]:
    """The entries of ``inbox/<partner_id>/`` (not recursive), and the folder itself when it cannot
    be read safely (a link, a file)."""
    folder = Path(inbox) / partner_id
    try:
        mode = os.lstat(folder).st_mode
    except FileNotFoundError:
        return [], []
    if not stat.S_ISDIR(mode):
        return [], [Unread(None, printable(partner_id), kind_of(mode),
                           f"partner {partner_id}'s drop folder is not a folder: nothing in it is read")]
    entries = []
    with os.scandir(folder) as listing:
        for item in listing:
            st = item.stat(follow_symlinks=False)
            entries.append(Entry(partner_id, folder.absolute() / item.name, item.name, kind_of(st.st_mode),
                                 st.st_mtime_ns))
    return entries, []


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:         # bytes that are not UTF-8, kept by Python as lone surrogates
        return False


def refusal(entry: Entry) -> str | None:
    """Why an entry is never read, whatever its name; None for a regular file the hub may claim."""
    if entry.kind != "regular file":
        return "not a regular file: never read (deliver the file itself)"
    if entry.name.startswith("."):
        return "hidden name: never read (a name starting with '.' is an upload tool's temporary file)"
    if entry.name.endswith(".part"):
        return "upload in progress (.part): read once renamed"
    if not _utf8(entry.name):
        return "file name is not valid UTF-8: never read (rename it)"
    return None


def claims(entry: Entry, candidates: Iterable[PartnerDataset]) -> list[tuple[PartnerDataset, str]]:
    """The datasets whose file-name pattern the entry's name matches, with the period it declares."""
    found = [(e, e.period_of(entry.name)) for e in candidates]
    return [(e, period) for e, period in found if period is not None]


def unread_entries(inbox: Path, registry: Registry) -> list[Unread]:
    """Every entry of the inbox that a run leaves in place, with its reason: the entries of each
    partner's folder that are not regular files or match none of its datasets, and anything at
    the top of the inbox that is not a partner's folder."""
    unread: list[Unread] = []
    inbox = Path(inbox)
    if inbox.is_dir():
        for item in sorted(os.scandir(inbox), key=lambda i: i.name):
            mode = item.stat(follow_symlinks=False).st_mode
            if item.name not in registry.partners:
                what = "no partner has this id" if stat.S_ISDIR(mode) else "not in a partner's folder"
                unread.append(Unread(None, printable(item.name), kind_of(mode), f"{what}: never read"))
    for partner_id in sorted(registry.partners):
        datasets = [e for e in registry.of_partner(partner_id) if e.dataset.filename is not None]
        entries, folder_problems = partner_entries(inbox, partner_id)
        unread += folder_problems
        for entry in sorted(entries, key=lambda e: e.name):
            reason = refusal(entry)
            if reason is None:
                matches = claims(entry, datasets)
                if not matches:
                    reason = f"matches no dataset of partner {partner_id}: left in place"
                elif len(matches) > 1:
                    reason = f"matches several datasets ({', '.join(e.key for e, _ in matches)}): left in place"
            if reason is not None:
                unread.append(Unread(partner_id, entry.shown, entry.kind, reason))
    return unread


def scan_inbox(inbox: Path, entries: list[PartnerDataset]) -> FetchReport:
    """The regular files of ``inbox/<partner_id>/`` (not recursive) that belong to one of
    ``entries``, oldest first (then by name). Only datasets with a file-name pattern claim files;
    a file two datasets claim is an error, left in place. Nothing is opened or deleted here; what
    is left unread is listed by :func:`unread_entries`."""
    report = FetchReport()
    by_partner: dict[str, list[PartnerDataset]] = {}
    for entry in entries:
        if entry.dataset.filename is not None:
            by_partner.setdefault(entry.partner.id, []).append(entry)
    found: list[tuple[int, str, Incoming]] = []
    for partner_id, candidates in sorted(by_partner.items()):
        items, _ = partner_entries(inbox, partner_id)
        for item in items:
            if refusal(item) is not None:
                continue
            matches = claims(item, candidates)
            if len(matches) > 1:
                keys = ", ".join(e.key for e, _ in matches)
                report.errors.append((f"inbox:{item.path}", f"{partner_id}: file {item.shown} matches several "
                                                            f"datasets ({keys})"))
            elif matches:
                entry, period = matches[0]
                name = unicodedata.normalize("NFC", item.name)     # as recorded: one form per name
                found.append((item.mtime_ns, name, Incoming(entry.key, name, f"inbox:{item.path}", item.path, period)))
    found.sort(key=lambda f: (f[0], f[1]))
    report.incoming = [f[2] for f in found]
    return report
