"""The pipeline's steps as functions, shared by the demo, the CLI and the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import duckdb

from foundation.contracts import CONTRACTS, Contract
from ingestion.producer import ProduceReport, produce
from ingestion.simulators.malformed import MalformedRecords
from ingestion.simulators.world import SimulationOptions, simulate
from ingestion.topics import admin_client, check_broker, ensure_topics
from smartcity.dbt import preflight, warehouse
from smartcity.dbt.duckdb_lake import create_lake_views
from smartcity.jars import SPARK_KAFKA, SPARK_S3, ensure_jars
from smartcity.settings import PROJECT_ROOT, Settings
from streaming.defaults import AVAILABLE_NOW, MAX_OFFSETS_PER_TRIGGER

MARTS = (
    "dim_districts",
    "dim_vehicles",
    "dim_cameras",
    "fct_trips",
    "fct_district_hourly_traffic",
    "fct_camera_sightings",
    "fct_emergency_incidents",
    "fct_district_hourly_weather",
    "fct_dead_letters",
    "fct_city_daily_kpis",
)


def topic_namer(settings: Settings) -> Callable[[Contract], str]:
    return lambda contract: settings.topic(contract.source)


def missing_topics(settings: Settings, contracts: Sequence[Contract] = CONTRACTS) -> list[str]:
    check_broker(settings.bootstrap_servers)
    existing = admin_client(settings.bootstrap_servers).list_topics(timeout=10).topics
    return [settings.topic(c.source) for c in contracts if settings.topic(c.source) not in existing]


def create_topics(settings: Settings) -> list[str]:
    return ensure_topics(settings.bootstrap_servers, [settings.topic(c.source) for c in CONTRACTS])


def produce_simulation(
    settings: Settings,
    options: SimulationOptions,
    rate_per_s: float = 0.0,
    on_progress: Callable[[int], None] | None = None,
    malformed: MalformedRecords | None = None,
) -> ProduceReport:
    """Simulate and send; with ``malformed``, its malformed records go beside the events
    (it counts them per reason code)."""
    events = simulate(options)
    return produce(
        malformed.mixed_into(events) if malformed else events,
        settings.bootstrap_servers,
        topic_namer(settings),
        rate_per_s=rate_per_s,
        on_progress=on_progress,
    )


def require_writable_state(settings: Settings) -> None:
    """The local folders the landing job writes: metrics, and the lake and checkpoints
    unless they are on an object store."""
    preflight.require_writable(settings.metrics_dir, "SMARTCITY_DATA_DIR")
    for location, setting in (
        (settings.lake_uri, "SMARTCITY_LAKE_URI"),
        (settings.checkpoint_uri, "SMARTCITY_CHECKPOINT_URI"),
    ):
        if "://" not in location:
            preflight.require_writable(Path(location), setting)


def land(
    settings: Settings,
    trigger: str = AVAILABLE_NOW,
    contracts: Sequence[Contract] = CONTRACTS,
    on_progress: Callable[[dict[str, int]], None] | None = None,
    max_offsets_per_trigger: int = MAX_OFFSETS_PER_TRIGGER,
) -> dict[str, int]:
    """Run the landing job until it drains (``availableNow``) or is asked to stop
    (SIGTERM, Ctrl-C); return its totals: input, landed and dead-lettered rows."""
    from smartcity import landing_classpath
    from streaming.job import LandingOptions, ShutdownRequest, await_queries, start_landing
    from streaming.jvm_build import landing_jar
    from streaming.metrics import MetricsLog, ProgressListener
    from streaming.session import LANDING_JAVA_OPTIONS, build_session, spark_uri

    require_writable_state(settings)
    missing = missing_topics(settings, contracts)
    if missing:
        raise RuntimeError(
            f"Topics {', '.join(missing)} do not exist on {settings.bootstrap_servers}: "
            "produce first (`smartcity produce`), or check SMARTCITY_TOPIC_PREFIX."
        )
    metrics = MetricsLog(settings.metrics_dir / "landing.jsonl")
    jars: list[Path] = []
    if not submitted_by_spark():
        jars = [*ensure_jars(SPARK_KAFKA, settings.cache_dir), landing_jar(settings.cache_dir)]
        if settings.lake_on_s3:
            jars += ensure_jars(SPARK_S3, settings.cache_dir)
    spark = build_session(
        jars,
        # Under spark-submit its --master holds; .master() would override it.
        "" if submitted_by_spark() else settings.spark_master,
        s3_endpoint_url=settings.s3_endpoint_url,
        java_options=LANDING_JAVA_OPTIONS,
    )
    try:
        landing_classpath.require(spark, settings.lake_on_s3)
    except landing_classpath.MissingJar:
        spark.stop()
        raise
    spark.streams.addListener(ProgressListener(metrics))
    options = LandingOptions(
        lake_uri=spark_uri(settings.lake_uri),
        checkpoint_uri=spark_uri(settings.checkpoint_uri),
        bootstrap_servers=settings.bootstrap_servers,
        namespace=settings.iceberg_namespace,
        trigger=trigger,
        max_offsets_per_trigger=max_offsets_per_trigger,
    )
    report = (lambda: on_progress(metrics.totals())) if on_progress else None
    try:
        with ShutdownRequest() as shutdown:
            queries = start_landing(spark, options, contracts, topic_namer(settings), metrics)
            await_queries(queries, shutdown, on_progress=report)
    finally:
        for query in spark.streams.active:
            query.stop()
        metrics.wait_for_progress(timeout_s=10.0)
        spark.stop()
    return metrics.totals()


def submitted_by_spark() -> bool:
    """Whether spark-submit started this process: its JVM is already running, with the
    jars of `--jars` on its classpath, and the session takes them, not ours."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def child_environment(settings: Settings) -> dict[str, str]:
    """The environment in which a dbt, Spark or `smartcity` child process sees
    ``settings``: this process's, with the variables that make ``settings``
    (Settings.environment), so that it finds the same data folder, cache, topics,
    broker, lake, checkpoints, Spark master, databases and AWS region, whatever the
    parent's own environment says."""
    return {
        **os.environ,
        **settings.environment(),
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DO_NOT_TRACK": "1",
    }


# dbt commands that open the target's database (the others read only the project).
DATABASE_COMMANDS = frozenset(
    {"build", "run", "test", "seed", "snapshot", "source", "compile", "show", "retry"}
)


def check_dbt_target(
    settings: Settings, arguments: Sequence[str], environ: Mapping[str, str]
) -> None:
    """Say before dbt starts what would make it fail on the way: an unwritable or locked
    DuckDB file on the local target, a missing bucket or credentials on athena."""
    words = [a for a in arguments if not a.startswith("-")]
    opens_database = bool(words) and (
        words[0] in DATABASE_COMMANDS or words[:2] == ["docs", "generate"]
    )
    target = preflight.dbt_target(arguments, environ)
    if target == "local":
        preflight.require_writable_file(settings.duckdb_path, "SMARTCITY_DUCKDB_PATH")
        if opens_database:
            preflight.require_unlocked_duckdb(settings.duckdb_path)
    elif opens_database:
        preflight.require_aws_target(target, environ)


def run_dbt(
    settings: Settings,
    *arguments: str,
    on_line: Callable[[str], None] | None = None,
    environment: Mapping[str, str] | None = None,
) -> str:
    """Run dbt in the project with the settings' lake and database; return its output.

    ``on_line`` sees each line of dbt's output as it comes, for progress;
    ``environment`` adds variables (a target's host and port). A failed run raises with
    the end of the output, so the reason is in the error itself.
    """
    check_dbt_target(settings, arguments, {**os.environ, **(environment or {})})
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), "--no-use-colors", *arguments]
    lines: list[str] = []
    with subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**child_environment(settings), **(environment or {})},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if on_line:
                on_line(lines[-1])
    output = "\n".join(lines)
    if process.returncode != 0:
        tail = "\n".join(lines[-40:])
        raise RuntimeError(f"`dbt {' '.join(arguments)}` failed:\n{tail}")
    return output


def _lake_rows(settings: Settings, query: str) -> list[tuple]:
    """The rows of ``query`` over the lake's tables at their current snapshots, read as
    the DuckDB target reads them (views in the schema ``lake``)."""
    connection = duckdb.connect()
    try:
        create_lake_views(connection, settings.lake_uri, settings.iceberg_namespace, "lake")
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def _lake_counts(settings: Settings, query: str) -> dict[str, int]:
    """Rows counted by ``query`` (key, count) over the lake's tables."""
    return {str(key): int(count) for key, count in _lake_rows(settings, query)}


def landed_rows(settings: Settings) -> dict[str, int]:
    """Rows per source in the raw tables."""
    counts = _lake_counts(
        settings,
        " union all ".join(
            f"select '{c.source}', count(*) from lake.{c.source}" for c in CONTRACTS
        ),
    )
    return {c.source: counts.get(c.source, 0) for c in CONTRACTS}


def dead_lettered_rows(settings: Settings) -> dict[str, int]:
    """Dead letters per source, from the one dead-letter table."""
    counts = _lake_counts(
        settings, "select source, count(*) from lake.dead_letters group by source"
    )
    return {c.source: counts.get(c.source, 0) for c in CONTRACTS}


def dead_letters_by_reason(settings: Settings) -> dict[str, int]:
    """Dead letters per reason code, from every source."""
    return _lake_counts(
        settings, "select reason_code, count(*) from lake.dead_letters group by reason_code"
    )


def event_time_range(settings: Settings) -> tuple[datetime, datetime] | None:
    """The earliest and latest event time landed in the raw tables (UTC, without a zone
    as the lake stores it); None when nothing has landed."""
    union = " union all ".join(f"select event_at from lake.{c.source}" for c in CONTRACTS)
    [(earliest, latest)] = _lake_rows(
        settings, f"select min(event_at), max(event_at) from ({union})"
    )
    return None if earliest is None else (earliest, latest)


def warehouse_rows(settings: Settings, relations: Sequence[str]) -> dict[str, int]:
    with warehouse.connect(settings.duckdb_path) as connection:
        return {
            name: int(connection.execute(f"select count(*) from {name}").fetchone()[0])  # type: ignore[index]
            for name in relations
        }


def staged_rows(settings: Settings) -> dict[str, int]:
    names = {c.source: f"stg_smartcity__{c.source}" for c in CONTRACTS}
    counts = warehouse_rows(settings, list(names.values()))
    return {source: counts[name] for source, name in names.items()}
