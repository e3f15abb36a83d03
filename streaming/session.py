"""The local Spark session, with the Kafka connector on its classpath."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pyspark.sql import SparkSession

from foundation.environment import aws_region

LOG_CONFIG = Path(__file__).resolve().with_name("log4j2.properties")
# The landing job's driver JVM (in local mode, the whole job): the throughput collector
# instead of G1. On two cores G1's concurrent marking threads took CPU from the tasks;
# cold landing runs against the peer (which keeps Spark's defaults) went from 0.99-1.22x
# to 1.12-1.32x over four alternating rounds each (docs/performance.md).
LANDING_JAVA_OPTIONS = ("-XX:+UseParallelGC",)


def spark_uri(uri: str) -> str:
    """Spark reaches S3 through the S3A connector, which answers to ``s3a://``."""
    return "s3a://" + uri.split("://", 1)[1] if uri.startswith("s3://") else uri


def build_session(
    jars: list[Path],
    master: str = "local[2]",
    app_name: str = "smartcity-landing",
    s3_endpoint_url: str | None = None,
    java_options: Sequence[str] = (),
) -> SparkSession:
    builder = SparkSession.builder
    if s3_endpoint_url:
        # An S3-compatible store on a URL of its own (MinIO, a local S3 API); paths in
        # the bucket name's place, as such stores expect. Credentials always come from
        # the standard AWS chain (environment, profile, instance role).
        builder = (
            builder.config("spark.hadoop.fs.s3a.endpoint", s3_endpoint_url)
            .config("spark.hadoop.fs.s3a.path.style.access", "true")
            .config(
                "spark.hadoop.fs.s3a.connection.ssl.enabled",
                str(s3_endpoint_url.startswith("https")).lower(),
            )
        )
    # An empty master leaves the choice to spark-submit (--master, or EMR's own), which
    # .master() would otherwise override.
    if master:
        builder = builder.master(master)
    # None under spark-submit, whose --jars must stand: an empty spark.jars would drop
    # them, and the executors would never fetch them.
    if jars:
        builder = builder.config("spark.jars", ",".join(str(jar) for jar in jars))
    spark = (
        builder.appName(app_name)
        .config("spark.driver.memory", "2g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        # INT96 is Spark's legacy default; micros are what every other reader expects.
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config(
            "spark.driver.extraJavaOptions",
            " ".join([f"-Dlog4j2.configurationFile={LOG_CONFIG}", *java_options]),
        )
        .config("spark.sql.streaming.stopGracefullyOnShutdown", "true")
        .config(map=aws_settings())
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def aws_settings() -> dict[str, str]:
    """How Spark's S3A reaches AWS: the project's one region, and the AWS SDK's default
    chain for credentials, as boto3 and the aws CLI read it (environment, AWS_PROFILE
    with a role_arn in it included, web identity, container, instance). S3A's own
    default list has no profile, so a profile would be silently ignored."""
    return {
        "spark.hadoop.fs.s3a.endpoint.region": aws_region(),
        "spark.hadoop.fs.s3a.aws.credentials.provider": (
            "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"
        ),
    }
