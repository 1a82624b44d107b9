"""Transports: how partner deliveries reach the hub.

Two ways in: files dropped in the inbox (``inbox/<partner_id>/``, examined in
``dropzone.py``) and files fetched over HTTP from a URL template in the registry. Both produce ``Incoming`` records for
the landing step; problems are collected in a ``FetchReport``, never raised per file.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Mapping, Protocol
from urllib.parse import unquote, urlsplit

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError, TimeoutError as Urllib3Timeout
from urllib3.util import Retry

from territoire_hub.registry import Cadence, HttpTransport, PartnerDataset

USER_AGENT = "territoire-hub/0.1 (+regional data hub)"
MAX_RETRY_AFTER = 60.0  # seconds: a partner's Retry-After: 3600 must not stall a whole run


class _CappedRetry(Retry):
    """urllib3's Retry, honouring Retry-After up to MAX_RETRY_AFTER."""

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


@dataclass(frozen=True)
class Incoming:
    """One delivered file, ready for landing."""

    dataset_key: str
    filename: str  # base name of the delivered file
    origin: str  # "inbox:<absolute path>" or the URL
    path: Path  # the inbox file itself, or the downloaded file under scratch_dir
    period: str  # "20240331", "202403", "2023" or "snapshot"
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FetchReport:
    incoming: list[Incoming] = field(default_factory=list)
    not_modified: list[str] = field(default_factory=list)  # URLs answered 304
    not_published: list[str] = field(default_factory=list)  # URLs answered 404
    errors: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)


class ValidatorStore(Protocol):
    """Remembers conditional-GET validators per URL (the landing catalogue implements it)."""

    def validators(self, url: str) -> tuple[str | None, str | None]:  # (etag, last_modified)
        ...


def token_variable(partner_id: str) -> str:
    """The environment variable holding a partner's bearer token."""
    return "HUB_PARTNER_TOKEN_" + partner_id.replace("-", "_").upper()


# -- HTTP URLs --------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _periods(cadence: Cadence, start: date, end: date) -> list[str]:
    """Every period of ``cadence`` from ``start`` to ``end`` inclusive, formatted."""
    fmt = cadence.period_format
    out: list[str] = []
    if cadence is Cadence.daily:
        day = start
        while day <= end:
            out.append(day.strftime(fmt))
            day += timedelta(days=1)
    elif cadence is Cadence.monthly:
        year, month = start.year, start.month
        while (year, month) <= (end.year, end.month):
            out.append(date(year, month, 1).strftime(fmt))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    elif cadence is Cadence.yearly:
        out = [date(year, 1, 1).strftime(fmt) for year in range(start.year, end.year + 1)]
    return out


def expand_urls(
    entry: PartnerDataset,
    url_vars: Mapping[str, str],
    periods: list[str] | None = None,
    *,
    today: date | None = None,
) -> list[tuple[str, str]]:
    """The ``(url, period)`` pairs to fetch for an HTTP dataset.

    ``${NAME}`` / ``${NAME:-default}`` come from ``url_vars`` (empty counts as unset);
    ``{period}`` takes each of ``periods`` (default: start to end, or ``today``) and
    ``{departement}`` each of ``transport.departements``. Snapshots get period "snapshot".
    """
    transport = entry.dataset.transport
    where = f"partner {entry.partner.id}, dataset {entry.dataset.id}"
    if not isinstance(transport, HttpTransport):
        raise ValueError(f"{where}: transport is {transport.type!r}, not http")

    def substitute(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        value = url_vars.get(name) or default
        if not value:
            raise ValueError(f"{where}: URL variable ${{{name}}} is not set (url template {transport.url!r})")
        return value

    template = _VARIABLE.sub(substitute, transport.url)
    fields = set(_FIELD.findall(template))
    unknown = fields - {"period", "departement"}
    if unknown:
        raise ValueError(f"{where}: unknown placeholder(s) {sorted(unknown)} in URL {transport.url!r}")

    snapshot = entry.dataset.cadence is Cadence.snapshot
    if snapshot:
        if "period" in fields:
            raise ValueError(f"{where}: a snapshot URL cannot contain {{period}}: {transport.url!r}")
        wanted = ["snapshot"]
    else:
        if "period" not in fields:
            raise ValueError(f"{where}: a time-series URL needs {{period}}: {transport.url!r}")
        if periods is None:
            end = entry.dataset.end or today or date.today()
            periods = _periods(entry.dataset.cadence, entry.dataset.start, end)
        wanted = list(periods)

    if "departement" in fields:
        if not transport.departements:
            raise ValueError(f"{where}: URL has {{departement}} but transport.departements is empty")
        departements = list(transport.departements)
    else:
        departements = [None]

    urls: list[tuple[str, str]] = []
    for period in wanted:
        for departement in departements:
            url = template
            if not snapshot:
                url = url.replace("{period}", period)
            if departement is not None:
                url = url.replace("{departement}", departement)
            urls.append((url, period))
    return urls


# -- HTTP fetch -------------------------------------------------------------------


def _filename_of(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _write_atomically(folder: Path, filename: str, data: bytes) -> Path:
    """Write to a temp name in the same folder then rename, so a crash never leaves a short file."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / filename
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def fetch_http(
    entry: PartnerDataset,
    urls: list[tuple[str, str]],
    scratch_dir: Path,
    store: ValidatorStore,
    *,
    timeout: float,
    retries: int,
    backoff: float,
    token: str | None,
) -> FetchReport:
    """Conditional GET of each URL; downloads go to ``scratch_dir/<dataset key>/<filename>``.

    Every URL ends in exactly one of incoming / not_modified / not_published / errors.
    Nothing raises for a failing URL, and the bearer token never appears in a message.
    """
    transport = entry.dataset.transport
    if not isinstance(transport, HttpTransport):
        raise ValueError(f"partner {entry.partner.id}, dataset {entry.dataset.id}: transport is not http")
    report = FetchReport()
    where = f"partner {entry.partner.id}, dataset {entry.dataset.id}"

    def fail(url: str, reason: str) -> None:
        message = f"{where}: {url}: {reason}"
        if token:
            message = message.replace(token, "***")  # belt and braces: never leak the secret
        report.errors.append((url, message))

    base_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if transport.auth == "bearer":
        if token is None:
            for url, _ in urls:
                fail(url, f"no bearer token: set the environment variable {token_variable(entry.partner.id)}")
            return report
        base_headers["Authorization"] = f"Bearer {token}"

    retry = _CappedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods={"GET"},
        respect_retry_after_header=True,
    )
    with urllib3.PoolManager(retries=retry, timeout=urllib3.Timeout(connect=timeout, read=timeout)) as pool:
        for url, _ in urls:
            filename = _filename_of(url)
            period = entry.period_of(filename) if filename else None
            if period is None:
                fail(url, f"file name {filename!r} does not match the dataset's filename pattern")
                continue
            headers = dict(base_headers)
            etag, last_modified = store.validators(url)
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            try:
                # preload_content=True reads the whole body inside urlopen, so a body cut
                # short (IncompleteRead -> ProtocolError) or a read timeout mid-body is
                # retried by the Retry policy like a connection error (tested).
                # decode_content=False: keep the bytes as served (a .csv.gz stays gzip).
                response = pool.request(
                    "GET", url, headers=headers, preload_content=True, decode_content=False, redirect=True
                )
            except MaxRetryError as exc:
                kind = "timed out" if isinstance(exc.reason, Urllib3Timeout) else "failed"
                fail(url, f"{kind} after {retries + 1} attempt(s): {exc.reason}")
                continue
            except (HTTPError, OSError, ValueError) as exc:
                fail(url, f"failed: {type(exc).__name__}: {exc}")
                continue
            status = response.status
            if status == 304:
                report.not_modified.append(url)
            elif status == 404:
                report.not_published.append(url)
            elif status in (401, 403):
                fail(url, f"authentication refused (HTTP {status})")
            elif status == 200:
                try:
                    path = _write_atomically(Path(scratch_dir) / entry.key, filename, response.data)
                except OSError as exc:
                    fail(url, f"cannot write the download: {exc}")
                    continue
                report.incoming.append(
                    Incoming(
                        dataset_key=entry.key,
                        filename=filename,
                        origin=url,
                        path=path,
                        period=period,
                        etag=response.headers.get("ETag"),
                        last_modified=response.headers.get("Last-Modified"),
                    )
                )
            else:
                fail(url, f"unexpected answer HTTP {status} {response.reason or ''}".rstrip())
    return report


@dataclass(frozen=True)
class Probed:
    """What a conditional GET said of a URL, its body not read: ``new`` (200: a file not fetched
    yet, or changed since), with its version (ETag, else Last-Modified, else ""), or an error."""

    url: str
    period: str
    new: bool
    version: str = ""
    error: str | None = None


def probe_http(entry: PartnerDataset, urls: list[tuple[str, str]], store: ValidatorStore, *,
               timeout: float, token: str | None) -> list[Probed]:
    """A conditional GET of each URL with the validators of the last delivery fetched from it;
    only the answer's status and headers are read (the connection is dropped before the body),
    once, without retries: a poll that fails is simply tried again at the next one."""
    transport = entry.dataset.transport
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if isinstance(transport, HttpTransport) and transport.auth == "bearer":
        if token is None:
            reason = f"no bearer token: set the environment variable {token_variable(entry.partner.id)}"
            return [Probed(url, period, False, error=reason) for url, period in urls]
        headers["Authorization"] = f"Bearer {token}"
    probed = []
    with urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=timeout, read=timeout)) as pool:
        for url, period in urls:
            asked = dict(headers)
            etag, last_modified = store.validators(url)
            if etag:
                asked["If-None-Match"] = etag
            if last_modified:
                asked["If-Modified-Since"] = last_modified
            try:
                response = pool.request("GET", url, headers=asked, preload_content=False, redirect=True)
            except (HTTPError, OSError, ValueError) as exc:
                probed.append(Probed(url, period, False, error=f"{type(exc).__name__}: {exc}"))
                continue
            status = response.status
            version = response.headers.get("ETag") or response.headers.get("Last-Modified") or ""
            # the body is the run's to fetch (200) or of no use (a 404 page): the connection is
            # closed, never handed back to the pool with an unread body (the next request on it
            # would read that body as its answer: ResponseNotReady)
            response.close()
            if status == 200:
                probed.append(Probed(url, period, True, version))
            elif status in (304, 404):
                probed.append(Probed(url, period, False))
            else:
                probed.append(Probed(url, period, False, error=f"HTTP {status}"))
    return probed
