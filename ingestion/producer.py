"""The Kafka producer: idempotent, acks=all, compressed, keyed by device id.

Every event is serialized through its contract before it is sent, and every delivery
report is counted, so a run can be reconciled against what lands in the lake.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from ingestion.contracts import Contract, serialize
from ingestion.topics import QUIET_LOGGER, check_broker

PRODUCER_SETTINGS: dict[str, Any] = {
    "enable.idempotence": True,  # implies acks=all and ordered retries
    "acks": "all",
    "compression.type": "zstd",
    "linger.ms": 20,
    "batch.size": 512 * 1024,
    "delivery.timeout.ms": 60_000,
}


@dataclass
class ProduceReport:
    """What the broker acknowledged, per topic."""

    acknowledged: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    unflushed: int = 0
    seconds: float = 0.0

    @property
    def total_acknowledged(self) -> int:
        return sum(self.acknowledged.values())

    @property
    def ok(self) -> bool:
        return not self.failed and self.unflushed == 0


ProgressCallback = Callable[[int], None]


def produce(
    events: Iterable[tuple[Contract, dict[str, Any]]],
    bootstrap_servers: str,
    topic_for: Callable[[Contract], str],
    rate_per_s: float = 0.0,
    on_progress: ProgressCallback | None = None,
    progress_every: int = 5_000,
    flush_timeout_s: float = 60.0,
) -> ProduceReport:
    """Send ``events``; pace them at ``rate_per_s`` events per second when it is positive."""
    check_broker(bootstrap_servers)
    producer = Producer(
        {"bootstrap.servers": bootstrap_servers, "logger": QUIET_LOGGER, **PRODUCER_SETTINGS}
    )
    report = ProduceReport()

    def delivered(error: KafkaError | None, message: Message) -> None:
        topic = message.topic() or "?"
        if error is None:
            report.acknowledged[topic] += 1
        else:
            report.failed[topic] += 1
            if len(report.errors) < 10:
                report.errors.append(f"{topic}: {error.str()}")

    started = time.monotonic()
    try:
        for sent, (contract, event) in enumerate(events, start=1):
            payload = serialize(contract, event)
            key = str(event["source_id"]).encode()
            while True:
                try:
                    producer.produce(
                        topic_for(contract), value=payload, key=key, on_delivery=delivered
                    )
                    break
                except BufferError:  # local queue full: let deliveries drain, then retry
                    producer.poll(0.1)
            producer.poll(0)
            if rate_per_s > 0:
                ahead = sent / rate_per_s - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)  # pacing to the requested rate, not waiting on a condition
            if on_progress and sent % progress_every == 0:
                on_progress(sent)
    finally:
        # Even when a bad event or Ctrl-C stops the loop, what was sent is delivered
        # and counted before the error goes up.
        report.unflushed = producer.flush(flush_timeout_s)
        report.seconds = time.monotonic() - started
    return report
