"""One lake, landed once per test session by the real broker and real Spark, and built
by dbt on DuckDB: the end-to-end suites (DuckDB, PostgreSQL, Trino) all read it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from foundation.contracts import GPS_FIXES
from ingestion.producer import produce
from ingestion.simulators.world import SimulationOptions, simulate
from ingestion.wire import serialize
from smartcity import pipeline
from tests.conftest import settings_for
from tests.dbt_runs import run_dbt

START = datetime(2026, 5, 4, 6, 55, tzinfo=UTC)  # the run crosses an hour
OPTIONS = SimulationOptions(events=4_000, seed=11, vehicles=20, start_at=START)
DUPLICATES = 60
# Reason codes the bad records sent in `run` must get, per source.
EXPECTED_DEAD_LETTERS = {
    "gps_fixes": {
        "empty_payload": 1,
        "payload_too_large": 1,
        "not_utf8": 3,
        "not_json": 4,
        "not_an_object": 1,
        "null_key": 1,
        "unknown_event_type": 2,
        "wrong_topic": 1,
        "unknown_schema_version": 1,
        "missing_required_field": 1,
        "wrong_type": 1,
        "bad_timestamp": 1,
        "malformed_id": 5,
        "out_of_range": 1,
        "event_time_out_of_range": 1,
    },
    "camera_sightings": {"value_not_allowed": 1},
    # A JSON integer too large for the int field: caught, not landed as a null.
    "weather_readings": {"wrong_type": 1},
}


# Dead letters that no text column can hold: every byte value (NUL and invalid UTF-8
# among them), and invalid UTF-8 after a plausible start; keys of bytes too.
HOSTILE_BYTES = {
    b"\xff\x00key": bytes(range(256)),
    b"k\xc3\x28": b'{"event_id": "\xc3\x28"}',
    # Valid text, but its event_type holds a NUL (a JSON escape), which the refusal
    # message quotes: PostgreSQL text cannot hold NUL.
    b"nul-type": b'{"event_type": "x\\u0000y"}',
}


def readable_text(raw: bytes) -> str | None:
    """The text column's rule: the bytes as text if they are UTF-8 without NUL."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


# What each of them reads back as: (key bytes, value bytes, key text, value text).
EXPECTED_HOSTILE = {
    key: (key, value, readable_text(key), readable_text(value))
    for key, value in HOSTILE_BYTES.items()
}


def tampered(contract, event: dict, label: str, **changes: object) -> bytes:
    """A valid event's JSON with some fields overwritten, past the producer's own checks,
    under an event_id of its own (a UUID named after ``label``)."""
    wire = json.loads(serialize(contract, event))
    wire["event_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"smartcity-test/{label}"))
    wire.update(changes)
    return json.dumps(wire).encode()


def land_and_build(tmp_path_factory: pytest.TempPathFactory, kafka_broker) -> dict:
    """Produce, land and build once; the tests read what it left."""
    root = tmp_path_factory.mktemp("pipeline")
    settings = settings_for(root, kafka_broker, topic_prefix="e2e")
    pipeline.create_topics(settings)
    events = list(simulate(OPTIONS))
    # The same events sent twice, as a producer retry after a lost ack would.
    resent = events[100 : 100 + DUPLICATES]
    report = produce(events + resent, settings.bootstrap_servers, pipeline.topic_namer(settings))
    junk = Producer({"bootstrap.servers": settings.bootstrap_servers})
    weather = next((c, e) for c, e in events if c.source == "weather_readings")
    gps = next((c, e) for c, e in events if c is GPS_FIXES)
    camera = next((c, e) for c, e in events if c.source == "camera_sightings")
    gps_topic = settings.topic(GPS_FIXES.source)
    bad_gps = [
        b"",
        tampered(*gps, "huge", padding="x" * 70_000),
        b"not json at all",
        b"[1, 2, 3]",
        b'{"event_id": "only-an-id"}',
        tampered(*gps, "ufo", event_type="ufo_sighting"),
        serialize(*weather),  # a valid event, on the wrong topic
        tampered(*gps, "v3", schema_version=3),
        tampered(*gps, "no-vehicle", vehicle_id=None),
        tampered(*gps, "numeric-id", vehicle_id=123),
        tampered(*gps, "bad-ts", event_at="yesterday"),
        tampered(*gps, "north-pole-plus", latitude=123.0),
        tampered(*gps, "y2k", event_at="2001-01-01T00:00:00.000000Z"),
        # Identifiers must be well formed: a canonical UUID, ids non-empty and without
        # spaces or control characters (a trailing line break included).
        tampered(*gps, "no-id", event_id=""),
        tampered(*gps, "upper-id", event_id=str(uuid.uuid4()).upper()),
        tampered(*gps, "empty-vehicle", vehicle_id=""),
        tampered(*gps, "spaced-source", source_id="gps veh 1"),
        tampered(*gps, "line-break", vehicle_id="veh-1\n"),
        # Exactly one JSON value: nothing but whitespace may follow it, and no key twice.
        serialize(*gps) + b" trailing",
        serialize(*gps) + serialize(*gps),
        serialize(*gps)[:-1] + b',"vehicle_id": "again"}',
        # Text must be UTF-8: an invalid byte inside a string field.
        tampered(*gps, "bad-utf8", vehicle_id="VEHICLE").replace(b"VEHICLE", b"\xffveh"),
    ]
    for value in bad_gps:
        # Every bad record has a key but one: the key check has its own record.
        key = None if value == b'{"event_id": "only-an-id"}' else b"junk"
        junk.produce(gps_topic, value=value, key=key)
    for key, value in HOSTILE_BYTES.items():
        junk.produce(gps_topic, value=value, key=key)
    junk.produce(
        settings.topic(weather[0].source),
        value=tampered(*weather, "huge-aqi", air_quality_index=3_000_000_000),
        key=b"junk",
    )
    junk.produce(
        settings.topic(camera[0].source),
        value=tampered(*camera, "up", direction="up"),
        key=b"junk",
    )
    assert junk.flush(30) == 0
    totals = pipeline.land(settings)
    run_dbt(settings, "build")
    return {
        "settings": settings,
        "events": events,
        "resent": resent,
        "report": report,
        "totals": totals,
    }
