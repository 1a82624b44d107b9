"""The dbt project (dbt-duckdb): staging → intermediate → marts over the raw tables.

``DBT_PROJECT_DIR`` is where ``dbt_project.yml`` and ``profiles.yml`` live.
"""

from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parent
