"""All configuration in one typed object, read from the environment once.

Every variable is optional; the defaults run the whole stack on one machine with the
lake, the broker's data and the DuckDB database under ``data/`` in the repository.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from foundation.environment import ENVIRONMENT, VARIABLES, aws_region, setting

__all__ = ["ENVIRONMENT", "PROJECT_ROOT", "VARIABLES", "Settings", "setting"]


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
            port=setting(env, "SMARTCITY_POSTGRES_PORT"),
            user=setting(env, "SMARTCITY_POSTGRES_USER"),
            password=setting(env, "SMARTCITY_POSTGRES_PASSWORD"),
            database=setting(env, "SMARTCITY_POSTGRES_DATABASE"),
        )


# Which setting each variable makes (Settings.from_env reads them): a child process is
# handed them back (Settings.environment). tests/test_environment.py checks that every
# field is here and every variable is declared.
SETTINGS_OF_VARIABLES = {
    "SMARTCITY_DATA_DIR": "data_dir",
    "SMARTCITY_CACHE_DIR": "cache_dir",
    "SMARTCITY_LAKE_URI": "lake_uri",
    "SMARTCITY_DUCKDB_PATH": "duckdb_path",
    "SMARTCITY_TOPIC_PREFIX": "topic_prefix",
    "KAFKA_BOOTSTRAP_SERVERS": "bootstrap_servers",
    "SMARTCITY_KAFKA_PORT": "kafka_port",
    "SMARTCITY_SPARK_MASTER": "spark_master",
    "SMARTCITY_CHECKPOINT_URI": "checkpoint_uri",
    "SMARTCITY_S3_ENDPOINT_URL": "s3_endpoint_url",
    "SMARTCITY_GLUE_DATABASE": "glue_database",
    "SMARTCITY_RAW_SCHEMA": "raw_schema",
    "SMARTCITY_POSTGRES_HOST": "postgres.host",
    "SMARTCITY_POSTGRES_PORT": "postgres.port",
    "SMARTCITY_POSTGRES_USER": "postgres.user",
    "SMARTCITY_POSTGRES_PASSWORD": "postgres.password",
    "SMARTCITY_POSTGRES_DATABASE": "postgres.database",
}


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
        kafka_port = setting(env, "SMARTCITY_KAFKA_PORT")
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

    def environment(self) -> dict[str, str]:
        """These settings as the variables that would make them, for a child process
        (dbt, Spark, another `smartcity`): it sees the same folders, broker, lake and
        databases whatever its own environment says, and the same AWS region."""
        values = {}
        for name, attribute in SETTINGS_OF_VARIABLES.items():
            value: object = self
            for part in attribute.split("."):
                value = getattr(value, part)
            if value is not None:
                values[name] = str(value)
        return values | {"AWS_REGION": aws_region()}

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
