"""The dbt project compiles for Athena and Redshift, and what it compiles is their SQL.

Neither warehouse runs here. Athena's compile talks to the Glue API served by moto over
HTTP; Redshift's is compiled offline (tests/dbt_offline_compile.py). Each model is
compiled twice, as for a first build and as for an incremental run, and every compiled
statement must parse in the engine's dialect (sqlglot: Trino for Athena, Redshift) and
call only functions that engine has.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from smartcity.dbt.warehouse import layer_schema
from smartcity.settings import PROJECT_ROOT

INCREMENTAL_MODELS = (
    "int_gps_fixes_aggregated_to_vehicle_hour",
    "dim_vehicles",
    "fct_camera_sightings",
    "fct_dead_letters",
    "fct_district_hourly_traffic",
    "fct_district_hourly_weather",
    "fct_city_daily_kpis",
    "fct_trips",
    "fct_emergency_incidents",
)
APPEND_MODELS = ("fct_camera_sightings", "fct_dead_letters")
# What moto's Athena answers to each query of an incremental compile: a moment twice.
# macros/landed_since.sql reads the last column (a newest landing time, a changed hour)
# or the last two (the first and last moments of what changed).
NEWEST_ROW = ("2026-05-04 07:12:00.000", "2026-05-04 07:12:00.000")
# The queries an incremental compile asks: each model its newest landing time (in two
# steps where it has a window_column, in one for dim_vehicles) and what changed since;
# the incidents also where to read from; the trips where to reopen and where to read
# from; the daily KPIs the changes of their six inputs.
WINDOW_QUERIES = 5 * (2 + 1) + (1 + 1) + (2 + 1) + (2 + 2) + (2 + 6)
# The athena target's schema; each layer is a Glue database named after it.
ANALYTICS_SCHEMA = "smartcity_analytics"
# Functions sqlglot does not model itself but the engine has; anything else it cannot
# name is reported, so that a DuckDB-only function (len, list_*, strftime...) fails here.
ENGINE_FUNCTIONS = {
    "trino": {"cardinality", "array_join", "to_milliseconds"},
    "redshift": {"get_array_length", "json_serialize"},
}
DIALECT_OF_TARGET = {"athena": "trino", "redshift": "redshift"}
# Redshift's functions on SUPER values. Spectrum reads a Parquet list as a nested column,
# not as SUPER, so none of them takes one; the project has no SUPER column either.
SUPER_FUNCTIONS = {
    "get_array_length",
    "json_serialize",
    "json_parse",
    "json_typeof",
    "array_flatten",
    "array_concat",
    "subarray",
    "split_to_array",
    "is_array",
}
SOURCES_FILE = PROJECT_ROOT / "dbt_project/models/staging/smartcity/_smartcity__sources.yml"


def dbt_environment(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DO_NOT_TRACK": "1",
        # The production targets' settings that have no default (nothing is reached:
        # the compiles answer from moto and a stubbed connection).
        "SMARTCITY_ATHENA_STAGING_DIR": "s3://athena-results/dbt/",
        "SMARTCITY_ATHENA_DATA_DIR": "s3://lake/warehouse/",
        "SMARTCITY_REDSHIFT_HOST": "redshift.test",
        **extra,
    }


def compile_athena(target_path: Path, aws_server: str, incremental: bool) -> Path:
    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    environment = dbt_environment(AWS_ENDPOINT_URL=aws_server, **aws)
    if incremental:
        glue = boto3.client(
            "glue",
            endpoint_url=aws_server,
            region_name=aws["AWS_REGION"],
            aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
        )
        existing = {d["Name"] for d in glue.get_databases()["DatabaseList"]}
        for layer in ("intermediate", "marts"):
            if layer_schema(layer, ANALYTICS_SCHEMA) not in existing:
                glue.create_database(DatabaseInput={"Name": layer_schema(layer, ANALYTICS_SCHEMA)})
        queue_window_answers(aws_server, WINDOW_QUERIES)
        for name in INCREMENTAL_MODELS:
            layer = "intermediate" if name.startswith("int_") else "marts"
            glue.create_table(
                DatabaseName=layer_schema(layer, ANALYTICS_SCHEMA),
                TableInput={
                    "Name": name,
                    "TableType": "EXTERNAL_TABLE",
                    "StorageDescriptor": {"Columns": [], "Location": f"s3://lake/{name}/"},
                },
            )
    command = [str(Path(sys.executable).with_name("dbt")), "compile", "--target", "athena"]
    return run_compile(command, target_path, environment)


def queue_window_answers(aws_server: str, count: int) -> None:
    """moto's Athena answers queued results to the next queries, one each, over HTTP."""
    header = [{"VarCharValue": "first_at"}, {"VarCharValue": "last_at"}]
    result = {
        "rows": [{"Data": header}, {"Data": [{"VarCharValue": v} for v in NEWEST_ROW]}],
        "column_info": [
            {
                "Name": name,
                "Type": "varchar",
                "CatalogName": "hive",
                "SchemaName": "",
                "TableName": "",
                "Label": name,
                "Precision": 0,
                "Scale": 0,
                "Nullable": "UNKNOWN",
                "CaseSensitive": True,
            }
            for name in ("first_at", "last_at")
        ],
    }
    body = {"account_id": "123456789012", "region": "us-east-1", "results": [result] * count}
    request = urllib.request.Request(
        f"{aws_server}/moto-api/static/athena/query-results",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status in (200, 201)


def compile_redshift(target_path: Path, incremental: bool) -> Path:
    script = PROJECT_ROOT / "tests" / "dbt_offline_compile.py"
    existing = list(INCREMENTAL_MODELS) if incremental else []
    command = [
        sys.executable,
        str(script),
        "dbt.adapters.redshift.RedshiftAdapter",
        "--existing",
        *existing,
        "--",
        "compile",
        "--no-populate-cache",
        "--target",
        "redshift",
    ]
    return run_compile(command, target_path, dbt_environment())


def run_compile(command: list[str], target_path: Path, environment: dict[str, str]) -> Path:
    command += [
        "--target-path",
        str(target_path),
        "--select",
        "resource_type:model",
        "resource_type:snapshot",
    ]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return target_path


def compiled_statements(target_path: Path) -> dict[str, str | None]:
    """Compiled SQL of every model and snapshot; None where dbt compiled nothing."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    return {
        node["name"]: node.get("compiled_code")
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "snapshot")
    }


def dialect_problems(statement: str, dialect: str) -> list[str]:
    if "::" in statement:
        return ["uses a `::` cast, which this engine does not have"]
    try:
        trees = sqlglot.parse(statement, read=dialect)
    except sqlglot.errors.ParseError as error:
        return [f"does not parse: {error}"]
    trees = [tree for tree in trees if tree is not None]
    unknown = {
        node.name.lower() for tree in trees for node in tree.find_all(exp.Anonymous)
    } - ENGINE_FUNCTIONS[dialect]
    # sqlglot understands many engines' names for one function (len, length...). Written
    # back in the target dialect, a function the engine spells differently is renamed:
    # a name that does not survive the round trip is not the engine's own.
    regenerated = " ".join(tree.sql(dialect=dialect) for tree in trees)
    renamed = function_names(statement) - function_names(regenerated) - unknown
    return [f"calls {name}(), unknown to {dialect}" for name in sorted(unknown | renamed)]


def nested_columns_of_sources() -> dict[str, set[str]]:
    """Each raw table with array columns (a data_type ending in []), and those columns."""
    sources = yaml.safe_load(SOURCES_FILE.read_text())["sources"]
    nested = {
        table["name"]: {
            column["name"]
            for column in table.get("columns", [])
            if str(column.get("data_type", "")).endswith("[]")
        }
        for source in sources
        for table in source["tables"]
    }
    return {table: columns for table, columns in nested.items() if columns}


def spectrum_problems(statement: str, nested: dict[str, set[str]]) -> list[str]:
    """What Redshift Spectrum refuses over external tables with nested columns: `*` in
    a select that reads such a table, a nested column read anywhere but a FROM clause
    (where Spectrum unnests it), and SUPER functions, which take no external array."""
    problems = [
        f"calls {name}(), a SUPER function"
        for name in sorted(function_names(statement) & SUPER_FUNCTIONS)
    ]
    for tree in sqlglot.parse(statement, read="redshift"):
        if tree is None:
            continue
        for scope in traverse_scope(tree):
            nested_here = {
                alias: (source.name, nested[source.name])
                for alias, (_, source) in scope.selected_sources.items()
                if isinstance(source, exp.Table) and source.name in nested
            }
            if not nested_here:
                continue
            tables = sorted(table for table, _ in nested_here.values())
            if scope.expression.is_star:
                problems.append(f"selects * from {', '.join(tables)}, which has nested columns")
            for column in scope.columns:
                owners = [nested_here[column.table]] if column.table in nested_here else []
                if not column.table:
                    owners = list(nested_here.values())
                for table, columns in owners:
                    if column.name in columns:
                        problems.append(
                            f"reads the nested column {table}.{column.name} outside a FROM clause"
                        )
    return problems


def function_names(statement: str) -> set[str]:
    return {name.lower() for name in re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\(", statement)}


@pytest.fixture(scope="module")
def compiled(aws_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    runs = {}
    # One target folder per engine for both compiles: the second parses only what
    # changed since the first (nothing), where a new folder would parse every file again.
    root = tmp_path_factory.mktemp("compiled")
    for incremental in (False, True):
        label = "incremental" if incremental else "first build"
        runs[("athena", label)] = compiled_statements(
            compile_athena(root / "athena", aws_server, incremental)
        )
        redshift_target = compile_redshift(root / "redshift", incremental)
        runs[("redshift", label)] = compiled_statements(redshift_target)
        runs[("redshift manifest", label)] = json.loads(
            (redshift_target / "manifest.json").read_text()
        )
    return runs


@pytest.mark.parametrize("target", ["athena", "redshift"])
@pytest.mark.parametrize("label", ["first build", "incremental"])
def test_every_model_compiles_to_the_engine_dialect(
    compiled: dict, target: str, label: str
) -> None:
    statements = compiled[(target, label)]
    models = {path.stem for path in (PROJECT_ROOT / "dbt_project").rglob("*.sql")}
    assert set(statements) >= models - {"vehicles_snapshot"}
    assert [name for name, statement in statements.items() if not statement] == []
    problems = {
        name: found
        for name, statement in statements.items()
        if (found := dialect_problems(statement, DIALECT_OF_TARGET[target]))
    }
    assert problems == {}


@pytest.mark.parametrize("label", ["first build", "incremental"])
def test_no_redshift_model_breaks_spectrums_rules_for_nested_data(
    compiled: dict, label: str
) -> None:
    nested = nested_columns_of_sources()
    assert nested  # the emergency updates' units: an array, as the contract has it
    problems = {
        name: found
        for name, statement in compiled[("redshift", label)].items()
        if statement and (found := spectrum_problems(statement, nested))
    }
    assert problems == {}


def test_the_spectrum_check_catches_what_spectrum_refuses() -> None:
    nested = {"emergency_updates": {"units"}}
    raw = '"dev"."smartcity_raw"."emergency_updates"'
    assert spectrum_problems(f"select * from {raw}", nested)
    assert spectrum_problems(f"select e.* from {raw} as e", nested)
    assert (
        spectrum_problems(f"select *, 1 as n from (select event_id from {raw}) as x", nested) == []
    )
    assert spectrum_problems(f"select get_array_length(units) from {raw}", nested)
    assert spectrum_problems(f"select e.units from {raw} as e", nested)
    assert spectrum_problems(f"select event_id from {raw} where units is not null", nested)
    assert spectrum_problems("select json_serialize(x) from t", nested)
    documented = (
        f"select e.event_id, count(u) as units_count from {raw} as e "
        "left join e.units as u on true group by e.event_id"
    )
    assert spectrum_problems(documented, nested) == []


def test_redshift_distributes_marts_evenly_and_sorts_facts_on_event_time(compiled: dict) -> None:
    manifest = compiled[("redshift manifest", "first build")]
    marts = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"]["materialized"] != "view"
        and "/marts/" in node["original_file_path"]
    ]
    assert len(marts) >= 9
    # No distribution key: a key over nine districts skews rows onto a few slices.
    dist = {node["name"]: node["config"].get("dist") for node in marts}
    assert {name: d for name, d in dist.items() if d not in ("auto", "all")} == {}
    assert {name for name, d in dist.items() if d == "all"} == {
        name for name in dist if name.startswith("dim_")
    }
    unsorted = [
        node["name"]
        for node in marts
        if node["name"].startswith("fct_") and not node["config"].get("sort")
    ]
    assert unsorted == []


@pytest.mark.parametrize("model", INCREMENTAL_MODELS)
def test_the_incremental_run_reads_only_the_partitions_that_changed(
    compiled: dict, model: str
) -> None:
    window = "cast('2026-05-04' as date)"  # the day of what changed, as a constant
    for target in ("athena", "redshift"):
        first = compiled[(target, "first build")][model]
        later = compiled[(target, "incremental")][model]
        assert window not in first and "not exists" not in first
        assert window in later, (target, model)
        assert ("not exists" in later) is (model in APPEND_MODELS), (target, model)


def test_the_check_catches_what_these_engines_reject() -> None:
    assert dialect_problems("select len(units) from t", "trino")
    assert dialect_problems("select x::int from t", "redshift")
    assert dialect_problems("select list_transform(a, x -> x) from t", "redshift")
    assert dialect_problems("select array_to_string(units, ',') from t", "trino")
    assert dialect_problems("select cardinality(units) from t", "trino") == []
    assert dialect_problems("select array_join(units, ',') from t", "trino") == []
