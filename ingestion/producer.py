"""The Kafka producer: idempotent, acks=all, compressed, keyed by device id.

Every event is checked against its contract and encoded in one compiled pass
(:mod:`ingestion.wire`) before it is sent. The broker reports failed deliveries only
(``delivery.report.only.error``): a Python call per acknowledged message was most of
the sending cost, and after a complete flush every message not reported failed was
acknowledged, so a run is still counted exactly and can be reconciled against what
lands in the lake.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from foundation.contracts import Contract
from ingestion.topics import QUIET_LOGGER, check_broker
from ingestion.wire import serialize

PRODUCER_SETTINGS: dict[str, Any] = {
    "enable.idempotence": True,  # implies acks=all and ordered retries
    "acks": "all",
    # lz4 rather than zstd: measured on two cores with the broker beside the producer,
    # about 10 % more events/s and a third less of the broker's CPU; the price is the
    # broker's disk and the network, about 1.8 times zstd's bytes for this JSON. Where
    # bandwidth costs more than CPU, zstd is a one-line change here.
    "compression.type": "lz4",
    "linger.ms": 20,
    "batch.size": 512 * 1024,
    "delivery.timeout.ms": 60_000,
    # Only failures come back as delivery reports; acknowledged = sent - failed.
    "delivery.report.only.error": True,
}
# Serving the producer's queue every message costs a call each; every so many is enough
# to keep deliveries (and failure reports) flowing.
POLL_EVERY = 1_000


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A Kafka value sent as it is, unchecked, under its key: a record that breaks its
    contract on purpose (the simulation's malformed records, for the dead letters)."""

    value: bytes
    key: bytes


@dataclass
class ProduceReport:
    """What the broker acknowledged, per topic: every message sent and not reported
    failed, once the producer is flushed (``unflushed`` is 0); with messages left
    unflushed, which of them went through is not known and the report is not ``ok``."""

    sent: Counter[str] = field(default_factory=Counter)
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
    events: Iterable[tuple[Contract, dict[str, Any] | RawRecord]],
    bootstrap_servers: str,
    topic_for: Callable[[Contract], str],
    rate_per_s: float = 0.0,
    on_progress: ProgressCallback | None = None,
    progress_every: int = 5_000,
    flush_timeout_s: float = 60.0,
    delivery_timeout_ms: int = PRODUCER_SETTINGS["delivery.timeout.ms"],
) -> ProduceReport:
    """Send ``events``; pace them at ``rate_per_s`` events per second when it is positive.

    Each event is checked against its contract and keyed by its device; a
    :class:`RawRecord` among them is sent as it is."""
    check_broker(bootstrap_servers)
    report = ProduceReport()

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is None:  # only failures are reported; kept for safety
            return
        topic = message.topic() or "?"
        report.failed[topic] += 1
        if len(report.errors) < 10:
            report.errors.append(f"{topic}: {error.str()}")

    producer = Producer(
        {
            "bootstrap.servers": bootstrap_servers,
            "logger": QUIET_LOGGER,
            **PRODUCER_SETTINGS,
            "delivery.timeout.ms": delivery_timeout_ms,
            # One callback for the producer rather than one per message: a per-message
            # callback is a reference held and released for every event.
            "on_delivery": delivered,
        }
    )
    # The loop runs once per event on one core and is most of the producer's time, so
    # what it needs is looked up once: the topic per source, the bound methods, pacing.
    topics: dict[str, str] = {}
    sent_per_source: Counter[str] = Counter()
    send, poll = producer.produce, producer.poll
    pacing = rate_per_s > 0
    started = time.monotonic()
    sent = 0
    try:
        for contract, event in events:
            if type(event) is RawRecord:
                payload, key = event.value, event.key
            else:
                payload = serialize(contract, event)
                key = str(event["source_id"]).encode()
            source = contract.source
            topic = topics.get(source)
            if topic is None:
                topic = topics[source] = topic_for(contract)
            try:
                send(topic, payload, key)
            except BufferError:  # local queue full: let deliveries drain, then retry
                _send_when_queue_drains(producer, topic, payload, key)
            sent_per_source[source] += 1
            sent += 1
            if sent % POLL_EVERY == 0:
                poll(0)
            if on_progress and sent % progress_every == 0:
                on_progress(sent)
            if pacing:
                ahead = sent / rate_per_s - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)  # pacing to the requested rate, not waiting on a condition
    finally:
        # Even when a bad event or Ctrl-C stops the loop, what was sent is delivered
        # and counted before the error goes up.
        report.sent = Counter({topics[s]: n for s, n in sent_per_source.items()})
        report.unflushed = producer.flush(flush_timeout_s)
        report.seconds = time.monotonic() - started
        if report.unflushed == 0:
            report.acknowledged = report.sent - report.failed
    return report


def _send_when_queue_drains(producer: Producer, topic: str, payload: bytes, key: bytes) -> None:
    while True:
        producer.poll(0.1)  # serves delivery reports, which frees room in the queue
        try:
            producer.produce(topic, payload, key)
            return
        except BufferError:
            continue
