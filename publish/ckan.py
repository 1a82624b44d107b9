"""Talking to a CKAN portal (2.10+) with ckanapi: retried, idempotent.

- Every call is retried on connection errors, timeouts and 5xx with bounded exponential backoff
  (the portal restarting must not fail a publication).
- A resource is identified by its name within its dataset; its file's SHA-256 is kept in CKAN's
  ``hash`` field: same checksum, nothing is sent (same resource id, same ``last_modified``).
- Changed files are uploaded first; the dataset's metadata (quality status, run, coverage) is
  switched last, in one ``package_patch``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import requests
from ckanapi import CKANAPIError, NotFound, RemoteCKAN

RETRIABLE = (requests.ConnectionError, requests.Timeout, CKANAPIError)


class PortalUnavailable(RuntimeError):
    """The portal kept failing after the retries."""


@dataclass
class Client:
    url: str
    token: str
    attempts: int = 5
    backoff: float = 1.0          # 1, 2, 4, 8 s between attempts (bounded)
    timeout: float = 60.0

    def __post_init__(self) -> None:
        self._api = RemoteCKAN(self.url, apikey=self.token, user_agent="territoire-hub-publisher/0.1")

    def call(self, action: str, files: dict[str, Path] | None = None, **data: Any) -> Any:
        for attempt in range(1, self.attempts + 1):
            handles = {k: open(p, "rb") for k, p in (files or {}).items()}
            try:
                return self._api.call_action(action, data_dict=data, files=handles or None,
                                             requests_kwargs={"timeout": self.timeout})
            except NotFound:
                raise
            except RETRIABLE as exc:
                if isinstance(exc, CKANAPIError) and not _is_server_error(exc):
                    raise
                if attempt == self.attempts:
                    raise PortalUnavailable(f"{action} on {self.url} failed {attempt} times: {exc}") from exc
                time.sleep(min(self.backoff * 2 ** (attempt - 1), 30))
            finally:
                for h in handles.values():
                    h.close()

    def show(self, action: str, **data: Any) -> dict | None:
        try:
            return self.call(action, **data)
        except NotFound:
            return None


def _is_server_error(exc: CKANAPIError) -> bool:
    text = str(exc)
    return any(code in text for code in ("500", "502", "503", "504")) or "Internal Server Error" in text


def ensure_organization(client: Client, organisation: dict) -> dict:
    found = client.show("organization_show", id=organisation["name"])
    return found or client.call("organization_create", **organisation)


def ensure_group(client: Client, name: str, title: str) -> dict:
    found = client.show("group_show", id=name)
    return found or client.call("group_create", name=name, title=title)


@dataclass(frozen=True)
class ResourceFile:
    name: str
    path: Path
    format: str
    description: str
    datastore: Any = None          # pyarrow.Table to load into the DataStore, or None


def sync_dataset(client: Client, metadata: dict, files: list[ResourceFile],
                 on_change: Callable[[str], None] = lambda _: None) -> dict:
    """Create or update one dataset: upload changed files, then switch the metadata. Returns counts."""
    from territoire_hub.publish.files import sha256

    dataset = client.show("package_show", id=metadata["name"])
    if dataset is None:
        dataset = client.call("package_create", **{**metadata, "resources": []})
    existing = {r["name"]: r for r in dataset.get("resources", [])}
    changed = 0
    for item in files:
        digest = sha256(item.path)
        current = existing.get(item.name)
        if current is not None and current.get("hash") == digest:
            continue
        fields = {"name": item.name, "format": item.format, "description": item.description, "hash": digest}
        if current is None:
            resource = client.call("resource_create", files={"upload": item.path}, package_id=dataset["id"], **fields)
        else:
            resource = client.call("resource_patch", files={"upload": item.path}, id=current["id"], **fields)
        if item.datastore is not None:
            load_datastore(client, resource["id"], item.datastore)
        changed += 1
        on_change(item.name)
    stale = [r for name, r in existing.items() if name not in {f.name for f in files}]
    for resource in stale:
        client.call("resource_delete", id=resource["id"])
    if changed or stale or _metadata_differs(dataset, metadata):
        client.call("package_patch", id=dataset["id"], **{k: v for k, v in metadata.items() if k != "name"})
    return {"changed": changed, "removed": len(stale)}


def _metadata_differs(dataset: dict, metadata: dict) -> bool:
    for key, value in metadata.items():
        if key in ("groups", "tags"):
            have = sorted(x["name"] for x in dataset.get(key, []))
            if have != sorted(x["name"] for x in value):
                return True
        elif dataset.get(key) != value:
            return True
    return False


DATASTORE_TYPES = [("is_integer", "int8"), ("is_floating", "float8"), ("is_decimal", "numeric"),
                   ("is_boolean", "bool"), ("is_date", "date"), ("is_timestamp", "timestamp")]


def load_datastore(client: Client, resource_id: str, table, chunk: int = 5000) -> None:
    """Replace the resource's DataStore table with ``table`` (so the API and the preview query it)."""
    import pyarrow as pa

    fields = []
    for f in table.schema:
        kind = next((t for test, t in DATASTORE_TYPES if getattr(pa.types, test)(f.type)), "text")
        fields.append({"id": f.name, "type": kind})
    try:
        client.call("datastore_delete", resource_id=resource_id, force=True)
    except (NotFound, CKANAPIError):
        pass
    client.call("datastore_create", resource_id=resource_id, force=True, fields=fields, records=[])
    rows = table.to_pylist()
    for start in range(0, len(rows), chunk):
        records = [{k: (v.isoformat() if hasattr(v, "isoformat") else (float(v) if hasattr(v, "as_tuple") else v))
                    for k, v in r.items()} for r in rows[start:start + chunk]]
        client.call("datastore_upsert", resource_id=resource_id, force=True, method="insert", records=records)
