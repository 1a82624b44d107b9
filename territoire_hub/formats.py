"""Partner file formats, declared as data: one YAML file per layout.

A format lists the columns the hub keeps (source header name → raw column name), their types
and units, the physical defaults (container, encodings, separators, decimal mark, missing
values), the grain of a record, the column that dates it, and the other datasets it refers to
(``links``: a sensor feed refers to a light-point inventory, hourly counts to a list of sites).
The registry may override encoding and separator per dataset.

Formats are looked up in the folders of the setting ``HUB_FORMATS`` first (a region keeps its
own layouts in its own repository), then in the hub's packaged ``territoire_hub/formats/``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FORMATS_DIR = Path(__file__).resolve().parent / "formats"

Domain = Literal["weather", "energy", "lighting", "traffic", "ev_charging"]
ColumnType = Literal["text", "integer", "decimal", "boolean", "date", "timestamp", "insee", "insee_list",
                     "coordinate"]

SQL_TYPES = {
    "text": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "insee": "VARCHAR",
    "insee_list": "VARCHAR[]",
    "coordinate": "DOUBLE",
}

# DBF field descriptors written into CSV headers by GIS exports: "TJM,N,10,0", "NOM,C,254", "DATE,D"
DBF_SUFFIX = re.compile(r"^(?P<name>[^,]+),(?:[CDLM]|[NF],\d+(?:,\d+)?|C,\d+)$")


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: str
    type: ColumnType
    required: bool = False
    unit: str | None = None
    doc: str | None = None
    format: str | None = None  # strptime format for date/timestamp
    timezone: Literal["UTC", "Europe/Paris", "offset"] | None = None
    layout: Literal["[lon, lat]", "lat, lon"] | None = None  # coordinate pairs in one field
    part: Literal["lat", "lon"] | None = None
    list_separator: str | None = None  # insee_list: "," (spaces around it are trimmed)
    # a code of exactly this many digits (Météo-France station numbers: 8): a value one digit short
    # lost its leading zero in a spreadsheet, and is restored with a warning
    digits: int | None = Field(default=None, ge=2)
    # a coded column: the values its published specification allows (compared exactly, after
    # trimming); any other value is an error (ORE's sector "Z", an IRVE status "broken")
    values: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _options(self) -> "Column":
        if self.type == "timestamp":
            if self.timezone is None:
                raise ValueError("a timestamp column needs a timezone: UTC, Europe/Paris or offset")
            if self.timezone != "offset" and self.format is None:
                raise ValueError("a naive timestamp column needs a strptime 'format'")
        if self.type == "date" and self.format is None:
            raise ValueError("a date column needs a strptime 'format'")
        if self.type == "coordinate" and (self.layout is None or self.part is None):
            raise ValueError("a coordinate column needs 'layout' and 'part'")
        if self.digits is not None and self.type != "text":
            raise ValueError("'digits' applies to text codes")
        if self.values is not None and self.type != "text":
            raise ValueError("'values' applies to text codes")
        if self.type == "insee_list" and not self.list_separator:
            raise ValueError("an insee_list column needs a 'list_separator'")
        return self

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


class ProjectedPoint(BaseModel):
    """A point given as two projected coordinates (metres in ``crs``, e.g. Lambert-93 X and Y
    columns): the reader adds its WGS84 longitude and latitude as two derived source columns."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    x: str                      # source column of the easting
    y: str                      # source column of the northing
    longitude: str              # name of the derived source column (WGS84 longitude)
    latitude: str               # name of the derived source column (WGS84 latitude)


class FormatSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    domain: Domain
    family: str = Field(description="the family of layouts, as users name it: 'Météo-France', 'IRVE', …")
    producer: str = Field(description="who publishes files in this layout")
    example_filename: str = Field(description="a real file name of this layout")
    reference: str | None = None
    container: Literal["csv", "shapefile_zip", "geojson"] = "csv"
    crs: str | None = None                 # a shapefile's coordinate system when it comes without a .prj,
                                           # or that of projected_points
    projected_points: list[ProjectedPoint] = []
    encodings: list[str] = Field(min_length=1)
    separators: list[str] = Field(min_length=1)
    decimal: Literal[".", ","] = "."
    header_dbf_suffixes: bool = False      # header cells carry DBF types: "TJM,N,10,0" is column TJM
    missing_values: list[str] = [""]
    compression: list[Literal["gzip", "none"]] = ["none", "gzip"]
    grain: list[str] = []
    # a record's key is unique within its dataset (a partner's own ids) or nationally (IRVE
    # point ids, Météo-France station numbers, ORE cells): then two datasets delivering the
    # same key deliver the same thing, and the latest delivery wins
    grain_scope: Literal["dataset", "national"] = "dataset"
    event_time: str | None = Field(default=None, description="the column that dates a record")
    event_time_ends_interval: bool = False  # the stamp is the END of the interval it covers (Météo-France)
    links: dict[str, list[str]] = Field(default={}, description="role -> formats a linked dataset may have")
    other_columns: list[str] = Field(default=[], description="columns of the published layout the hub does not "
                                                             "read: no warning when a file carries them")
    columns: list[Column] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "FormatSpec":
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("column names must be unique")
        read = {c.source for c in self.columns}
        both = sorted(read & set(self.other_columns))
        if both:
            raise ValueError(f"other_columns lists columns the format reads: {both}")
        missing = [g for g in self.grain if g not in names]
        if missing:
            raise ValueError(f"grain columns not declared: {missing}")
        if self.projected_points and not self.crs:
            raise ValueError("projected_points need the format's crs (e.g. EPSG:2154)")
        if self.event_time is not None:
            column = next((c for c in self.columns if c.name == self.event_time), None)
            if column is None or column.type not in ("timestamp", "date", "integer"):
                raise ValueError(f"event_time {self.event_time!r} must be a declared timestamp, date or year column")
        return self

    @property
    def derived_sources(self) -> set[str]:
        """Source names the reader computes (reprojected coordinates), not header names."""
        return {name for p in self.projected_points for name in (p.longitude, p.latitude)}

    @property
    def source_columns(self) -> list[str]:
        """Header names the file may carry (each once, in declaration order)."""
        derived = self.derived_sources
        names = [c.source for c in self.columns if c.source not in derived]
        names += [n for p in self.projected_points for n in (p.x, p.y)]
        return list(dict.fromkeys(names))

    @property
    def required_sources(self) -> list[str]:
        derived = self.derived_sources
        return list(dict.fromkeys(c.source for c in self.columns if c.required and c.source not in derived))

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def header_name(cell: str, dbf_suffixes: bool) -> str:
    """A header cell as the format names it: trimmed, quotes removed, DBF type suffix dropped."""
    cell = cell.strip().strip('"').strip()
    if dbf_suffixes:
        match = DBF_SUFFIX.match(cell)
        if match:
            return match.group("name").strip()
    return cell


class FormatError(ValueError):
    """A format file is invalid or missing; the message names the file and the field."""


def _dirs(directories: Iterable[Path] | Path | None) -> tuple[Path, ...]:
    if directories is None:
        return (FORMATS_DIR,)
    if isinstance(directories, (str, Path)):
        directories = [directories]
    dirs = tuple(Path(d) for d in directories)
    return dirs if FORMATS_DIR in dirs else dirs + (FORMATS_DIR,)


def read_yaml(text: str):
    """YAML's safe subset, parsed by libyaml (PyYAML's C parser: a tenth of the pure-Python one's
    time — every `hub` command reads some 30 format and registry files)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@lru_cache(maxsize=None)
def _load(path: Path) -> FormatSpec:
    data = read_yaml(path.read_text(encoding="utf-8"))
    try:
        spec = FormatSpec.model_validate(data)
    except ValidationError as exc:
        details = "\n".join(f"  field {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise FormatError(f"{path}: invalid format\n{details}") from None
    if spec.id != path.stem:
        raise FormatError(f"{path}: field id: {spec.id!r} must be the file's name ({path.stem!r})")
    return spec


def load_format(format_id: str, directories: Iterable[Path] | Path | None = None) -> FormatSpec:
    """The format ``format_id`` from the first folder that has it; FileNotFoundError if none."""
    for directory in _dirs(directories):
        path = directory / f"{format_id}.yaml"
        if path.exists():
            return _load(path.resolve())
    raise FileNotFoundError(f"no {format_id}.yaml in {', '.join(str(d) for d in _dirs(directories))}")


def all_formats(directories: Iterable[Path] | Path | None = None) -> dict[str, FormatSpec]:
    """Every format of the folders (a region's own folder shadows a packaged format of the same id)."""
    found: dict[str, FormatSpec] = {}
    for directory in _dirs(directories):
        for path in sorted(Path(directory).glob("*.yaml")):
            found.setdefault(path.stem, _load(path.resolve()))
    return dict(sorted(found.items()))


def markdown_table(formats: dict[str, FormatSpec]) -> str:
    """The README's table of supported layouts: family, producer, format id, example file name
    (``hub formats list --markdown`` prints it; a test keeps the README in sync)."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    rows = sorted(formats.values(), key=lambda f: (f.family.lower(), f.id))
    lines = ["| family | producer | format id | example file name |", "|---|---|---|---|"]
    lines += [f"| {cell(f.family)} | {cell(f.producer)} | `{f.id}` | `{cell(f.example_filename)}` |" for f in rows]
    return "\n".join(lines) + "\n"
