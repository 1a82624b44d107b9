"""Partner file formats, declared as data in ``territoire_hub/formats/*.yaml``.

A format lists the columns the hub keeps (source header name → raw column name),
their types and units, and the physical defaults (encodings, separators, missing
values). The registry may override encoding and separator per dataset.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FORMATS_DIR = Path(__file__).resolve().parent / "formats"

ColumnType = Literal["text", "integer", "decimal", "boolean", "date", "timestamp", "insee", "coordinate"]

SQL_TYPES = {
    "text": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "insee": "VARCHAR",
    "coordinate": "DOUBLE",
}


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
        return self

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


class FormatSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    reference: str | None = None
    encodings: list[str] = Field(min_length=1)
    separators: list[str] = Field(min_length=1)
    missing_values: list[str] = [""]
    compression: list[Literal["gzip", "none"]] = ["none", "gzip"]
    grain: list[str] = []
    columns: list[Column] = Field(min_length=1)

    @model_validator(mode="after")
    def _grain_in_columns(self) -> "FormatSpec":
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("column names must be unique")
        missing = [g for g in self.grain if g not in names]
        if missing:
            raise ValueError(f"grain columns not declared: {missing}")
        return self

    @property
    def source_columns(self) -> list[str]:
        """Header names the file must carry (each once, in declaration order)."""
        return list(dict.fromkeys(c.source for c in self.columns))

    @property
    def required_sources(self) -> list[str]:
        return list(dict.fromkeys(c.source for c in self.columns if c.required))


@lru_cache(maxsize=None)
def load_format(format_id: str, directory: Path = FORMATS_DIR) -> FormatSpec:
    path = Path(directory) / f"{format_id}.yaml"
    if not path.exists():
        raise FileNotFoundError(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        return FormatSpec.model_validate(data)
    except ValidationError as exc:
        details = "\n".join(f"  field {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{path}: invalid format\n{details}") from None
