"""The simulation's malformed records: each kind gets the landing job's reason code it is
made for, from every source, and they change nothing about the valid events."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pyspark.sql import SparkSession

from foundation.contracts import CONTRACTS, Contract
from foundation.lake_tables import REASON_CODES
from ingestion.producer import RawRecord
from ingestion.simulators.malformed import MALFORMATIONS, MalformedRecords, malformed_record
from ingestion.simulators.world import SimulationOptions, simulate
from smartcity.settings import Settings
from streaming.job import check
from streaming.jvm_build import landing_jar
from streaming.session import build_session
from streaming.validation import ValidationLimits, Verdict
from tests.test_validation import kafka_records

OPTIONS = SimulationOptions(events=8_000, seed=5, start_at=datetime(2026, 3, 1, 23, tzinfo=UTC))
# Kafka's receipt time: an hour after the simulation starts, as in a live run.
PUBLISHED_AT = datetime(2026, 3, 2, 0, 0)


def _first_event_per_version() -> dict[tuple[str, int], tuple[Contract, dict[str, Any]]]:
    first: dict[tuple[str, int], tuple[Contract, dict[str, Any]]] = {}
    for contract, event in simulate(OPTIONS):
        first.setdefault((contract.source, event["schema_version"]), (contract, event))
    return first


EVENTS = _first_event_per_version()


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = build_session([landing_jar(Settings.from_env().cache_dir)], "local[1]")
    yield session
    session.stop()


def test_every_source_and_version_is_simulated() -> None:
    assert {source for source, _ in EVENTS} == {c.source for c in CONTRACTS}
    assert len(EVENTS) > len(CONTRACTS)  # a source with two versions among them


def test_every_kind_names_a_reason_code_of_its_own() -> None:
    reasons = [m.reason_code for m in MALFORMATIONS]
    assert set(reasons) <= set(REASON_CODES)
    assert len(set(reasons)) == len(reasons) >= 6


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.source)
def test_each_kind_is_refused_with_its_reason_code(spark: SparkSession, contract: Contract) -> None:
    rng = random.Random(1)
    cases = {
        (version, m.name): (malformed_record(contract, event, m, rng), m.reason_code)
        for (source, version), (_, event) in EVENTS.items()
        if source == contract.source
        for m in MALFORMATIONS
    }
    records = [(record.value, record.key) for record, _ in cases.values()]
    frame = kafka_records(spark, records, PUBLISHED_AT)
    judged = check(frame, Verdict(spark, contract, ValidationLimits())).orderBy("kafka_offset")
    got = [row["reason_code"] for row in judged.collect()]
    assert dict(zip(cases, got, strict=True)) == {
        case: reason for case, (_, reason) in cases.items()
    }


def test_a_malformed_record_is_keyed_by_its_device_under_an_event_id_of_its_own() -> None:
    for contract, event in EVENTS.values():
        record = malformed_record(contract, event, MALFORMATIONS[-1], random.Random(2))
        assert record.key == event["source_id"].encode()
        assert json.loads(record.value)["event_id"] != event["event_id"]


def _mixed(share: float, seed: int = OPTIONS.seed) -> tuple[list, Counter[str]]:
    malformed = MalformedRecords(share, seed)
    return list(malformed.mixed_into(simulate(OPTIONS))), malformed.sent


def test_the_valid_events_are_the_same_with_or_without_malformed_records() -> None:
    mixed, sent = _mixed(0.01)
    valid = [(c, e) for c, e in mixed if not isinstance(e, RawRecord)]
    assert valid == list(simulate(OPTIONS))
    bad = [(c, e) for c, e in mixed if isinstance(e, RawRecord)]
    assert len(bad) == sent.total()
    # About the share asked for, and of every kind.
    assert 0.5 * 0.01 * OPTIONS.events < len(bad) < 1.5 * 0.01 * OPTIONS.events
    assert set(sent) == {m.reason_code for m in MALFORMATIONS}
    # Each follows a valid event of its own source, on that source's topic.
    for (before, event), (after, record) in itertools.pairwise(mixed):
        if isinstance(record, RawRecord):
            assert after is before and not isinstance(event, RawRecord)


def test_the_same_seed_gives_the_same_malformed_records_and_another_does_not() -> None:
    first, again, other = _mixed(0.01)[0], _mixed(0.01)[0], _mixed(0.01, seed=6)[0]
    assert first == again
    assert [e for _, e in first if isinstance(e, RawRecord)] != [
        e for _, e in other if isinstance(e, RawRecord)
    ]


def test_no_share_sends_the_events_alone() -> None:
    mixed, sent = _mixed(0.0)
    assert mixed == list(simulate(OPTIONS)) and not sent


@pytest.mark.parametrize("share", [-0.1, 1.0, 2.0])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="from 0 to below 1"):
        MalformedRecords(share, seed=1)
