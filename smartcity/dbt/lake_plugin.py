"""dbt-duckdb plugin: the lake's Iceberg tables as the views dbt's sources name.

profiles.yml lists this module under the DuckDB target's ``plugins``; dbt-duckdb calls
:meth:`Plugin.configure_connection` when it opens the database, before any model runs.
The lake, the catalog namespace and the raw schema come from the same settings as every
other command (``SMARTCITY_LAKE_URI``, ``SMARTCITY_DATA_DIR``, ``SMARTCITY_RAW_SCHEMA``).
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from smartcity.dbt.duckdb_lake import create_lake_views
from smartcity.settings import Settings


class Plugin(BasePlugin):
    def configure_connection(self, conn: Any) -> None:
        settings = Settings.from_env()
        create_lake_views(conn, settings.lake_uri, settings.iceberg_namespace, settings.raw_schema)
