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
from foundation.lake_tables import Derivation, LakeTable, raw_table
from streaming.schemas import table_schema
from streaming.validation import Verdict

WRITER_CLASS = "smartcity.landing.ValidRowsWriter"
# Columns whose values are unique by construction: a Parquet dictionary of them saves
# nothing for any reader, and building one (until it overflows) cost a cold landing run
# about 7 % of its time.
WITHOUT_DICTIONARY = ("event_id", "kafka_offset", "kafka_published_at")
EPOCH = datetime(1970, 1, 1)


def written_hour_of(table: LakeTable) -> str:
    """The column whose hour the Java writer partitions by: the raw tables' rule must be
    what it writes, the date and the hour of day of one timestamp, in that order."""
    rule = [(key.of, key.derivation) for key in table.partition_rule]
    hour_of = rule[0][0]
    if rule != [(hour_of, Derivation.DATE), (hour_of, Derivation.HOUR)]:
        raise ValueError(
            f"{table.name}: the landing writer writes the date and the hour of one column "
            f"as the partition keys, not {rule}"
        )
    return hour_of


class ValidRowsWriter:
    def __init__(self, spark: SparkSession, contract: Contract, verdict: Verdict) -> None:
        self.spark = spark
        self.verdict = verdict
        table = raw_table(contract)
        schema = table_schema(table)
        self._schema = schema.json()
        self._hour_of = written_hour_of(table)
        gateway = spark.sparkContext._gateway  # type: ignore[attr-defined]
        landing = [c.name for c in table.columns[len(contract.fields) :] + table.partition_keys]
        self._landing_columns = gateway.new_array(gateway.jvm.java.lang.String, len(landing))
        for index, name in enumerate(landing):
            self._landing_columns[index] = name
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
            self._landing_columns,
            self._hour_of,
            self._without_dictionary,
        )
        return [str(file) for file in files]
