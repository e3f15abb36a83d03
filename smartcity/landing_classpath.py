"""What the landing job needs on its classpath, checked before it reads Kafka.

`smartcity land` puts the jars there itself; a job started by spark-submit (a cluster,
EMR) gets only what `--jars` named. Either way the driver asks the JVM for one class of
each jar, and a missing one stops the job at start with the Maven coordinate to add,
not an hour later with a ClassNotFoundException from an executor.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession

from smartcity.jars import SPARK_KAFKA, SPARK_S3, JarSet, coordinates
from streaming.landing_writer import WRITER_CLASS

# The landing job's own jar: the compiled verdict function and writer (streaming/jvm).
LANDING_JAR = "the landing job's own jar, smartcity-landing-*.jar (`smartcity dist` builds it)"


class MissingJar(RuntimeError):
    """A jar the landing job needs is not on the driver's classpath."""


@dataclass(frozen=True)
class Needed:
    """A class that stands for a jar, and where the jar comes from."""

    class_name: str
    jar_set: JarSet | None
    # The artifact of the set's POM that holds the class; None for the job's own jar.
    artifact: str | None = None

    def coordinate(self) -> str:
        if self.jar_set is None:
            return LANDING_JAR
        for coordinate in coordinates(self.jar_set):
            if coordinate.split(":")[1] == self.artifact:
                return coordinate
        raise LookupError(f"{self.artifact} is not in {self.jar_set.pom}")


KAFKA_CLASSES = (
    Needed("org.apache.spark.sql.kafka010.KafkaSourceProvider", SPARK_KAFKA, "spark-sql-kafka-0-10_2.13"),
    Needed("org.apache.spark.kafka010.KafkaConfigUpdater", SPARK_KAFKA, "spark-token-provider-kafka-0-10_2.13"),
    Needed("org.apache.kafka.clients.consumer.KafkaConsumer", SPARK_KAFKA, "kafka-clients"),
    Needed("org.apache.commons.pool2.impl.GenericKeyedObjectPool", SPARK_KAFKA, "commons-pool2"),
    Needed(WRITER_CLASS, None),
)  # fmt: skip
# hadoop-aws; the AWS SDK bundle it is built against comes with it (transitively).
S3_CLASSES = (Needed("org.apache.hadoop.fs.s3a.S3AFileSystem", SPARK_S3, "hadoop-aws"),)


def needed(lake_on_s3: bool) -> tuple[Needed, ...]:
    return KAFKA_CLASSES + (S3_CLASSES if lake_on_s3 else ())


def missing(spark: SparkSession, lake_on_s3: bool) -> list[str]:
    """The coordinates of the needed jars whose class the driver cannot load."""
    utils = spark.sparkContext._jvm.org.apache.spark.util.Utils  # type: ignore[union-attr]
    return [
        need.coordinate()
        for need in needed(lake_on_s3)
        if not utils.classIsLoadable(need.class_name)
    ]


def require(spark: SparkSession, lake_on_s3: bool) -> None:
    """Raise :class:`MissingJar` naming every jar the job cannot start without."""
    absent = missing(spark, lake_on_s3)
    if absent:
        raise MissingJar(
            "The landing job cannot start: its classpath lacks "
            + "; ".join(absent)
            + ". Add them to spark-submit's --jars (dist/jars/ holds them, listed in "
            "dist/jars/SHA256SUMS); `smartcity land` on its own fetches them itself."
        )
