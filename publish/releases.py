"""Releases: each indicator family is a DCAT dataset series, each of its releases a member dataset.

A release is named after the latest year its tables hold (``trafic-routier-2024``: edition
``2024``). A released dataset's files are never overwritten: when the files of the current edition
change (a partner's correction, a fixed model), the publication is a new version of it
(``trafic-routier-2024-v02``, edition ``2024-v02``) with a changelog entry, and the earlier
version stays on the portal, downloadable. The same files again change nothing. Editions sort as
text: years, then their versions, in order (``2024`` < ``2024-v02`` < ``2025``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from territoire_hub.publish.ckan import Client

PARIS = ZoneInfo("Europe/Paris")
MAX_VERSIONS = 99


@dataclass(frozen=True)
class Release:
    family: str
    edition: str            # the latest year of the tables ("2024")
    version: int            # 1, then 2, 3… for corrections

    @property
    def name(self) -> str:
        return f"{self.family}-{self.label}"

    @property
    def label(self) -> str:
        """The dataset's ``version`` (dcat:version): ``2024``, ``2024-v02``."""
        return self.edition if self.version == 1 else f"{self.edition}-v{self.version:02d}"


def edition_of(years: list[int]) -> str:
    """The edition a publication belongs to: the latest year in its tables (else this month)."""
    return str(max(years)) if years else datetime.now(PARIS).strftime("%Y-%m")


def current(client: Client, family: str, edition: str) -> tuple[Release, dict] | None:
    """The latest published version of ``edition`` and its dataset, or None."""
    found = None
    for version in range(1, MAX_VERSIONS + 1):
        release = Release(family, edition, version)
        dataset = client.show("package_show", id=release.name)
        if dataset is None:
            return found
        found = (release, dataset)
    raise RuntimeError(f"{family}: edition {edition} has {MAX_VERSIONS} versions; refusing to add one")


def same_files(dataset: dict, digests: dict[str, str]) -> bool:
    """True when the released dataset holds each of these files (name and SHA-256). Anything else
    on it — a resource someone added, a second copy — is not part of the release: the publication
    repairs the dataset in place (its released files are not touched)."""
    held = {(r["name"], r.get("hash")) for r in dataset.get("resources", [])}
    return all((name, digest) in held for name, digest in digests.items())


def first_notes(release: Release) -> str:
    return f"Édition {release.edition}, publiée le {_today()}."


def correction_notes(release: Release, previous: Release, previous_dataset: dict, digests: dict[str, str],
                     base_url: str) -> str:
    """The changelog of a correction: what changed since the version it follows."""
    held = {r["name"]: r.get("hash") for r in previous_dataset.get("resources", [])}
    changed = sorted(name for name, digest in digests.items() if held.get(name) not in (None, digest))
    added = sorted(set(digests) - set(held))
    removed = sorted(set(held) - set(digests))
    parts = [f"Version {release.version} de l'édition {release.edition}, publiée le {_today()} : correction."]
    if changed:
        parts.append(f"Fichiers modifiés : {', '.join(changed)}.")
    if added:
        parts.append(f"Fichiers ajoutés : {', '.join(added)}.")
    if removed:
        parts.append(f"Fichiers retirés : {', '.join(removed)}.")
    parts.append(f"La version précédente ({previous.label}) reste téléchargeable : "
                 f"{base_url}/dataset/{previous.name}")
    return "\n\n".join(parts)


def _today() -> str:
    return datetime.now(PARIS).strftime("%d/%m/%Y")
