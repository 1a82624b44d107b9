"""The partner registry: who delivers what, how, under which licence and sensitivity.

Declared in YAML under ``sources/registry/`` (one file per partner plus ``region.yaml``)
and validated at load: an error names the file and the field.
"""

from __future__ import annotations

import re
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from territoire_hub.formats import FORMATS_DIR, FormatSpec, load_format


class RegistryError(ValueError):
    """A registry file is invalid; the message names the file and the field."""


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


class Dataset(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    domain: Literal["weather", "energy", "lighting", "traffic", "ev_charging"]
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
            if self.filename is None or "(?P<period>" not in self.filename:
                raise ValueError("a time-series dataset needs a 'filename' regex with a (?P<period>...) group")
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
        return f"{self.partner.id.replace('-', '_')}__{self.dataset.id}"

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

    def period_of(self, filename: str) -> str | None:
        """The period a file name declares (``20240331``), ``'snapshot'`` for inventories,
        or None when the name does not belong to this dataset."""
        if self.dataset.filename is None:
            return "snapshot"
        match = re.match(self.dataset.filename, filename)
        if not match:
            return None
        if self.dataset.cadence is Cadence.snapshot:
            return "snapshot"  # a new inventory replaces the previous one, whatever date it carries
        return match.group("period")


class Region(_Strict):
    name: str
    code_region: str
    cog_vintage: int
    epcis: list[str] = Field(min_length=1)


class _PartnerFile(_Strict):
    partner: Partner
    datasets: list[Dataset] = Field(min_length=1)


class _RegionFile(_Strict):
    region: Region


class Registry(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    region: Region
    partners: dict[str, Partner]
    datasets: dict[str, PartnerDataset]

    def dataset(self, key: str) -> PartnerDataset:
        try:
            return self.datasets[key]
        except KeyError:
            raise KeyError(f"unknown dataset {key!r}; known: {', '.join(sorted(self.datasets))}") from None

    def of_partner(self, partner_id: str) -> list[PartnerDataset]:
        if partner_id not in self.partners:
            raise KeyError(f"unknown partner {partner_id!r}; known: {', '.join(sorted(self.partners))}")
        return [d for d in self.datasets.values() if d.partner.id == partner_id]


def _fields(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        lines.append(f"  field {where}: {err['msg']}")
    return "\n".join(lines)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: expected a mapping at the top level")
    return data


def load_registry(directory: Path, formats_dir: Path = FORMATS_DIR) -> Registry:
    """Load and validate every ``*.yaml`` of ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RegistryError(f"{directory}: registry folder not found")
    region: Region | None = None
    partners: dict[str, Partner] = {}
    datasets: dict[str, PartnerDataset] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = _read_yaml(path)
        try:
            if "region" in data:
                if region is not None:
                    raise RegistryError(f"{path}: a second region is declared")
                region = _RegionFile.model_validate(data).region
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
                spec = load_format(dataset.format, formats_dir)
            except FileNotFoundError:
                raise RegistryError(
                    f"{path}: field datasets.{i}.format: unknown format {dataset.format!r} "
                    f"(no {dataset.format}.yaml in {formats_dir})"
                ) from None
            entry = PartnerDataset(partner=partner, dataset=dataset, spec=spec)
            if entry.key in datasets:
                raise RegistryError(f"{path}: field datasets.{i}.id: dataset {dataset.id!r} is declared twice")
            datasets[entry.key] = entry
    if region is None:
        raise RegistryError(f"{directory}: no region.yaml (a file with a top-level 'region:')")
    return Registry(region=region, partners=partners, datasets=datasets)
