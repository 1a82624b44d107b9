"""Registry files of partners the packaged registry does not have, shared by the dbt tests."""

from __future__ import annotations


def electra(start: str) -> str:
    """Electra, a charge point operator delivering the QualiCharge database export of its points'
    states (daily, from ``start``) and QualiCharge's correspondence of point ids."""
    return f"""
partner: {{id: electra, name: Electra, kind: private_company}}
datasets:
  - {{id: statuts, format: irve_dynamique_qualicharge, transport: {{type: inbox}}, filename: '^export_status.*\\.csv$',
     cadence: daily, period: content, start: "{start}", licence: licence-ouverte-2.0, sensitivity: commercial}}
  - {{id: lien_pdc, format: irve_qualicharge_lien_pdc, transport: {{type: inbox}}, filename: '^export_lien.*\\.csv$',
     cadence: snapshot, licence: licence-ouverte-2.0, sensitivity: open}}
"""
