"""The whole dbt project on Trino, the engine Athena v3 is built on, over the same lake.

A real Trino server reads the lake the end-to-end suite landed through the lake's own
Iceberg catalog (the SQLite file the landing job commits to, added to the running
server as a catalog) and dbt builds every model into its Iceberg catalog, as Athena
builds Iceberg marts over the raw Iceberg tables in Glue. What this proves: Trino's
functions, types and semantics give the same rows as DuckDB, model by model
(tests/e2e/test_late_events.py shows incremental runs there, and the partitions they
read). What it cannot: dbt-athena's
own materializations (its Glue calls and table swaps), which only Athena runs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from smartcity.dbt import warehouse
from tests.dbt_runs import run_dbt
from tests.e2e.landed_lake import EXPECTED_HOSTILE, HOSTILE_BYTES
from tests.timestamp_precision import mart_timestamp_columns

pytestmark = [pytest.mark.e2e, pytest.mark.trino]

MODELS_CATALOG, MODELS_SCHEMA = "iceberg", "analytics"
# The catalog over the landed lake's own Iceberg catalog, added while the server runs.
RAW_CATALOG = "landed_lake"
INCREMENTAL = ("fct_camera_sightings", "fct_dead_letters", "fct_district_hourly_traffic")


def trino_environment(trino_server, raw_catalog: str = RAW_CATALOG) -> dict[str, str]:
    return {
        "SMARTCITY_TRINO_HOST": trino_server.host,
        "SMARTCITY_TRINO_PORT": str(trino_server.port),
        "SMARTCITY_TRINO_CATALOG": MODELS_CATALOG,
        "SMARTCITY_TRINO_RAW_CATALOG": raw_catalog,
    }


@pytest.fixture(scope="module")
def on_trino(landed_lake: dict, trino_server) -> dict:
    """The lake's own Iceberg catalog attached to Trino, and the whole project built on
    it. No registration step: Trino reads each table's current metadata from the catalog
    the landing job commits to."""
    settings = landed_lake["settings"]
    trino_server.attach_lake(RAW_CATALOG, Path(settings.lake_uri))
    output = run_dbt(
        settings, "build", "--target", "trino", environment=trino_environment(trino_server)
    )
    return {"settings": settings, "server": trino_server, "output": output}


def test_the_whole_project_builds_and_passes_its_tests_on_trino(on_trino: dict) -> None:
    summary = [line for line in on_trino["output"].splitlines() if "Done. PASS=" in line]
    assert summary, on_trino["output"][-3000:]
    assert "ERROR=0" in summary[-1] and "WARN=0" in summary[-1], summary[-1]
    assert int(summary[-1].split("PASS=")[1].split()[0]) > 200


def comparable(value: object) -> object:
    """One value as both engines can agree on it: timestamps to the microsecond (both
    read Iceberg's microseconds), numbers as floats, arrays as tuples, bytes as bytes."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return tuple(comparable(v) for v in value)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


def same_value(got: object, want: object) -> bool:
    if isinstance(want, float) and isinstance(got, float | int):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)
    return got == want


def sort_key(row: tuple) -> str:
    return repr(tuple(round(v, 6) if isinstance(v, float) else v for v in row))


def duckdb_models(settings) -> dict[str, str]:
    """Every model and seed dbt built in DuckDB, with its layer (its schema's suffix);
    snapshots differ between two builds by their validity timestamps, so are left out."""
    layers = [layer for layer in warehouse.LAYERS if layer != "snapshots"]
    schemas = {warehouse.layer_schema(layer): layer for layer in layers}
    with warehouse.connect(settings.duckdb_path) as connection:
        rows = connection.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    return {name: schemas[schema] for schema, name in rows if schema in schemas}


def trino_relation(layer: str, model: str) -> str:
    return f"{MODELS_CATALOG}.{warehouse.layer_schema(layer, MODELS_SCHEMA)}.{model}"


def model_differences(
    settings, server, models: list[str], relation: Callable[[str, str], str] | None = None
) -> dict[str, object]:
    """Per model whose rows differ between the DuckDB and the Trino builds: counts and
    the first differing rows. ``relation`` names a model's table on Trino from its layer
    and name (by default, in the trino target's Iceberg catalog)."""
    relation = relation or trino_relation
    differences: dict[str, object] = {}
    layers = duckdb_models(settings)
    with warehouse.connect(settings.duckdb_path) as local:
        for model in models:
            cursor = local.execute(f"select * from {model}")
            names = [column[0] for column in cursor.description]
            expected = sorted(
                (tuple(map(comparable, row)) for row in cursor.fetchall()), key=sort_key
            )
            columns = ", ".join(f'"{name}"' for name in names)
            found = sorted(
                (
                    tuple(map(comparable, row))
                    for row in server.execute(
                        f"select {columns} from {relation(layers[model], model)}"
                    )
                ),
                key=sort_key,
            )
            mismatched = [
                (got, want)
                for got, want in zip(found, expected, strict=False)
                if len(got) != len(want)
                or not all(same_value(g, w) for g, w in zip(got, want, strict=True))
            ]
            if len(found) != len(expected) or mismatched:
                differences[model] = {"rows": (len(found), len(expected)), "first": mismatched[:2]}
    return differences


def test_every_model_on_trino_has_the_rows_of_the_duckdb_build(on_trino: dict) -> None:
    settings, server = on_trino["settings"], on_trino["server"]
    models = sorted(duckdb_models(settings))
    assert len(models) >= 20 and "fct_city_daily_kpis" in models
    assert model_differences(settings, server, models) == {}


def test_the_marts_timestamps_on_trino_are_microseconds_as_in_the_lake(on_trino: dict) -> None:
    """Trino's `timestamp` is timestamp(3); the marts keep the lake's microseconds
    (tests/e2e/test_pipeline.py pins the raw files', DuckDB's and PostgreSQL's)."""
    server = on_trino["server"]
    schema = warehouse.layer_schema("marts", MODELS_SCHEMA)
    found = {
        (model, column): kind
        for model, column, kind in server.execute(
            f"select table_name, column_name, data_type from {MODELS_CATALOG}."
            f"information_schema.columns where table_schema = '{schema}'"
        )
    }
    wanted = [(m, c) for m, columns in mart_timestamp_columns().items() for c in columns]
    assert wanted
    assert {key: found.get(key) for key in wanted} == dict.fromkeys(wanted, "timestamp(6)")


def test_an_incremental_run_on_trino_merges_into_the_same_rows(on_trino: dict) -> None:
    settings, server = on_trino["settings"], on_trino["server"]
    table = trino_relation("marts", "fct_district_hourly_traffic")
    server.execute(f"update {table} set gps_fixes = -1")
    run_dbt(
        settings,
        "run",
        "--target",
        "trino",
        "--select",
        *INCREMENTAL,
        "fct_district_hourly_weather",
        "fct_city_daily_kpis",
        environment=trino_environment(server),
    )
    spoiled = server.execute(f"select count(*) from {table} where gps_fixes < 0")
    assert spoiled == [[0]]
    merged = [*INCREMENTAL, "fct_district_hourly_weather", "fct_city_daily_kpis"]
    assert model_differences(settings, server, merged) == {}


def test_a_dead_letter_of_any_bytes_is_read_back_exactly_on_trino(on_trino: dict) -> None:
    rows = on_trino["server"].execute(
        "select raw_key_bytes, raw_value_bytes, raw_key, raw_value, reason_message from "
        f"(select * from {trino_relation('staging', 'stg_smartcity__dead_letters')})"
    )
    found = {
        bytes(row[0]): (bytes(row[0]), bytes(row[1]), row[2], row[3])
        for row in rows
        if row[0] is not None and bytes(row[0]) in HOSTILE_BYTES
    }
    assert all(row[4] and "\x00" not in row[4] for row in rows)
    assert found == EXPECTED_HOSTILE
