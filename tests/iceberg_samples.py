"""A small Iceberg table shape and its sample events, shared by the tests of batch
commits and of maintenance: partitioned by the hour of ``event_at``, as the raw tables."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import HourTransform
from pyiceberg.types import LongType, NestedField, StringType, TimestampType

START = datetime(2026, 12, 6, 8)
SCHEMA = Schema(
    NestedField(1, "event_id", StringType(), required=False),
    NestedField(2, "event_at", TimestampType(), required=False),
    NestedField(3, "kafka_offset", LongType(), required=False),
)
BY_HOUR = PartitionSpec(
    PartitionField(source_id=2, field_id=1000, transform=HourTransform(), name="event_at_hour")
)


def ten_events(prefix: str, at: datetime) -> pa.Table:
    """Ten events a minute apart from ``at``, in the tests' small schema."""
    return pa.table(
        {
            "event_id": [f"{prefix}-{n}" for n in range(10)],
            "event_at": pa.array(
                [at + timedelta(minutes=n) for n in range(10)], pa.timestamp("us")
            ),
            "kafka_offset": list(range(10)),
        }
    )
