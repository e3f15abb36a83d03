"""MetricFlow in-process, as `mf` runs it, for the semantic layer's tests.

`mf` loads the semantic manifest that `dbt parse` writes (target/semantic_manifest.json),
validates it with MetricFlow's own validator, and runs a query by asking its engine for
the SQL of the warehouse's dialect and sending it through dbt's adapter. Here the same
engine and validator read a manifest parsed into a folder of the test's own, and the SQL
goes to DuckDB directly (read-only, beside the dashboard), or is only rendered for a
warehouse that cannot run here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from metricflow.data_table.mf_table import MetricFlowDataTable
from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.athena import AthenaSqlPlanRenderer
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow.sql.render.postgres import PostgresSQLSqlPlanRenderer
from metricflow.sql.render.redshift import RedshiftSqlPlanRenderer
from metricflow.sql.render.sql_plan_renderer import SqlPlanRenderer
from metricflow.sql.render.trino import TrinoSqlPlanRenderer
from metricflow_semantic_interfaces.protocols.semantic_manifest import SemanticManifest
from metricflow_semantic_interfaces.validations.semantic_manifest_validator import (
    SemanticManifestValidator,
)
from metricflow_semantic_interfaces.validations.validator_helpers import (
    SemanticManifestValidationResults,
)
from metricflow_semantics.model.dbt_manifest_parser import (
    parse_manifest_from_dbt_generated_manifest,
)
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

SEMANTIC_MANIFEST = "semantic_manifest.json"
NO_PARAMETERS = SqlBindParameterSet()

# The renderer `mf` picks for each target's adapter (dbt-metricflow's adapter_backed_client).
RENDERERS: dict[SqlEngine, SqlPlanRenderer] = {
    SqlEngine.DUCKDB: DuckDbSqlPlanRenderer(),
    SqlEngine.ATHENA: AthenaSqlPlanRenderer(),
    SqlEngine.TRINO: TrinoSqlPlanRenderer(),
    SqlEngine.REDSHIFT: RedshiftSqlPlanRenderer(),
    SqlEngine.POSTGRES: PostgresSQLSqlPlanRenderer(),
}


def semantic_manifest_json(target_path: Path) -> dict:
    """The semantic manifest `dbt parse` wrote into ``target_path``, as JSON."""
    return json.loads((target_path / SEMANTIC_MANIFEST).read_text())


def load_manifest(document: dict) -> SemanticManifest:
    return parse_manifest_from_dbt_generated_manifest(manifest_json_string=json.dumps(document))


def validate(document: dict) -> SemanticManifestValidationResults:
    """What `mf validate-configs` reports before it looks at the warehouse."""
    return SemanticManifestValidator[SemanticManifest]().validate_semantic_manifest(
        load_manifest(document)
    )


class DuckDbClient:
    """MetricFlow's SqlClient over a DuckDB file opened read-only, or over no database
    at all for rendering only (``connection`` None)."""

    def __init__(
        self, connection: duckdb.DuckDBPyConnection | None, engine: SqlEngine = SqlEngine.DUCKDB
    ) -> None:
        self._connection = connection
        self._engine = engine

    @property
    def sql_engine_type(self) -> SqlEngine:
        return self._engine

    @property
    def sql_plan_renderer(self) -> SqlPlanRenderer:
        return RENDERERS[self._engine]

    def _database(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            raise RuntimeError(f"no database behind this {self._engine.value} client: render only")
        return self._connection

    def query(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> MetricFlowDataTable:
        cursor = self._database().execute(stmt, dict(sql_bind_parameter_set.param_dict) or None)
        columns = [column[0] for column in cursor.description]
        return MetricFlowDataTable.create_from_rows(column_names=columns, rows=cursor.fetchall())

    def execute(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        self._database().execute(stmt, dict(sql_bind_parameter_set.param_dict) or None)

    def dry_run(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        self._database().execute(f"explain {stmt}", dict(sql_bind_parameter_set.param_dict) or None)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"


def engine(manifest: SemanticManifest, client: DuckDbClient) -> MetricFlowEngine:
    return MetricFlowEngine(SemanticManifestLookup(manifest), client)  # type: ignore[arg-type]


@contextmanager
def duckdb_engine(manifest: SemanticManifest, database: Path) -> Iterator[MetricFlowEngine]:
    """MetricFlow's engine over the DuckDB warehouse at ``database``, read-only."""
    client = DuckDbClient(duckdb.connect(str(database), read_only=True))
    try:
        yield engine(manifest, client)
    finally:
        client.close()


def saved_query(mf: MetricFlowEngine, name: str) -> pd.DataFrame:
    """The rows of a saved query, as `mf query --saved-query <name>` prints them."""
    result = mf.query(MetricFlowQueryRequest.create(saved_query_name=name))
    assert result.result_df is not None
    table = result.result_df
    return pd.DataFrame(list(table.rows), columns=list(table.column_names))


def saved_query_sql(mf: MetricFlowEngine, name: str) -> str:
    """The SQL MetricFlow writes for a saved query in the engine's dialect."""
    explained = mf.explain(MetricFlowQueryRequest.create(saved_query_name=name))
    return explained.sql_statement.sql
