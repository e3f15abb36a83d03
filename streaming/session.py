"""The local Spark session, with the Kafka connector on its classpath."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession


def build_session(jars: list[Path], app_name: str = "smartcity-landing") -> SparkSession:
    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.jars", ",".join(str(jar) for jar in jars))
        .config("spark.driver.memory", "2g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        # INT96 is Spark's legacy default; micros are what every other reader expects.
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.streaming.stopGracefullyOnShutdown", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
