"""The producer against a real broker: only failures come back as delivery reports, and
the counts stay exact."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from ingestion.producer import produce
from ingestion.simulators.world import SimulationOptions, simulate
from smartcity import pipeline
from tests.conftest import settings_for

pytestmark = pytest.mark.e2e


def test_failed_deliveries_are_counted_and_never_taken_for_acknowledged(
    tmp_path, kafka_broker
) -> None:
    settings = settings_for(tmp_path, kafka_broker, topic_prefix="producer-failures")
    pipeline.create_topics(settings)
    events = list(
        simulate(SimulationOptions(events=300, seed=3, start_at=datetime(2026, 2, 1, tzinfo=UTC)))
    )
    missing = "producer-failures.no-such-topic"  # the broker creates no topic by itself

    def topic_for(contract) -> str:
        return missing if contract.source == "gps_fixes" else settings.topic(contract.source)

    report = produce(events, settings.bootstrap_servers, topic_for, delivery_timeout_ms=3_000)
    sent = Counter(topic_for(contract) for contract, _ in events)
    assert sent[missing] > 0
    assert report.sent == sent
    assert report.failed == Counter({missing: sent[missing]})
    assert report.acknowledged == Counter({t: n for t, n in sent.items() if t != missing})
    assert report.errors and not report.ok


def test_the_benchmarks_reader_warm_up_fetches_every_record_from_the_start(
    tmp_path, kafka_broker
) -> None:
    from bench.warm_readers import fetch_every_record, read_files

    settings = settings_for(tmp_path, kafka_broker, topic_prefix="bench-warm-readers")
    pipeline.create_topics(settings)
    events = list(
        simulate(SimulationOptions(events=700, seed=4, start_at=datetime(2026, 2, 1, tzinfo=UTC)))
    )
    report = produce(events, settings.bootstrap_servers, pipeline.topic_namer(settings))
    assert report.ok
    topics = [settings.topic(source) for source in sorted({c.source for c, _ in events})]
    assert fetch_every_record(settings.bootstrap_servers, topics) == len(events)
    # Read again, the same: each warm-up reads from the first offset, whatever ran before.
    assert fetch_every_record(settings.bootstrap_servers, topics) == len(events)
    jar = tmp_path / "some.jar"
    jar.write_bytes(b"x" * 10_000_000)
    assert read_files([jar]) == 10_000_000
