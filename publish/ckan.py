"""Talking to a CKAN portal (2.10+) with ckanapi: retried, idempotent, switched atomically.

- Every call is retried on connection errors, timeouts and 5xx with bounded exponential backoff
  (the portal restarting must not fail a publication).
- A resource is identified by its name within its dataset; its file's SHA-256 is kept in CKAN's
  ``hash`` field (``hash_algorithm``: SPDX's sha256): same checksum, the file is not sent again
  (same resource id, same ``last_modified``); a description or media type that changed alone is
  sent without the file.
- A dataset changes in **one** ``package_revise`` request: the changed files (uploaded in the same
  multipart request), the new and removed resources and the metadata (quality status, run,
  coverage). CKAN moves the files into place and commits the resource list and metadata within
  that request, so an interrupted publication never leaves a dataset with some resources new and
  others old. (CKAN writes each file just before its commit: if that commit failed, the file would
  be ahead of its ``hash`` until the next run sends it again.) The request is guarded by the
  ``metadata_modified`` read just before: if the request or its answer is lost (portal down,
  timeout, 5xx) the whole step is planned again from what the portal then holds, so a retry never
  uploads twice nor adds a resource twice.
- The DataStore copy of a table is refreshed after the switch; the checksum it was loaded from is
  kept in the resource's ``datastore_hash``, so a load cut short is redone by the next run.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import requests
from ckanapi import CKANAPIError, NotAuthorized, NotFound, RemoteCKAN, ValidationError

RETRIABLE = (requests.ConnectionError, requests.Timeout, CKANAPIError)
T = TypeVar("T")


class PortalUnavailable(RuntimeError):
    """The portal kept failing after the retries."""


class _Conflict(RuntimeError):
    """The dataset changed between our read and our write: plan again."""


@dataclass
class Client:
    url: str
    token: str
    attempts: int = 5
    backoff: float = 1.0          # 1, 2, 4, 8 s between attempts (bounded)
    timeout: float = 60.0

    def __post_init__(self) -> None:
        self._api = RemoteCKAN(self.url, apikey=self.token, user_agent="territoire-hub-publisher/0.1")

    def call(self, action: str, files: dict[str, Path | tuple[Path, str]] | None = None, *, retry: bool = True,
             **data: Any) -> Any:
        once = lambda: self._once(action, files, data)  # noqa: E731
        return self.retrying(once, action) if retry else once()

    def _once(self, action: str, files: dict[str, Path | tuple[Path, str]] | None, data: dict) -> Any:
        """One call; ``files``: field → path, or (path, media type) when CKAN checks the declared type."""
        handles, parts = [], {}
        for key, value in (files or {}).items():
            path, media = value if isinstance(value, tuple) else (value, None)
            handles.append(open(path, "rb"))
            parts[key] = (path.name, handles[-1], media) if media else handles[-1]
        try:
            return self._api.call_action(action, data_dict=data, files=parts or None,
                                         requests_kwargs={"timeout": self.timeout})
        finally:
            for h in handles:
                h.close()

    def retrying(self, step: Callable[[], T], what: str) -> T:
        """Run ``step`` again (bounded backoff) while the portal is unreachable or answers 5xx."""
        for attempt in range(1, self.attempts + 1):
            try:
                return step()
            except (NotFound, NotAuthorized, ValidationError):
                raise
            except (*RETRIABLE, _Conflict) as exc:
                if isinstance(exc, CKANAPIError) and not _is_server_error(exc):
                    raise
                if attempt == self.attempts:
                    raise PortalUnavailable(f"{what} on {self.url} failed {attempt} times: {exc}") from exc
                time.sleep(min(self.backoff * 2 ** (attempt - 1), 30))
        raise AssertionError("unreachable")

    def show(self, action: str, **data: Any) -> dict | None:
        try:
            return self.call(action, **data)
        except NotFound:
            return None


def _is_server_error(exc: CKANAPIError) -> bool:
    text = str(exc)
    return any(code in text for code in ("500", "502", "503", "504")) or "Internal Server Error" in text


def ensure_organization(client: Client, organisation: dict) -> dict:
    """Create the organisation, or bring its title and description up to date."""
    found = client.show("organization_show", id=organisation["name"])
    if found is None:
        return client.call("organization_create", **organisation)
    if any(found.get(k) != v for k, v in organisation.items()):
        return client.call("organization_patch", id=found["id"], **organisation)
    return found


def ensure_config(client: Client, options: dict[str, str]) -> bool:
    """Set the portal's runtime options (site title, description, …: ``config_option_update``, a
    sysadmin's) to ``options`` when any differs. True when something was sent."""
    current = {key: client.call("config_option_show", key=key) for key in options}
    if all((current[key] or "") == value for key, value in options.items()):
        return False
    client.call("config_option_update", **options)
    return True


def ensure_logo(client: Client, logo: Path) -> bool:
    """The portal's logo (``ckan.site_logo``, uploaded), sent again only when the file changed (its
    SHA-256 is kept in ``ckanext.territoire.logo_sha256``). True when it was sent."""
    from territoire_hub.publish.files import sha256

    digest = sha256(logo)
    if client.call("config_option_show", key="ckanext.territoire.logo_sha256") == digest:
        return False
    media = mimetypes.guess_type(logo.name)[0] or "application/octet-stream"
    stored = client.call("config_option_update", files={"logo_upload": (logo, media)},
                         **{"ckan.site_logo": logo.name})["ckan.site_logo"]
    if not stored.startswith(("http", "/")):
        # CKAN 2.12 without a files storage for "admin" keeps the bare file name, which the pages
        # would link at the site's root: it is served under /uploads/admin/
        stored = f"/uploads/admin/{stored}"
    client.call("config_option_update", **{"ckan.site_logo": stored, "ckanext.territoire.logo_sha256": digest})
    return True


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
    mimetype: str | None = None    # IANA media type (DCAT dcat:mediaType)
    view: str | None = None        # the resource view the page shows: datatables_view, image_view
    descriptions: dict[str, str] | None = None   # column → description: the DataStore data dictionary
    conforms_to: str | None = None  # the name of the resource holding its Table Schema (dct:conformsTo)


VIEW_TITLES = {"datatables_view": "Aperçu des données", "image_view": "Graphique"}


CHECKSUM_SHA256 = "http://spdx.org/rdf/terms#checksumAlgorithm_sha256"     # SPDX, as DCAT-AP names it


def sync_dataset(client: Client, metadata: dict, files: list[ResourceFile],
                 on_change: Callable[[str], None] = lambda _: None) -> dict:
    """Create or update one dataset so that it holds ``files`` and ``metadata``. Returns counts."""
    from territoire_hub.publish.files import sha256

    digests = {item.name: sha256(item.path) for item in files}
    counts, dataset = client.retrying(lambda: _switch(client, metadata, files, digests),
                                      f"publishing {metadata['name']}")
    if counts["changed"] or counts["removed"]:
        on_change(f"{metadata['name']}: {counts['changed']} files sent, {counts['removed']} removed")
    by_name = {r["name"]: r for r in dataset["resources"]}
    for item in files:
        resource = by_name[item.name]
        # the DataStore copy is reloaded when the file or its data dictionary changed
        loaded = digests[item.name] + ("" if not item.descriptions else ":" + hashlib.sha256(
            json.dumps(item.descriptions, sort_keys=True).encode()).hexdigest()[:16])
        if item.datastore is not None and resource.get("datastore_hash") != loaded:
            load_datastore(client, resource["id"], item.datastore, item.descriptions)
            client.call("resource_patch", id=resource["id"], datastore_hash=loaded)
        if item.conforms_to and resource.get("conforms_to") != [by_name[item.conforms_to]["url"]]:
            client.call("resource_patch", id=resource["id"], conforms_to=[by_name[item.conforms_to]["url"]])
        if item.view:
            counts["views"] = counts.get("views", 0) + ensure_view(client, resource, item.view)
    return counts


def ensure_view(client: Client, resource: dict, view_type: str) -> int:
    """The resource's view of ``view_type`` (the table preview of a DataStore table, the image of a
    chart), created once. Returns 1 when it was created."""
    views = client.call("resource_view_list", id=resource["id"])
    if any(v["view_type"] == view_type for v in views):
        return 0
    fields = {"image_url": resource["url"]} if view_type == "image_view" else {}
    client.call("resource_view_create", resource_id=resource["id"], view_type=view_type,
                title=VIEW_TITLES.get(view_type, view_type), **fields)
    return 1


def _switch(client: Client, metadata: dict, files: list[ResourceFile],
            digests: dict[str, str]) -> tuple[dict, dict]:
    """One attempt: read the dataset, then send every change in one ``package_revise``.
    Returns the counts and the dataset as it now is on the portal."""
    try:
        dataset = client.call("package_show", id=metadata["name"], retry=False)
    except NotFound:
        dataset = None
    update = {k: v for k, v in metadata.items() if k != "name"}
    if dataset is None:   # created private and empty; made public by the switch that fills it
        dataset = client.call("package_create", retry=False, **{**metadata, "private": True, "resources": []})
    if dataset.get("private"):    # also when an earlier attempt created it and failed before the switch
        update["private"] = False
    existing: dict[str, dict] = {}
    stale: list[dict] = []        # resources no longer published, and second copies of a name
    for resource in dataset.get("resources", []):
        if resource["name"] in digests and resource["name"] not in existing:
            existing[resource["name"]] = resource
        else:
            stale.append(resource)
    kept = len(existing)
    request: dict[str, Any] = {}
    uploads: dict[str, Path] = {}
    new: list[dict] = []
    described = 0                 # resources whose fields alone changed
    for item in files:
        fields = {"name": item.name, "format": item.format, "description": item.description,
                  "hash": digests[item.name], "hash_algorithm": CHECKSUM_SHA256}
        if item.mimetype:
            fields["mimetype"] = item.mimetype
        current = existing.get(item.name)
        if current is not None and current.get("hash") == digests[item.name]:
            if any(current.get(k) != v for k, v in fields.items()):
                request[f"update__resources__{current['id']}"] = json.dumps(fields)
                described += 1
            continue
        if current is not None:
            request[f"update__resources__{current['id']}"] = json.dumps(fields)
            uploads[f"update__resources__{current['id']}__upload"] = item.path
        else:
            uploads[f"update__resources__{kept + len(new)}__upload"] = item.path
            new.append(fields)
    changed = len(uploads)
    if not (changed or described or stale or _metadata_differs(dataset, update)):
        return {"changed": 0, "removed": 0, "revised": False}, dataset
    if new:
        request["update__resources__extend"] = json.dumps(new)
    # package_revise merges lists item by item: a list field is emptied first, then set
    lists = sorted(k for k, v in update.items() if isinstance(v, list))
    try:
        revised = client.call(
            "package_revise", files=uploads, retry=False,
            match=json.dumps({"id": dataset["id"], "metadata_modified": dataset["metadata_modified"]}),
            filter=json.dumps([f"-{k}" for k in lists] + [f"-resources__{r['id']}" for r in stale]),
            update=json.dumps(update), **request)["package"]
    except ValidationError as exc:
        if "match" in (exc.error_dict if isinstance(exc.error_dict, dict) else {}):
            raise _Conflict(f"{metadata['name']} changed on the portal meanwhile") from exc
        raise
    return {"changed": changed, "removed": len(stale), "revised": True}, revised


def _metadata_differs(dataset: dict, metadata: dict) -> bool:
    for key, value in metadata.items():
        if key in ("groups", "tags"):
            have = sorted(x["name"] for x in dataset.get(key, []))
            if have != sorted(x["name"] for x in value):
                return True
        elif key == "owner_org":
            if value not in (dataset.get("owner_org"), (dataset.get("organization") or {}).get("name")):
                return True
        elif dataset.get(key) != value:
            return True
    return False


DATASTORE_TYPES = [("is_integer", "int8"), ("is_floating", "float8"), ("is_decimal", "numeric"),
                   ("is_boolean", "bool"), ("is_date", "date"), ("is_timestamp", "timestamp")]


def load_datastore(client: Client, resource_id: str, table, descriptions: dict[str, str] | None = None,
                   chunk: int = 5000) -> None:
    """Replace the resource's DataStore table with ``table`` (so the API and the preview query it),
    each column described in its data dictionary (``info.notes``) when ``descriptions`` has it."""
    import pyarrow as pa

    fields = []
    for f in table.schema:
        kind = next((t for test, t in DATASTORE_TYPES if getattr(pa.types, test)(f.type)), "text")
        field = {"id": f.name, "type": kind}
        if descriptions and descriptions.get(f.name):
            field["info"] = {"label": f.name, "notes": descriptions[f.name]}
        fields.append(field)
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
    total = client.call("datastore_search", resource_id=resource_id, limit=0)["total"]
    if total != table.num_rows:     # e.g. a chunk sent twice after a lost response
        raise PortalUnavailable(f"DataStore of resource {resource_id}: {total} rows loaded, {table.num_rows} expected")
