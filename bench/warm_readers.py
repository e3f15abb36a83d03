"""Before the landing rounds: the files and the broker both jobs read, warmed once.

The first job to land the backlog used to pay for two things no later job pays: the
jars read from disk into the page cache (Spark's, the Kafka connector's, about 500 MB),
and the broker's fetch path, which until then has only served produce requests and is
compiled by the broker's JVM on the first fetches. With the landing job first in round
one, that round's ratio to the peer was the lowest in most runs (1.00 against 1.18 and
1.38 in one; 0.71 against 1.14 and 1.02 on another machine). Both are warmed here, so
that each round compares the two jobs and not the order they ran in.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from ingestion.topics import QUIET_LOGGER, admin_client

READ_CHUNK_BYTES = 8 * 1024 * 1024
CONSUME_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ReadersWarmed:
    jar_bytes: int
    records: int
    seconds: float


def read_files(paths: list[Path]) -> int:
    """Read every file once (into the page cache); returns the bytes read."""
    total = 0
    for path in paths:
        with path.open("rb") as stream:
            while chunk := stream.read(READ_CHUNK_BYTES):
                total += len(chunk)
    return total


def fetch_every_record(bootstrap_servers: str, topics: list[str]) -> int:
    """Fetch each topic from its first offset to its end with a plain consumer (no
    group offsets committed, nothing the landing job reads changes); returns the count."""
    metadata = admin_client(bootstrap_servers).list_topics(timeout=10)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"bench-warm-readers-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "logger": QUIET_LOGGER,
        }
    )
    try:
        ends: dict[tuple[str, int], int] = {}
        for topic in topics:
            for partition in metadata.topics[topic].partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 10)
                if high > 0:
                    ends[(topic, partition)] = high
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in ends])
        records = 0
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        while ends:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"warming the broker up: {len(ends)} partitions not read to their end "
                    f"in {CONSUME_TIMEOUT_S:.0f} s"
                )
            for message in consumer.consume(num_messages=10_000, timeout=1.0):
                if message.error():
                    continue  # end-of-partition notices and transient errors: read on
                records += 1
                where = (message.topic(), message.partition())
                if where in ends and message.offset() + 1 >= ends[where]:
                    del ends[where]
        return records
    finally:
        consumer.close()


def warm_readers(bootstrap_servers: str, topics: list[str], jars: list[Path]) -> ReadersWarmed:
    started = time.perf_counter()
    jar_bytes = read_files(jars)
    records = fetch_every_record(bootstrap_servers, topics)
    return ReadersWarmed(jar_bytes, records, time.perf_counter() - started)
