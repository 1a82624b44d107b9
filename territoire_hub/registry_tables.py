"""The registry, mirrored into the warehouse (schema ``registry``) for the SQL layers.

dbt reads the territory's codes, the partners, each dataset's format, licence, sensitivity and
secrecy rule, and the links between datasets from here; the YAML files stay the only place they
are written.
"""

from __future__ import annotations

import json

import duckdb

from territoire_hub.registry import Registry

DDL = """
CREATE SCHEMA IF NOT EXISTS registry;
DROP TABLE IF EXISTS registry.region;
DROP TABLE IF EXISTS registry.region_epcis;
CREATE OR REPLACE TABLE registry.territory (nom VARCHAR, cog_vintage INTEGER);
CREATE OR REPLACE TABLE registry.territory_codes (
    niveau VARCHAR NOT NULL, code VARCHAR NOT NULL, PRIMARY KEY (niveau, code));
CREATE OR REPLACE TABLE registry.dataset_links (
    dataset_key VARCHAR NOT NULL, role VARCHAR NOT NULL, linked_dataset_key VARCHAR NOT NULL);
CREATE OR REPLACE TABLE registry.partners (
    partner_id VARCHAR PRIMARY KEY, nom VARCHAR, kind VARCHAR, siren VARCHAR);
CREATE OR REPLACE TABLE registry.datasets (
    dataset_key VARCHAR PRIMARY KEY, partner_id VARCHAR, dataset_id VARCHAR, domain VARCHAR,
    format VARCHAR, cadence VARCHAR, period_from VARCHAR, licence VARCHAR, sensitivity VARCHAR,
    secrecy_contributor VARCHAR, secrecy_min_contributors INTEGER, secrecy_max_dominant_share DOUBLE,
    secrecy_by_sector JSON);
"""


def write_registry(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Replace the registry tables with the current YAML (one transaction)."""
    territory = registry.territory
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(DDL)
        con.execute("INSERT INTO registry.territory VALUES (?, ?)", [territory.name, territory.cog_vintage])
        con.executemany("INSERT INTO registry.territory_codes VALUES (?, ?)",
                        [list(pair) for pair in dict.fromkeys(territory.codes())])
        links = registry.links()
        if links:
            con.executemany("INSERT INTO registry.dataset_links VALUES (?, ?, ?)", [list(link) for link in links])
        con.executemany("INSERT INTO registry.partners VALUES (?, ?, ?, ?)",
                        [[p.id, p.name, p.kind.value, p.siren] for p in registry.partners.values()])
        rows = []
        for key, entry in registry.datasets.items():
            d, rule = entry.dataset, entry.dataset.secrecy
            rows.append([
                key, entry.partner.id, d.id, entry.domain, d.format, d.cadence.value, d.period, d.licence,
                d.sensitivity.value,
                rule.contributor if rule else None, rule.min_contributors if rule else None,
                rule.max_dominant_share if rule else None,
                json.dumps({k: v.model_dump(exclude_none=True) for k, v in rule.by_sector.items()}) if rule else None,
            ])
        con.executemany("INSERT INTO registry.datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
