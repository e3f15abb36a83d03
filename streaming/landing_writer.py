"""The valid records of a micro-batch, judged and written as Parquet in one pass.

The work is done by the JVM class ``smartcity.landing.ValidRowsWriter`` (``streaming/jvm``):
each Spark task asks the source's verdict about each Kafka record and writes the valid
ones to an open Parquet writer per event hour, with Spark's own Parquet writer. Nothing in
it is compiled per query, so five sources warm up one code path instead of five; see the
docs/performance.md for what that saved.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import DataFrame, SparkSession

from foundation.contracts import Contract
from foundation.lake_tables import raw_table
from streaming.schemas import table_schema
from streaming.validation import Verdict

WRITER_CLASS = "smartcity.landing.ValidRowsWriter"
# Columns whose values are unique by construction: a Parquet dictionary of them saves
# nothing for any reader, and building one (until it overflows) cost a cold landing run
# about 7 % of its time.
WITHOUT_DICTIONARY = ("event_id", "kafka_offset", "kafka_published_at")
EPOCH = datetime(1970, 1, 1)


class ValidRowsWriter:
    def __init__(self, spark: SparkSession, contract: Contract, verdict: Verdict) -> None:
        self.spark = spark
        self.verdict = verdict
        schema = table_schema(raw_table(contract))
        self._schema = schema.json()
        gateway = spark.sparkContext._gateway  # type: ignore[attr-defined]
        names = [name for name in WITHOUT_DICTIONARY if name in schema.fieldNames()]
        self._without_dictionary = gateway.new_array(gateway.jvm.java.lang.String, len(names))
        for index, name in enumerate(names):
            self._without_dictionary[index] = name

    def __call__(
        self, records: DataFrame, table: str, landed_at: datetime, batch_id: int
    ) -> list[str]:
        """Write the valid ones of the Kafka ``records`` into the folder of their ``table``,
        one file per event hour and task, named after ``batch_id``; return the files
        written, relative to ``table``. They are not the table's until committed."""
        jvm = self.spark.sparkContext._jvm  # type: ignore[attr-defined]
        assert jvm is not None
        files = getattr(jvm, WRITER_CLASS).write(
            self.spark._jsparkSession,  # type: ignore[attr-defined]
            records._jdf,
            self.verdict.java_function,
            self._schema,
            table,
            batch_id,
            (landed_at - EPOCH) // timedelta(microseconds=1),
            self._without_dictionary,
        )
        return [str(file) for file in files]
