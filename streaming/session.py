"""The local Spark session, with the Kafka connector on its classpath."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

LOG_CONFIG = Path(__file__).resolve().parents[1] / "infra" / "spark" / "log4j2.properties"


def build_session(
    jars: list[Path], master: str = "local[2]", app_name: str = "smartcity-landing"
) -> SparkSession:
    spark = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.jars", ",".join(str(jar) for jar in jars))
        .config("spark.driver.memory", "2g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        # INT96 is Spark's legacy default; micros are what every other reader expects.
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG_CONFIG}")
        .config("spark.sql.streaming.stopGracefullyOnShutdown", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
