"""The real dbt-athena adapter through the whole project, on the local Athena
(tests/local_athena.py: Athena's API over the test Trino, Glue and S3 on moto), under
the temporary credentials of the stack's dbt role with IAM enforced.

The lake is the one the end-to-end suite landed, its Iceberg tables' files put in the
stack's lake bucket and committed to the raw database's Iceberg tables in Glue by the
landing role, as the landing job commits its batches; Athena reads them as Iceberg
tables.
dbt runs with the committed `athena` target: seed, build, snapshot twice, an
incremental run that merges, a full refresh, and, once a month more has landed, the
hourly build; the marts must equal DuckDB's over the same events, and every AWS call the
adapter made must be one the dbt role is allowed.

What this cannot show: Athena-only functions and Athena's own error texts beyond the
names, Lake Formation, real quotas and throttling, and the caller's S3 and Glue
permissions on the data a query reads (the engine reads it with its own keys).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TypeVar

import pytest

from smartcity.dbt import warehouse
from streaming.iceberg_catalogs import lake_catalog
from streaming.iceberg_tables import ensure_tables
from tests import aws_stack
from tests.dbt_runs import run_dbt
from tests.e2e.test_trino import duckdb_models, model_differences
from tests.local_athena import LocalAthena
from tests.local_trino import GLUE_CATALOG, GLUE_ICEBERG_CATALOG
from tests.mart_comments import mart_comments

pytestmark = [pytest.mark.e2e, pytest.mark.trino]
T = TypeVar("T")

SCHEMA = aws_stack.SCHEMA
# The suite's lake is dated months back, before the test window of the hourly build's
# generic tests on Athena (macros/recent_partitions.sql): its builds test every row.
EVERY_ROW = ("--vars", "{recent_days: 0}")
# The first build's selection: what the hourly selector (selectors.yml) builds but its
# tests, and the whole_history tests it excludes; no test is picked up indirectly.
FIRST_BUILD = (
    "--select",
    "resource_type:model",
    "resource_type:seed",
    "resource_type:snapshot",
    "tag:whole_history,resource_type:test",
    "--indirect-selection",
    "empty",
)
# The AWS calls dbt-athena makes in the suite's runs, each of which the dbt role must be
# allowed (test_every_call_of_the_adapter_is_allowed_for_the_dbt_role)...
ADAPTER_CALLS = {
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetWorkGroup",
    "glue:GetDatabases",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetTableVersions",
    "glue:DeleteTableVersion",
    "glue:DeleteTable",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:DeleteObject",
    "sts:GetCallerIdentity",
}
# ... and those it may make besides, on other paths (a rename, a partitioned Hive table).
ADAPTER_MAY_CALL = {
    "glue:GetDatabase",
    "glue:UpdateTable",
    "glue:CreateTable",
    "glue:GetPartitions",
    "glue:BatchCreatePartition",
    "glue:BatchDeletePartition",
    "s3:GetObject",
}


@pytest.fixture(scope="module")
def local_athena(trino_server, deployed_stack: aws_stack.Deployed) -> Iterator[LocalAthena]:
    engine = {s: deployed_stack.as_user("athena-engine", s) for s in ("s3", "glue", "athena")}
    athena = LocalAthena(trino_server, deployed_stack.endpoint, SimpleNamespace(**engine))
    athena.start()
    try:
        yield athena
    finally:
        athena.stop()


def dbt_role_environment(deployed: aws_stack.Deployed, athena: LocalAthena, home: Path) -> dict:
    """The committed athena target under the dbt role's session, as docs/aws.md sets it
    from the stack's exports."""
    session = deployed.sessions["Dbt"]
    return {
        "SMARTCITY_DBT_TARGET": "athena",
        "SMARTCITY_ATHENA_STAGING_DIR": deployed.outputs["SmartcityAthenaStagingDir"],
        "SMARTCITY_ATHENA_DATA_DIR": deployed.outputs["SmartcityAthenaDataDir"],
        "SMARTCITY_ATHENA_SCHEMA": deployed.outputs["SmartcityAthenaSchema"],
        "SMARTCITY_ATHENA_WORK_GROUP": aws_stack.WORK_GROUP,
        "SMARTCITY_RAW_SCHEMA": aws_stack.RAW_DB,
        # The local Athena answers in milliseconds; a look a second makes every
        # statement take one.
        "SMARTCITY_ATHENA_POLL_SECONDS": "0.05",
        "AWS_REGION": aws_stack.REGION,
        "AWS_ENDPOINT_URL": deployed.endpoint,
        "AWS_ENDPOINT_URL_ATHENA": athena.url,
        "AWS_ACCESS_KEY_ID": session["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": session["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": session["aws_session_token"],
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def raw_tables(deployed: aws_stack.Deployed) -> dict:
    """The raw database's Iceberg tables in Glue, as the landing role finds or creates
    them when the landing job starts."""
    catalog = deployed.iceberg_catalog_as("Landing")
    return ensure_tables(catalog, aws_stack.RAW_DB, deployed.outputs["SmartcityLakeUri"])


def put_the_lake_in_s3(deployed: aws_stack.Deployed, settings) -> int:
    """The landed lake's tables into the stack's bucket and Glue, as the landing role
    lands them: each table's current data files copied, then committed to the table of
    the same name in the raw database (one commit per table)."""
    s3 = deployed.as_role("Landing", "s3")
    lake = Path(settings.lake_uri).resolve()
    local = lake_catalog(settings.lake_uri)
    copied = 0
    for name, table in raw_tables(deployed).items():
        landed = local.load_table((settings.iceberg_namespace, name))
        keys = [
            str(Path(uri.removeprefix("file://")).relative_to(lake))
            for uri in landed.inspect.files().column("file_path").to_pylist()
        ]
        for key in keys:
            s3.put_object(Bucket=aws_stack.LAKE, Key=key, Body=(lake / key).read_bytes())
        if keys:
            table.add_files([f"s3://{aws_stack.LAKE}/{key}" for key in keys])
        copied += len(keys)
    return copied


def done_line(output: str) -> str:
    lines = [line for line in output.splitlines() if "Done. PASS=" in line]
    assert lines, output[-3000:]
    return lines[-1]


@pytest.fixture(scope="module")
def on_athena(
    landed_lake: dict,
    deployed_stack: aws_stack.Deployed,
    local_athena: LocalAthena,
    tmp_path_factory,
) -> dict:
    settings = landed_lake["settings"]
    assert put_the_lake_in_s3(deployed_stack, settings) > 5
    environment = dbt_role_environment(
        deployed_stack, local_athena, tmp_path_factory.mktemp("athena-home")
    )
    outputs = {}
    for name, arguments in (
        ("seed", ("seed",)),
        # Every model, seed and snapshot, and the tests the hourly build leaves out.
        # The second build is the hourly one, after a month more has landed
        # (test_the_hourly_build_reads_only_what_is_recent_or_newly_landed): it runs every
        # other test, so each of the project's tests runs once on Athena (each test takes
        # about a second of Trino's planning here, and there are some 250). The models'
        # second run over the same events is in the incremental-run test below.
        ("build", ("build", *FIRST_BUILD, *EVERY_ROW)),
        ("snapshot", ("snapshot",)),
        ("snapshot again", ("snapshot",)),
    ):
        outputs[name] = run_dbt(settings, *arguments, environment=environment)
    return {
        "settings": settings,
        "environment": environment,
        "outputs": outputs,
        "athena": local_athena,
        "deployed": deployed_stack,
    }


def athena_relation(layer: str, model: str) -> str:
    return f'{GLUE_CATALOG}."{SCHEMA}_{layer}".{model}'


def first_build_nodes(parsed_project: Path) -> int:
    """How many nodes the first build selects, from the parsed manifest: every model,
    seed and snapshot, the tests tagged whole_history, and the project's on-run-end hook
    (an operation, counted as a pass)."""
    import json

    nodes = json.loads((parsed_project / "manifest.json").read_text())["nodes"].values()
    return sum(
        node["resource_type"] in {"model", "seed", "snapshot", "operation"}
        or (node["resource_type"] == "test" and "whole_history" in node["tags"])
        for node in nodes
    )


def test_the_whole_project_builds_and_snapshots_twice_with_dbt_athena(
    on_athena: dict, parsed_project: Path
) -> None:
    for name, output in on_athena["outputs"].items():
        line = done_line(output)
        assert "ERROR=0" in line and "WARN=0" in line, f"{name}: {line}"
    nodes = first_build_nodes(parsed_project)
    line = done_line(on_athena["outputs"]["build"])
    assert f"PASS={nodes} " in line, line
    # Each model, seed, snapshot and test asks Athena at least once.
    statements = on_athena["athena"].statements
    assert len(statements) > nodes, len(statements)
    failed = [s for s in statements if s.state == "FAILED"]
    # Only what dbt-athena asks to find out (a relation that may not exist) may fail.
    assert all("does not exist" in (s.reason or "") or "not found" in (s.reason or "")
               for s in failed), [(s.query[:200], s.reason) for s in failed[:3]]  # fmt: skip


def test_every_model_on_athena_has_the_rows_of_the_duckdb_build(on_athena: dict) -> None:
    settings, server = on_athena["settings"], on_athena["athena"].trino
    models = sorted(duckdb_models(settings))
    assert len(models) >= 20 and "fct_city_daily_kpis" in models
    assert model_differences(settings, server, models, athena_relation) == {}


def test_the_snapshot_and_the_seeds_live_under_the_warehouse_as_iceberg(on_athena: dict) -> None:
    glue = on_athena["deployed"].as_user("administrator", "glue")
    for database, table in (
        (f"{SCHEMA}_snapshots", "vehicles_snapshot"),
        (f"{SCHEMA}_reference", "districts"),
    ):
        found = glue.get_table(DatabaseName=database, Name=table)["Table"]
        assert found["Parameters"].get("table_type", "").lower() == "iceberg", found["Parameters"]
        location = found["StorageDescriptor"]["Location"]
        assert location.startswith(on_athena["deployed"].outputs["SmartcityAthenaDataDir"]), (
            location
        )
    rows = on_athena["athena"].trino.execute(
        f"select count(*), count(dbt_valid_to) from {athena_relation('snapshots', 'vehicles_snapshot')}"
    )
    vehicles = on_athena["athena"].trino.execute(
        f"select count(*) from {athena_relation('marts', 'dim_vehicles')}"
    )
    assert rows == [[vehicles[0][0], 0]]


def one_line(text: str | None) -> str | None:
    return None if text is None else " ".join(text.split())


def test_the_table_marts_descriptions_reach_their_glue_tables(on_athena: dict) -> None:
    # persist_docs: Athena's console, and Tableau through it, show what the models' YAML
    # says, written by dbt-athena into each Glue table and its columns; the same text as
    # DuckDB holds, with its line breaks as spaces (dbt-athena writes Glue's comments on
    # one line). (The marts that are views keep none on Athena: view_persist_docs.)
    tables, columns = mart_comments(on_athena["settings"].duckdb_path, with_views=False)
    assert len(tables) >= 9 and all(tables.values())
    glue = on_athena["deployed"].as_user("administrator", "glue")
    for table, description in tables.items():
        found = glue.get_table(DatabaseName=f"{SCHEMA}_marts", Name=table)["Table"]
        assert one_line(found.get("Description")) == one_line(description), table
        described = {
            column["Name"]: one_line(column.get("Comment"))
            for column in found["StorageDescriptor"]["Columns"]
        }
        assert described == {
            column: one_line(comment) for (of, column), comment in columns.items() if of == table
        }, table


def test_an_incremental_run_on_athena_merges_into_the_same_rows(on_athena: dict) -> None:
    """Every incremental model run again over the same events, on its incremental path:
    the merges succeed, a spoiled row is put right, and the rows are DuckDB's still."""
    settings, athena = on_athena["settings"], on_athena["athena"]
    table = athena_relation("marts", "fct_district_hourly_traffic")
    athena.trino.execute(f"update {table} set gps_fixes = -1")
    merged = _incremental_models()
    assert len(merged) >= 8 and "fct_district_hourly_traffic" in merged, merged
    seen = len(athena.statements)
    output = run_dbt(settings, "run", "--select", *merged, environment=on_athena["environment"])
    line = done_line(output)
    # Every model, and the project's on-run-end hook (a no-op on Athena).
    assert "ERROR=0" in line and f"PASS={len(merged) + 1} " in line, line
    merges = [
        " ".join(s.query.split()).lower()
        for s in athena.statements[seen:]
        if re.search(r"\bmerge\s+into\b", s.query, re.I) and s.state == "SUCCEEDED"
    ]
    sql = _models_sql()
    appended = {m for m in merged if "incremental_strategy='append'" in sql[m]}
    for model in set(merged) - appended:
        assert any(re.search(rf"merge into \S*{model}\W", q) for q in merges), model
    assert athena.trino.execute(f"select count(*) from {table} where gps_fixes < 0") == [[0]]
    assert model_differences(settings, athena.trino, merged, athena_relation) == {}


def test_iceberg_upkeep_compacts_files_and_expires_snapshots(on_athena: dict) -> None:
    """`dbt run-operation maintain_iceberg_tables` under the dbt role: Athena's OPTIMIZE
    rewrites the data and delete files into data files alone, VACUUM expires the
    snapshots the table's age allows."""
    settings, athena = on_athena["settings"], on_athena["athena"]
    table = f'{GLUE_ICEBERG_CATALOG}."{SCHEMA}_marts"'
    traffic = f'{table}."fct_district_hourly_traffic$files"'
    snapshots = f'{table}."fct_district_hourly_traffic$snapshots"'
    files_before = athena.trino.execute(f"select count(*) from {traffic}")[0][0]
    assert files_before > 1
    assert athena.trino.execute(f"select count(*) from {snapshots}")[0][0] > 1
    # Keep no snapshot but the current one, set as on Athena.
    dbt_athena = _athena_as(on_athena["deployed"], athena, "Dbt")
    query_id = _started(
        dbt_athena,
        f"alter table {SCHEMA}_marts.fct_district_hourly_traffic "
        "set tblproperties ('vacuum_max_snapshot_age_seconds'='0')",
        f"{SCHEMA}_marts",
    )
    assert _finished(dbt_athena, query_id)["Status"]["State"] == "SUCCEEDED"
    before = athena.trino.execute(
        f"select count(*) from {athena_relation('marts', 'fct_district_hourly_traffic')}"
    )
    output = run_dbt(
        settings, "run-operation", "maintain_iceberg_tables", environment=on_athena["environment"]
    )
    assert "optimize and vacuum smartcity_analytics_marts.fct_district_hourly_traffic" in output
    queries = [s.query.lower() for s in athena.statements]
    assert any(q.startswith("optimize ") and "rewrite data using bin_pack" in q for q in queries)
    assert any(q.startswith("vacuum ") for q in queries)
    files_after = athena.trino.execute(f"select content, count(*) from {traffic} group by 1")
    # Only data files are left (the merges' delete files are applied), no more of them.
    assert [row[0] for row in files_after] == [0], files_after
    assert files_after[0][1] <= files_before, (files_before, files_after)
    assert athena.trino.execute(f"select count(*) from {snapshots}") == [[1]]
    after = athena.trino.execute(
        f"select count(*) from {athena_relation('marts', 'fct_district_hourly_traffic')}"
    )
    assert after == before
    assert (
        model_differences(settings, athena.trino, ["fct_district_hourly_traffic"], athena_relation)
        == {}
    )


def _models_sql(layer: str = "") -> dict[str, str]:
    """Each model's SQL by its name, from the project's files (of one layer, if named)."""
    from smartcity.settings import PROJECT_ROOT

    folder = PROJECT_ROOT / "dbt_project" / "models" / layer
    return {path.stem: path.read_text(encoding="utf-8") for path in folder.rglob("*.sql")}


def _incremental_models(layer: str = "") -> list[str]:
    return sorted(
        model for model, sql in _models_sql(layer).items() if "materialized='incremental'" in sql
    )


def test_a_full_refresh_swaps_each_mart_in_once_its_rebuild_is_complete(on_athena: dict) -> None:
    """`dbt run --full-refresh --select marts` under the dbt role. Each incremental mart
    is rebuilt beside the live one (`<mart>__dbt_tmp`, at a location of its own) and
    renamed into place only once that succeeded: no mart is dropped before it has a
    replacement, and the rebuilt marts hold DuckDB's rows."""
    settings, athena = on_athena["settings"], on_athena["athena"]
    marts = [m for m, layer in duckdb_models(settings).items() if layer == "marts"]
    incremental = _incremental_models("marts")
    assert len(incremental) >= 6, incremental
    seen = len(athena.statements)
    # The marts (the views below them are not refreshed by the flag); their tests ran
    # in the builds, and the rows are compared with DuckDB's below.
    output = run_dbt(
        settings,
        "run",
        "--full-refresh",
        "--select",
        "marts",
        environment=on_athena["environment"],
    )
    line = done_line(output)
    assert "ERROR=0" in line and "WARN=0" in line, line
    queries = [" ".join(s.query.split()).lower() for s in athena.statements[seen:]]
    for mart in incremental:
        built = [
            i for i, q in enumerate(queries) if re.search(rf"create table \S*{mart}__dbt_tmp\W", q)
        ]
        renamed = [i for i, q in enumerate(queries) if re.search(rf"`{mart}` rename to", q)]
        dropped = [i for i, q in enumerate(queries) if re.search(rf"drop table \S*`?{mart}`?$", q)]
        assert built and renamed and built[0] < renamed[0], (mart, built, renamed)
        assert not dropped, (mart, [queries[i] for i in dropped])
        location = re.search(r"location='([^']+)'", queries[built[0]])
        assert location and re.search(r"/[0-9a-f-]{36}$", location.group(1)), queries[built[0]]
    assert model_differences(settings, athena.trino, marts, athena_relation) == {}


def marts_that_are_views(settings) -> set[str]:
    with warehouse.connect(settings.duckdb_path) as duck:
        return {
            name
            for (name,) in duck.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main_marts' and table_type = 'VIEW'"
            ).fetchall()
        }


def test_a_full_refresh_that_fails_leaves_every_mart_as_it_was(on_athena: dict) -> None:
    """The same full refresh, with every rebuild failing as one over a long history can
    on AWS (the scan cutoff, whose smallest setting is 10 MB, more than this lake): the
    local Athena fails each statement that writes a mart's replacement. Every mart fails,
    and every one is still there under its name with its rows."""
    settings, athena = on_athena["settings"], on_athena["athena"]
    marts = [m for m, layer in duckdb_models(settings).items() if layer == "marts"]
    rows_of = "select count(*) from {}"
    before = {m: athena.trino.execute(rows_of.format(athena_relation("marts", m))) for m in marts}
    athena.faults.append(
        (
            re.compile(r"^create table \S+__(dbt_tmp|ha)\W", re.I),
            "EXCEEDED_BYTES_SCANNED_LIMIT",
            "Query cancelled: it scanned more than the workgroup's limit",
        )
    )
    try:
        with pytest.raises(RuntimeError) as failed:
            run_dbt(
                settings,
                "run",
                "--full-refresh",
                "--select",
                "marts",
                environment=on_athena["environment"],
            )
    finally:
        athena.faults.clear()
    summary = done_line(str(failed.value))
    counts = dict(re.findall(r"(PASS|ERROR|SKIP)=(\d+)", summary))
    # Each table mart failed, or was skipped below one that did; what passed is the
    # on-run-end hook and the views among the marts that read no mart (a view is
    # replaced in place, not rebuilt beside the live one).
    views = marts_that_are_views(settings)
    assert int(counts["ERROR"]) > 0, summary
    assert 1 <= int(counts["PASS"]) <= 1 + len(views), summary
    assert int(counts["PASS"]) - 1 + int(counts["ERROR"]) + int(counts["SKIP"]) == len(marts)
    after = {m: athena.trino.execute(rows_of.format(athena_relation("marts", m))) for m in marts}
    assert after == before


def test_every_call_of_the_adapter_is_allowed_for_the_dbt_role(on_athena: dict) -> None:
    deployed = on_athena["deployed"]
    prefix = deployed.principal("Dbt")
    calls = [c for c in deployed.calls() if c["principal"].startswith(prefix)]
    # moto first judges a multi-object delete against the bucket, then each key
    # (tests/local_aws.py): the first verdict is not AWS's and is left out.
    judged = [
        c for c in calls if not (c["action"] == "s3:DeleteObject" and c["resource"].count("/") == 0)
    ]
    refused = {(c["action"], c["resource"]) for c in judged if not c["allowed"]}
    assert refused == set()
    made = {c["action"] for c in judged}
    assert made >= ADAPTER_CALLS, sorted(ADAPTER_CALLS - made)
    assert made <= ADAPTER_CALLS | ADAPTER_MAY_CALL, sorted(made - ADAPTER_CALLS - ADAPTER_MAY_CALL)


def test_the_bi_role_is_refused_what_the_adapter_does(on_athena: dict) -> None:
    deployed = on_athena["deployed"]
    glue = deployed.as_role("Bi", "glue")
    marts = f"{SCHEMA}_marts"
    for call, arguments in (
        (glue.get_table_versions, {"DatabaseName": marts, "TableName": "fct_trips"}),
        (glue.delete_table, {"DatabaseName": marts, "Name": "fct_trips"}),
        (glue.update_table, {"DatabaseName": marts, "TableInput": {"Name": "fct_trips"}}),
    ):
        with pytest.raises(Exception, match="AccessDenied"):
            call(**arguments)
    s3 = deployed.as_role("Bi", "s3")
    with pytest.raises(Exception, match="AccessDenied"):
        s3.put_object(Bucket=aws_stack.LAKE, Key="warehouse/x", Body=b"x")


# ------------------------------------------------------------------ bad input and failure


def _athena_as(deployed: aws_stack.Deployed, athena: LocalAthena, role: str):
    import boto3

    return boto3.client(
        "athena",
        region_name=aws_stack.REGION,
        endpoint_url=athena.url,
        config=aws_stack.NO_RETRIES,
        **deployed.sessions[role],
    )


def _started(client, sql: str, database: str | None = None) -> str:
    context = {"QueryExecutionContext": {"Database": database}} if database else {}
    return client.start_query_execution(QueryString=sql, WorkGroup=aws_stack.WORK_GROUP, **context)[
        "QueryExecutionId"
    ]


def _awaited(look: Callable[[], T | None], what: str, timeout_s: float = 120) -> T:
    """The first answer of ``look`` that is not None, looking every 0.1 s; fails with
    ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while (answer := look()) is None:
        assert time.monotonic() < deadline, f"{what} within {timeout_s:.0f} s"
        time.sleep(0.1)
    return answer


def _finished(client, query_id: str) -> dict:
    """The query's execution once it has left QUEUED and RUNNING."""

    def look() -> dict | None:
        execution = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        return None if execution["Status"]["State"] in ("QUEUED", "RUNNING") else execution

    return _awaited(look, f"query {query_id} did not finish")


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        # A storage format the local Athena does not translate: refused, not guessed.
        (
            "create external table bad_format (a string) row format delimited "
            "fields terminated by ',' location 's3://city-lake-iam/warehouse/x/'",
            "NOT_SUPPORTED",
        ),
        ("select 1; select 2", "NOT_SUPPORTED"),
        ("select no_such_column from (values 1) as t(a)", "COLUMN_NOT_FOUND"),
        ("select * from no_such_table", "TABLE_NOT_FOUND"),
    ],
)
def test_a_statement_that_cannot_run_fails_the_query_in_athenas_shape(
    deployed_stack: aws_stack.Deployed, local_athena: LocalAthena, sql: str, reason: str
) -> None:
    athena = _athena_as(deployed_stack, local_athena, "Dbt")
    query_id = _started(athena, sql, f"{SCHEMA}_staging")
    execution = _finished(athena, query_id)
    assert execution["Status"]["State"] == "FAILED"
    assert execution["Status"]["StateChangeReason"].startswith(f"{reason}:")
    assert execution["Status"]["AthenaError"]["ErrorMessage"].startswith(f"{reason}:")
    with pytest.raises(Exception, match="InvalidRequestException"):
        athena.get_query_results(QueryExecutionId=query_id)


def test_a_stopped_query_is_cancelled_on_the_engine(
    deployed_stack: aws_stack.Deployed, local_athena: LocalAthena
) -> None:
    athena = _athena_as(deployed_stack, local_athena, "Dbt")
    query_id = _started(
        athena,
        "select count(*) from unnest(sequence(1, 10000)) as a(x) "
        "cross join unnest(sequence(1, 10000)) as b(y) cross join unnest(sequence(1, 10000)) as c(z)",
    )
    # Stopped once it runs on the engine.
    engine_query = _awaited(
        lambda: local_athena.executions[query_id].engine_query_id, "the query reached the engine"
    )
    assert (
        athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"]
        == "RUNNING"
    )
    athena.stop_query_execution(QueryExecutionId=query_id)
    execution = _finished(athena, query_id)
    assert execution["Status"]["State"] == "CANCELLED"

    # The engine's query ends too (Trino cancels it asynchronously).
    def engine_state() -> str | None:
        rows = local_athena.trino.execute(
            f"select state from system.runtime.queries where query_id = '{engine_query}'"
        )
        return rows[0][0] if rows and rows[0][0] in ("FAILED", "FINISHED") else None

    assert _awaited(engine_state, "the engine ended the query") == "FAILED"


def test_a_query_writes_its_result_file_and_pages_with_a_header(
    deployed_stack: aws_stack.Deployed, local_athena: LocalAthena
) -> None:
    athena = _athena_as(deployed_stack, local_athena, "Dbt")
    query_id = _started(
        athena,
        "select n, cast(n as varchar) as label, null as nothing "
        "from unnest(sequence(1, 1500)) as t(n)",
    )
    execution = _finished(athena, query_id)
    assert execution["Status"]["State"] == "SUCCEEDED"
    location = execution["ResultConfiguration"]["OutputLocation"]
    assert location == f"s3://{aws_stack.RESULTS}/results/{query_id}.csv"
    pages = list(athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id))
    rows = [row["Data"] for page in pages for row in page["ResultSet"]["Rows"]]
    assert len(pages) == 2 and len(rows) == 1501
    assert [d["VarCharValue"] for d in rows[0]] == ["n", "label", "nothing"]
    assert rows[1] == [{"VarCharValue": "1"}, {"VarCharValue": "1"}, {}]
    columns = pages[0]["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"]) for c in columns] == [
        ("n", "bigint"),
        ("label", "varchar"),
        ("nothing", "unknown"),
    ]
    body = (
        deployed_stack.as_role("Dbt", "s3")
        .get_object(Bucket=aws_stack.RESULTS, Key=f"results/{query_id}.csv")["Body"]
        .read()
    )
    assert body.decode().splitlines()[:2] == ['"n","label","nothing"', '"1","1",""']


def test_access_denied_reaches_the_dbt_log_as_one_line_naming_action_and_resource(
    on_athena: dict,
) -> None:
    """dbt under the BI role, which may not run queries in the workgroup."""
    deployed = on_athena["deployed"]
    session = deployed.sessions["Bi"]
    environment = {
        **on_athena["environment"],
        "AWS_ACCESS_KEY_ID": session["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": session["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": session["aws_session_token"],
    }
    with pytest.raises(RuntimeError) as failure:
        run_dbt(
            on_athena["settings"],
            "run",
            "--select",
            "stg_smartcity__gps_fixes",
            environment=environment,
        )
    lines = [line for line in str(failure.value).splitlines() if "AccessDenied" in line]
    assert lines, str(failure.value)[-2000:]
    assert "glue:" in lines[0] or "athena:" in lines[0], lines[0]
    assert "on resource: arn:aws:" in lines[0], lines[0]


def test_late_rows_reach_the_marts_in_the_next_incremental_run(on_athena: dict) -> None:
    """Fixes of the newest hour landed after the builds (new event ids, as a device that
    buffered them would send), committed to the raw Iceberg table: the next incremental
    run merges them into the hour."""
    import uuid
    from datetime import UTC, datetime

    import pyarrow.parquet as pq

    from foundation.contracts import GPS_FIXES
    from tests.history_lake import parquet_file

    settings, athena, deployed = on_athena["settings"], on_athena["athena"], on_athena["deployed"]
    lake = Path(settings.lake_uri)
    newest = max(
        (lake / "raw" / "gps_fixes").glob("event_date=*/event_hour=*"),
        key=lambda hour: (hour.parent.name, int(hour.name.split("=")[1])),
    )
    rows = pq.read_table(next(newest.glob("*.parquet"))).to_pylist()[:7]
    for index, row in enumerate(rows):
        row["event_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"late/{index}"))
        row["landed_at"] = datetime.now(UTC).replace(tzinfo=None)
    key = f"{newest.relative_to(lake)}/part-late.parquet"
    deployed.as_role("Landing", "s3").put_object(
        Bucket=aws_stack.LAKE, Key=key, Body=parquet_file(GPS_FIXES, rows)
    )
    raw_tables(deployed)["gps_fixes"].add_files([f"s3://{aws_stack.LAKE}/{key}"])
    table = athena_relation("marts", "fct_district_hourly_traffic")
    total = f"select sum(gps_fixes) from {table}"
    before = athena.trino.execute(total)[0][0]
    output = run_dbt(
        settings,
        "run",
        "--select",
        "fct_district_hourly_traffic",
        environment=on_athena["environment"],
    )
    assert "ERROR=0" in done_line(output)
    assert athena.trino.execute(total)[0][0] == before + len(rows)


# ------------------------------------------------------------------ a long history (last:
# it adds to the lake the tests above compare with DuckDB)


def test_a_first_build_over_more_than_100_days_is_written_in_batches(on_athena: dict) -> None:
    """101 days of camera sightings, written straight into the lake: the first build of
    the day-partitioned fct_camera_sightings (a full refresh) exceeds Athena's 100
    partitions per statement, and dbt-athena writes it in batches."""
    from datetime import date

    from foundation.contracts import CAMERA_SIGHTINGS
    from tests.history_lake import write_history

    deployed, athena = on_athena["deployed"], on_athena["athena"]
    first_day, days = date(2025, 1, 1), 101
    sightings = raw_tables(deployed)[CAMERA_SIGHTINGS.source]
    rows = write_history(
        deployed.as_role("Landing", "s3"),
        aws_stack.LAKE,
        sightings,
        CAMERA_SIGHTINGS,
        first_day,
        days,
        3,
    )
    seen = len(athena.statements)
    output = run_dbt(
        on_athena["settings"],
        "run",
        "--select",
        "fct_camera_sightings",
        "--full-refresh",
        environment=on_athena["environment"],
    )
    assert "ERROR=0" in done_line(output)
    refused = [
        s for s in athena.statements[seen:] if "TOO_MANY_OPEN_PARTITIONS" in (s.reason or "")
    ]
    assert refused, "the first statement should have met Athena's 100-partition limit"
    mart = athena_relation("marts", "fct_camera_sightings")
    found = athena.trino.execute(
        f"select count(*), count(distinct sighting_id), count(distinct event_date) from {mart} "
        "where event_date < date '2025-06-01'"
    )
    assert found == [[rows, rows, days]]


# ------------------------------------------------------------------ a month up to today
# (last: it adds to the lake)


# Marts read whole where the hourly run touches them: a row per day, a row per incident.
SMALL_MARTS = {"fct_city_daily_kpis", "fct_emergency_incidents"}


def _window_columns() -> dict[str, str]:
    """Each model's window_column (its meta), from the models' SQL."""
    found = {}
    for model, sql in _models_sql().items():
        column = re.search(r"'window_column': '(\w+)'", sql)
        if column:
            found[model] = column.group(1)
    return found


def _strip_sql_comment(query: str) -> str:
    return re.sub(r"--[^\n]*", "", query)


def _layer_of(model: str) -> str:
    return "intermediate" if model.startswith("int_") else "marts"


def _replaced_rows(athena: LocalAthena, layer: str, table: str) -> int:
    """Rows of ``table`` that its position delete files mark as replaced."""
    return athena.trino.execute(
        f"select coalesce(sum(record_count), 0) from {GLUE_ICEBERG_CATALOG}."
        f'"{SCHEMA}_{layer}"."{table}$files" where content = 1'
    )[0][0]


def _tables_on_athena(athena: LocalAthena, kind: str | None = None) -> set[str]:
    """The marts' and intermediate models' relations; of one ``kind`` (``BASE TABLE``,
    ``VIEW``) when given."""
    rows = athena.trino.execute(
        f"select table_name from {GLUE_ICEBERG_CATALOG}.information_schema.tables "
        f"where table_schema in ('{SCHEMA}_marts', '{SCHEMA}_intermediate')"
        + (f" and table_type = '{kind}'" if kind else "")
    )
    return {row[0] for row in rows}


def test_the_hourly_build_reads_only_what_is_recent_or_newly_landed(on_athena: dict) -> None:
    """30 days of every source up to today, committed straight into the raw Iceberg
    tables; once the incremental models have caught up, the project's second build, the
    hourly one production runs (`dbt source freshness`, then `dbt build --selector
    hourly`), passes and reads, statement by statement, no more rows of a raw table than
    its recent days hold, and no more of a mart than its recent partitions, measured
    from Trino's statistics."""
    from datetime import UTC, datetime, timedelta

    from foundation.contracts import CONTRACTS
    from tests.history_lake import write_history

    deployed, athena, settings = on_athena["deployed"], on_athena["athena"], on_athena["settings"]
    today = datetime.now(UTC).date()
    first_day, days = today - timedelta(days=29), 30
    landing = deployed.as_role("Landing", "s3")
    tables = raw_tables(deployed)
    per_day = {"gps_fixes": 200, "vehicle_telemetry": 100, "emergency_updates": 8}
    raw_rows = {}
    # Landed over the month up to now, after the suite's own lake: the newest landings
    # are today's events, as in steady state.
    landed_by = datetime.now(UTC)
    for contract in CONTRACTS:
        rows = per_day.get(contract.source, 24)
        table = tables[contract.source]
        write_history(landing, aws_stack.LAKE, table, contract, first_day, days, rows, landed_by)
        raw_rows[contract.source] = rows
    environment = on_athena["environment"]
    # No landing margin in the measured build: the suite's own lake landed minutes ago,
    # and with the margin (an hour) the build would read it again once, as every build
    # re-reads the last hour's landings; in steady state those are today's events.
    hourly = ("build", "--selector", "hourly", "--vars", "{landing_margin_minutes: 0}")
    # Catching up with the month: the incremental models alone (the views and tables are
    # made anew by the build), their tests come in the measured build. Rebuilt, as after
    # any backfill whose rows claim landing times older than the models' own: the history
    # says each hour landed when it happened (a month of hourly runs, in steady state).
    output = run_dbt(
        settings,
        "run",
        "--select",
        "config.materialized:incremental",
        "--full-refresh",
        environment=environment,
    )
    assert "ERROR=0" in done_line(output), done_line(output)
    athena.record_scans = True
    seen = len(athena.statements)
    try:
        freshness = run_dbt(settings, "source", "freshness", environment=environment)
        output = run_dbt(settings, *hourly, environment=environment)
    finally:
        athena.record_scans = False
    # The project's second build: every model and every hourly test on Athena.
    assert "ERROR=0" in done_line(output) and "WARN=0" in done_line(output), done_line(output)
    assert int(done_line(output).split("PASS=")[1].split()[0]) > 150, done_line(output)
    assert freshness.count(" freshness of smartcity.") >= 5, freshness[-2000:]
    measured = [s for s in athena.statements[seen:] if s.state == "SUCCEEDED"]
    window_day = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    # A model's merges write position deletes beside its files (merge-on-read), and a
    # scan reads a replaced row before the deletes drop it, until maintenance rewrites
    # the files: the bound is the model's recent rows and the rows its deletes replaced.
    base_tables = _tables_on_athena(athena, "BASE TABLE")
    recent_rows = {
        table: athena.trino.execute(
            f"select count(*) from {athena_relation(_layer_of(table), table)} "
            f"where {column} >= date '{window_day}'"
        )[0][0]
        + (_replaced_rows(athena, _layer_of(table), table) if table in base_tables else 0)
        for table, column in _window_columns().items()
        if table in _tables_on_athena(athena) and table not in SMALL_MARTS
    }
    raw_day = {"dead_letters": "dead_letter_date"}
    recent_raw_rows = {
        table: athena.trino.execute(
            f"select count(*) from {GLUE_CATALOG}.{aws_stack.RAW_DB}.{table} "
            f"where {raw_day.get(table, 'event_date')} >= date '{window_day}'"
        )[0][0]
        for table in (*raw_rows, "dead_letters")
    }
    raw_scans, table_scans, beyond = 0, 0, []
    for statement in measured:
        query = " ".join(_strip_sql_comment(statement.query).split())
        for scan in statement.scans:
            if scan.schema == aws_stack.RAW_DB:
                raw_scans += 1
                # Iceberg skips the files whose statistics rule them out (an event date
                # before the window, a landing time before the last run): no statement
                # reads more rows of a raw table than its days from the window on hold.
                if scan.rows > recent_raw_rows[scan.table]:
                    beyond.append((scan.name, scan.rows, recent_raw_rows[scan.table], query[:700]))
            elif scan.table in recent_rows:
                table_scans += 1
                if scan.rows > recent_rows[scan.table]:
                    beyond.append((scan.name, scan.rows, recent_rows[scan.table], query[:700]))
    assert beyond == [], "\n".join(map(repr, beyond))
    assert raw_scans > 20 and table_scans > 5, (raw_scans, table_scans)
