"""The partner registry: the territory the hub serves, who delivers what, how, under which
licence and sensitivity.

Declared in YAML (one file per partner plus one ``territory:`` file) in the folder of the
setting ``HUB_REGISTRY`` — by default the demo's ``sources/registry/``; a region keeps its own
in its own repository. Validated at load: an error names the file and the field.
"""

from __future__ import annotations

import re
from datetime import date, time
from enum import Enum
from pathlib import Path
from typing import Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from territoire_hub.formats import FormatError, FormatSpec, all_formats, load_format, read_yaml
from territoire_hub.names import matching_form


class RegistryError(ValueError):
    """A registry file is invalid; the message names the file and the field."""


CONTENT_PERIOD = "content"   # landing period of a delivery whose span is read from its records


def dataset_key(partner_id: str, dataset_id: str) -> str:
    """``<partner>__<dataset>`` with underscores: the dataset's stable name and raw table."""
    return f"{partner_id.replace('-', '_')}__{dataset_id}"


class PartnerKind(str, Enum):
    commune = "commune"
    epci = "epci"
    energy_syndicate = "energy_syndicate"
    private_company = "private_company"
    public_agency = "public_agency"


class Sensitivity(str, Enum):
    open = "open"
    restricted = "restricted"
    commercial = "commercial"
    personal = "personal"


class Cadence(str, Enum):
    daily = "daily"
    monthly = "monthly"
    yearly = "yearly"
    snapshot = "snapshot"  # an inventory: each delivery replaces the previous one

    @property
    def period_format(self) -> str | None:
        return {"daily": "%Y%m%d", "monthly": "%Y%m", "yearly": "%Y"}.get(self.value)


class Supersession(str, Enum):
    """What a later delivery of the same period does to the earlier one."""

    replace_period = "replace_period"  # replaces it whole: inventories, annual files, full corrections
    upsert = "upsert"                  # replaces the records whose keys it carries, keeps the others:
                                       # rolling and partial files


LICENCES = {
    "licence-ouverte-2.0": "Licence Ouverte / Open Licence version 2.0 (Etalab)",
    "odbl": "Open Database License (ODbL) 1.0",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecrecyRule(_Strict):
    """Statistical secrecy for aggregates derived from a dataset."""

    contributor: str = Field(description="what counts as one contributor (delivery point, station…)")
    min_contributors: int = Field(ge=1)
    max_dominant_share: float | None = Field(default=None, gt=0, le=1)
    by_sector: dict[str, "SecrecyOverride"] = {}


class SecrecyOverride(_Strict):
    min_contributors: int | None = Field(default=None, ge=1)
    max_dominant_share: float | None = Field(default=None, gt=0, le=1)


class InboxTransport(_Strict):
    type: Literal["inbox"]


class HttpTransport(_Strict):
    type: Literal["http"]
    url: str = Field(description="may contain ${HUB_URL_*} settings placeholders and {period}/{departement}")
    auth: Literal["none", "bearer"] = "none"
    departements: list[str] = []


class Due(_Strict):
    """When a delivery is due: a period's file ``days_after`` days after the period's last day, by ``at``
    (Europe/Paris), late once ``grace_hours`` more have passed. An inventory (snapshot) is late when
    its latest delivery is older than ``max_age_days``."""

    days_after: int = Field(default=1, ge=0, le=366)
    at: time = time(6, 0)
    grace_hours: int = Field(default=6, ge=0, le=24 * 31)
    max_age_days: int | None = Field(default=None, ge=1, description="inventories only")


# what the hub expects when the registry says nothing: a daily file the next morning, a monthly one
# within 5 days, a yearly one within a quarter, an inventory at least once a year
DEFAULT_DUE = {
    "daily": Due(days_after=1),
    "monthly": Due(days_after=5),
    "yearly": Due(days_after=90, grace_hours=24 * 7),
    "snapshot": Due(max_age_days=366, grace_hours=0),
}


class Dataset(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    domain: Literal["weather", "energy", "lighting", "traffic", "ev_charging"] | None = None  # default: the format's
    format: str
    transport: InboxTransport | HttpTransport = Field(discriminator="type")
    filename: str | None = Field(default=None, description="regex; group 'period' dates the delivery")
    cadence: Cadence
    start: date | None = None
    end: date | None = None
    licence: str
    sensitivity: Sensitivity
    secrecy: SecrecyRule | None = None
    encoding: str | None = None
    separator: str | None = None
    # how a delivery's period is known: from its file name (the regex's `period` group), or from
    # its content, the span of its records' times (multi-year and rolling files)
    period: Literal["filename", "content"] = "filename"
    # a later delivery of the same period: replaces the earlier file whole (records it no longer
    # carries are withdrawn, with a warning naming them), or only the records whose keys it carries
    supersession: Supersession = Supersession.replace_period
    # a delivery with bad records: refused whole (`file`: inventories and snapshots, where half a
    # file would withdraw the rest), or only its bad records (`rows`: they are kept aside with
    # their reasons, the others load, the delivery is `partial`) unless more than max_bad_share
    # of its records are bad
    quarantine: Literal["file", "rows"] = "file"
    max_bad_share: float = Field(default=0.05, gt=0, lt=1)
    # other datasets this one refers to, by role (the roles its format declares), as
    # "<partner>/<dataset>": lamp sensors → the light-point inventory they are mounted on
    links: dict[str, str] = {}
    # when a delivery is due (freshness check, alerts): DEFAULT_DUE of the cadence if not given
    due: Due | None = None

    @property
    def due_rule(self) -> Due:
        return self.due or DEFAULT_DUE[self.cadence.value]

    @field_validator("licence")
    @classmethod
    def _known_licence(cls, value: str) -> str:
        if value not in LICENCES:
            raise ValueError(f"unknown licence {value!r}; expected one of {sorted(LICENCES)}")
        return value

    @field_validator("filename")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _period_rules(self) -> "Dataset":
        if self.cadence is not Cadence.snapshot:
            if self.start is None:
                raise ValueError("a time-series dataset needs a 'start' date")
            if self.period == "filename" and (self.filename is None or "(?P<period>" not in self.filename):
                raise ValueError("a time-series dataset needs a 'filename' regex with a (?P<period>...) group "
                                 "(or `period: content` when the period is read from the records)")
        elif self.period == "content":
            raise ValueError("an inventory (cadence snapshot) has no period: `period: content` does not apply")
        if self.due is not None and (self.due.max_age_days is None) != (self.cadence is not Cadence.snapshot):
            raise ValueError("due: an inventory (cadence snapshot) is due by `max_age_days`, a time series by "
                             "`days_after`/`at`/`grace_hours` (no `max_age_days`)")
        if isinstance(self.transport, InboxTransport) and self.filename is None:
            raise ValueError("an inbox dataset needs a 'filename' regex to recognise its files")
        return self


class Partner(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    name: str
    kind: PartnerKind
    siren: str | None = Field(default=None, pattern=r"^\d{9}$")
    departements: list[str] = []
    contact: str | None = None


class PartnerDataset(BaseModel):
    """A dataset together with its partner and resolved format: what the pipeline handles."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    partner: Partner
    dataset: Dataset
    spec: FormatSpec

    @property
    def key(self) -> str:
        """Stable name, also the raw table name: ``<partner>__<dataset>`` with underscores."""
        return dataset_key(self.partner.id, self.dataset.id)

    @property
    def domain(self) -> str:
        return self.dataset.domain or self.spec.domain

    @property
    def raw_relation(self) -> str:
        """The quoted raw table of this dataset, ``raw."<key>"``."""
        return f'raw."{self.key}"'

    @property
    def encodings(self) -> list[str]:
        return [self.dataset.encoding] if self.dataset.encoding else list(self.spec.encodings)

    @property
    def separators(self) -> list[str]:
        return [self.dataset.separator] if self.dataset.separator else list(self.spec.separators)

    @property
    def replaces_whole_period(self) -> bool:
        """True when a later delivery of a period supersedes the earlier one as a whole (a file
        whose period is read from its records never does: its records replace those with the
        same key)."""
        return self.dataset.supersession is Supersession.replace_period and self.dataset.period == "filename"

    def period_of(self, filename: str) -> str | None:
        """The period a file name declares (``20240331``), ``'snapshot'`` for inventories,
        or None when the name does not belong to this dataset."""
        if self.dataset.filename is None:
            return "snapshot"
        match = re.fullmatch(self.dataset.filename, matching_form(filename))
        if not match:
            return None
        if self.dataset.cadence is Cadence.snapshot:
            return "snapshot"  # a new inventory replaces the previous one, whatever date it carries
        if self.dataset.period == "content":
            return CONTENT_PERIOD  # read from the records once the file is parsed
        return match.group("period")


class Territory(_Strict):
    """The territory the hub serves, declared by INSEE codes of any level (any mix): every current
    commune of the listed régions and départements, every member of the listed EPCI, and the
    listed communes. Communes, EPCI, départements, régions and populations come from the COG."""

    name: str
    cog_vintage: int
    regions: list[str] = []
    departements: list[str] = []
    epcis: list[str] = []
    communes: list[str] = []

    @model_validator(mode="after")
    def _some_code(self) -> "Territory":
        if not (self.regions or self.departements or self.epcis or self.communes):
            raise ValueError("declare the territory by at least one code: regions, departements, epcis or communes")
        return self

    def codes(self) -> list[tuple[str, str]]:
        """(level, code) pairs as declared: ('region', '76'), ('epci', '243400017'), …"""
        return ([("region", c) for c in self.regions] + [("departement", c) for c in self.departements]
                + [("epci", c) for c in self.epcis] + [("commune", c) for c in self.communes])


class Contact(_Strict):
    """Who answers questions about the published data (DCAT contact point)."""

    name: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    url: str | None = Field(default=None, pattern=r"^https?://")


class Structure(_Strict):
    """The regional structure that pools the data and publishes the indicators: the portal's
    identity (home page, organisation) and the DCAT publisher of every dataset."""

    id: str = Field(default="territoire-hub", pattern=r"^[a-z0-9][a-z0-9_-]{1,99}$")   # CKAN organisation name
    name: str = "Structure régionale de mutualisation des données territoriales"
    description: str = ("Indicateurs agrégés calculés à partir des données des collectivités et de leurs "
                        "partenaires (gestionnaire de réseau, opérateur de recharge, Météo-France).")
    siren: str | None = Field(default=None, pattern=r"^\d{9}$")
    homepage: str | None = Field(default=None, pattern=r"^https?://")
    contact: Contact | None = None
    logo: Path | None = None          # an image beside the territory file (PNG, JPEG, GIF): the portal's logo


class _PartnerFile(_Strict):
    partner: Partner
    datasets: list[Dataset] = Field(min_length=1)


class _TerritoryFile(_Strict):
    territory: Territory
    structure: Structure = Structure()


class Registry(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    territory: Territory
    structure: Structure = Structure()
    partners: dict[str, Partner]
    datasets: dict[str, PartnerDataset]
    formats: dict[str, FormatSpec]          # every format known (packaged and the region's own)

    def dataset(self, key: str) -> PartnerDataset:
        try:
            return self.datasets[key]
        except KeyError:
            raise KeyError(f"unknown dataset {key!r}; known: {', '.join(sorted(self.datasets))}") from None

    def of_partner(self, partner_id: str) -> list[PartnerDataset]:
        if partner_id not in self.partners:
            raise KeyError(f"unknown partner {partner_id!r}; known: {', '.join(sorted(self.partners))}")
        return [d for d in self.datasets.values() if d.partner.id == partner_id]

    def of_format(self, format_id: str) -> list[PartnerDataset]:
        return [d for d in self.datasets.values() if d.spec.id == format_id]

    def links(self) -> list[tuple[str, str, str]]:
        """(dataset key, role, linked dataset key) for every role of every dataset's format: the
        declared link, else every dataset of the same partner whose format fits the role."""
        found = []
        for entry in self.datasets.values():
            for role, formats in entry.spec.links.items():
                declared = entry.dataset.links.get(role)
                if declared is not None:
                    partner, _, dataset = declared.partition("/")
                    found.append((entry.key, role, dataset_key(partner, dataset)))
                    continue
                found += [(entry.key, role, other.key) for other in self.of_partner(entry.partner.id)
                          if other.spec.id in formats]
        return sorted(found)


def _fields(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        lines.append(f"  field {where}: {err['msg']}")
    return "\n".join(lines)


def _read_yaml(path: Path) -> dict:
    try:
        data = read_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: expected a mapping at the top level")
    return data


LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")


def _with_logo(structure: Structure, path: Path) -> Structure:
    """The structure with its logo as a path beside ``path`` (the territory file), checked."""
    if structure.logo is None:
        return structure
    logo = (path.parent / structure.logo).resolve()
    if logo.suffix.lower() not in LOGO_SUFFIXES:
        raise RegistryError(f"{path}: field structure.logo: {structure.logo}: an image "
                            f"({', '.join(LOGO_SUFFIXES)})")
    if not logo.is_file():
        raise RegistryError(f"{path}: field structure.logo: {structure.logo}: no such file beside {path.name}")
    return structure.model_copy(update={"logo": logo})


def load_registry(directory: Path, formats_dirs: Iterable[Path] | Path | None = None) -> Registry:
    """Load and validate every ``*.yaml`` of ``directory`` (formats from ``formats_dirs``, then the
    packaged ones)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RegistryError(f"{directory}: registry folder not found")
    territory: Territory | None = None
    structure = Structure()
    origin: dict[str, tuple[Path, int]] = {}
    partners: dict[str, Partner] = {}
    datasets: dict[str, PartnerDataset] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = _read_yaml(path)
        try:
            if "region" in data and "territory" not in data:
                raise RegistryError(f"{path}: field region: the territory is now declared as `territory:` with "
                                    "codes (regions, departements, epcis, communes) and cog_vintage")
            if "territory" in data:
                if territory is not None:
                    raise RegistryError(f"{path}: a second territory is declared")
                declared = _TerritoryFile.model_validate(data)
                territory, structure = declared.territory, _with_logo(declared.structure, path)
                continue
            parsed = _PartnerFile.model_validate(data)
        except ValidationError as exc:
            raise RegistryError(f"{path}: invalid registry entry\n{_fields(exc)}") from None
        partner = parsed.partner
        if partner.id in partners:
            raise RegistryError(f"{path}: field partner.id: partner {partner.id!r} is declared twice")
        partners[partner.id] = partner
        for i, dataset in enumerate(parsed.datasets):
            try:
                spec = load_format(dataset.format, formats_dirs)
            except FileNotFoundError as exc:
                raise RegistryError(f"{path}: field datasets.{i}.format: unknown format {dataset.format!r} ({exc})") from None
            except FormatError as exc:
                raise RegistryError(f"{path}: field datasets.{i}.format: {exc}") from None
            if dataset.domain is not None and dataset.domain != spec.domain:
                raise RegistryError(f"{path}: field datasets.{i}.domain: {dataset.domain!r}, but format "
                                    f"{spec.id!r} is of domain {spec.domain!r}")
            if dataset.period == "content" and spec.event_time is None:
                raise RegistryError(f"{path}: field datasets.{i}.period: format {spec.id!r} has no event_time "
                                    "column to read a period from")
            if dataset.supersession is Supersession.upsert and not spec.grain:
                raise RegistryError(f"{path}: field datasets.{i}.supersession: upsert replaces records by key, "
                                    f"and format {spec.id!r} declares no key (grain)")
            unknown_roles = sorted(set(dataset.links) - set(spec.links))
            if unknown_roles:
                raise RegistryError(f"{path}: field datasets.{i}.links: unknown role(s) {unknown_roles}; "
                                    f"format {spec.id!r} has {sorted(spec.links) or 'none'}")
            entry = PartnerDataset(partner=partner, dataset=dataset, spec=spec)
            if entry.key in datasets:
                raise RegistryError(f"{path}: field datasets.{i}.id: dataset {dataset.id!r} is declared twice")
            datasets[entry.key] = entry
            origin[entry.key] = (path, i)
    if territory is None:
        raise RegistryError(f"{directory}: no territory (a file with a top-level 'territory:')")
    for key, entry in datasets.items():
        for role, target in entry.dataset.links.items():
            path, i = origin[key]
            partner, _, dataset = target.partition("/")
            linked = datasets.get(dataset_key(partner, dataset))
            if linked is None:
                raise RegistryError(f"{path}: field datasets.{i}.links.{role}: no dataset {target!r} "
                                    "(write <partner>/<dataset>)")
            if linked.spec.id not in entry.spec.links[role]:
                raise RegistryError(f"{path}: field datasets.{i}.links.{role}: {target!r} has format "
                                    f"{linked.spec.id!r}; a {role} must be one of {entry.spec.links[role]}")
    try:
        formats = all_formats(formats_dirs)
    except FormatError as exc:
        raise RegistryError(str(exc)) from None
    return Registry(territory=territory, structure=structure, partners=partners, datasets=datasets, formats=formats)
