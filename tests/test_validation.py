"""The landing job's verdicts, one record per case, on a real Spark session.

Each case is a Kafka record (value and key bytes) and the reason code it must get, or
None for a record that must land. A fuzz test then mutates valid payloads byte by byte:
every mutant gets a verdict, and whatever is accepted is exactly what strict JSON says
the bytes hold.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from foundation.contracts import (
    CAMERA_SIGHTINGS,
    EMERGENCY_UPDATES,
    GPS_FIXES,
    WEATHER_READINGS,
    Contract,
)
from foundation.lake_tables import REASON_CODES, raw_table
from ingestion.simulators.world import SimulationOptions, simulate
from ingestion.wire import serialize
from smartcity.settings import Settings
from streaming.job import check, remove_strays, valid_rows
from streaming.jvm_build import landing_jar
from streaming.lake_files import LakeFiles
from streaming.landing_writer import WITHOUT_DICTIONARY, ValidRowsWriter
from streaming.schemas import table_schema
from streaming.session import build_session
from streaming.validation import ValidationLimits, Verdict

PUBLISHED_AT = datetime(2026, 1, 1, 9, 0)


def _first_event_per_source() -> dict[str, dict[str, Any]]:
    options = SimulationOptions(events=5_000, seed=3, start_at=datetime(2026, 1, 1, 8, tzinfo=UTC))
    first: dict[str, dict[str, Any]] = {}
    for contract, event in simulate(options):
        first.setdefault(contract.source, event)
    return first


EVENTS = _first_event_per_source()


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    # Module scope: the end-to-end suites start sessions of their own.
    session = build_session([landing_jar(Settings.from_env().cache_dir)], "local[1]")
    yield session
    session.stop()


def wire(contract: Contract, **changes: Any) -> bytes:
    """A valid event's JSON, with fields replaced (or removed, for ``...``)."""
    document = json.loads(serialize(contract, EVENTS[contract.source]))
    for name, value in changes.items():
        if value is ...:
            document.pop(name)
        else:
            document[name] = value
    return json.dumps(document).encode()


def kafka_records(
    spark: SparkSession, records: list[tuple], published_at: datetime = PUBLISHED_AT
) -> DataFrame:
    """(value, key) pairs as the Kafka source reads them, at offsets 0, 1, ..."""
    frame = spark.createDataFrame(
        [
            (
                None if value is None else bytearray(value),
                None if key is None else bytearray(key),
                published_at,
                index,
            )
            for index, (value, key) in enumerate(records)
        ],
        "value binary, key binary, timestamp timestamp, offset long",
    )
    return frame.withColumn("topic", F.lit("t")).withColumn("partition", F.lit(0))


def judged(
    spark: SparkSession,
    contract: Contract,
    records: list[tuple],
    published_at: datetime = PUBLISHED_AT,
) -> DataFrame:
    frame = kafka_records(spark, records, published_at)
    return check(frame, Verdict(spark, contract, ValidationLimits())).orderBy("kafka_offset")


def verdicts(spark: SparkSession, contract: Contract, values: list[bytes | None]) -> list:
    rows = judged(spark, contract, [(value, b"key") for value in values]).collect()
    return [row["reason_code"] for row in rows]


GPS = GPS_FIXES
GOOD = serialize(GPS, EVENTS[GPS.source])
UUID = EVENTS[GPS.source]["event_id"]

CASES: dict[str, tuple[Contract, bytes | None, str | None]] = {
    "valid": (GPS, GOOD, None),
    "whitespace around the value": (GPS, b" \n\t" + GOOD + b"\r\n ", None),
    "a field the contract does not know": (GPS, wire(GPS, firmware="1.2"), None),
    "version 2 with its new field": (GPS, wire(GPS, schema_version=2, heading_deg=90.5), None),
    "version 2 without its new optional field": (GPS, wire(GPS, schema_version=2), None),
    "version 2 with its new field out of range": (
        GPS,
        wire(GPS, schema_version=2, heading_deg=400.0),
        "out_of_range",
    ),
    # Not a field of version 1: ignored, as unknown fields are, whatever its value.
    "version 1 with version 2's field": (GPS, wire(GPS, heading_deg="north"), None),
    "a surrogate pair, escaped": (
        CAMERA_SIGHTINGS,
        wire(CAMERA_SIGHTINGS, snapshot_ref="\U0001f600"),
        None,
    ),
    "no value": (GPS, None, "empty_payload"),
    "an empty value": (GPS, b"", "empty_payload"),
    "over 64 KiB": (GPS, wire(GPS, padding="x" * 70_000), "payload_too_large"),
    "an invalid byte in a string": (GPS, GOOD.replace(b"veh-", b"\xffeh-"), "not_utf8"),
    "an overlong encoding": (GPS, GOOD.replace(b"veh-", b"\xc0\xafeh-"), "not_utf8"),
    "an encoded surrogate": (GPS, GOOD.replace(b"veh-", b"\xed\xa0\x80h-"), "not_utf8"),
    "above U+10FFFF": (GPS, GOOD.replace(b"veh-", b"\xf4\x90\x80\x80"), "not_utf8"),
    "a sequence cut short at the end": (GPS, GOOD + b"\xe2\x82", "not_utf8"),
    "trailing bytes": (GPS, GOOD + b" trailing", "not_json"),
    "two objects": (GPS, GOOD + GOOD, "not_json"),
    "two objects on two lines": (GPS, GOOD + b"\n" + GOOD, "not_json"),
    "a key twice": (GPS, GOOD[:-1] + b',"vehicle_id":"again"}', "not_json"),
    "a key twice, nested": (GPS, wire(GPS, extra={"a": 1})[:-2] + b',"a":2}}', "not_json"),
    "cut short": (GPS, GOOD[:-1], "not_json"),
    "NaN": (GPS, GOOD.replace(b'"latitude":', b'"latitude":NaN,"x":'), "not_json"),
    "single quotes": (GPS, b"{'event_id': 'x'}", "not_json"),
    "a comment": (GPS, b"/* hi */" + GOOD, "not_json"),
    # Not whitespace, so not allowed around the value (JSON between systems has none).
    "a byte-order mark first": (GPS, b"\xef\xbb\xbf" + GOOD, "not_json"),
    "a byte-order mark after whitespace": (GPS, b" \xef\xbb\xbf" + GOOD, "not_json"),
    "a leading zero": (
        GPS,
        GOOD.replace(b'"schema_version":1', b'"schema_version":01'),
        "not_json",
    ),
    "a raw line break in a string": (GPS, GOOD.replace(b"veh-", b"ve\nh-"), "not_json"),
    "an invalid escape": (GPS, GOOD.replace(b"veh-", b"v\\qeh-"), "not_json"),
    "nesting beyond any limit": (GPS, b"[" * 5000 + b"]" * 5000, "not_json"),
    "an array": (GPS, b"[1, 2, 3]", "not_an_object"),
    "a string": (GPS, b'"gps_fix"', "not_an_object"),
    "null": (GPS, b"null", "not_an_object"),
    "unknown event type": (GPS, wire(GPS, event_type="ufo_sighting"), "unknown_event_type"),
    "another source's event": (
        GPS,
        serialize(WEATHER_READINGS, EVENTS["weather_readings"]),
        "wrong_topic",
    ),
    "schema version 3": (GPS, wire(GPS, schema_version=3), "unknown_schema_version"),
    "a field missing": (GPS, wire(GPS, vehicle_id=...), "missing_required_field"),
    "a field null": (GPS, wire(GPS, vehicle_id=None), "missing_required_field"),
    "a number for a string": (GPS, wire(GPS, vehicle_id=123), "wrong_type"),
    "a string for a number": (GPS, wire(GPS, latitude="52.0"), "wrong_type"),
    "a boolean for a number": (GPS, wire(GPS, latitude=True), "wrong_type"),
    "an object for a string": (GPS, wire(GPS, vehicle_id={"id": "v"}), "wrong_type"),
    "a fraction for an int": (GPS, wire(GPS, schema_version=1.0), "wrong_type"),
    "too large for an int": (
        WEATHER_READINGS,
        wire(WEATHER_READINGS, air_quality_index=3_000_000_000),
        "wrong_type",
    ),
    "too large for a double": (
        GPS,
        GOOD.replace(b'"latitude":', b'"latitude":1e400,"x":'),
        "wrong_type",
    ),
    "a number in a list of strings": (
        EMERGENCY_UPDATES,
        wire(EMERGENCY_UPDATES, units=["a", 1]),
        "wrong_type",
    ),
    "null in a list of strings": (
        EMERGENCY_UPDATES,
        wire(EMERGENCY_UPDATES, units=["a", None]),
        "wrong_type",
    ),
    "a number for a timestamp": (GPS, wire(GPS, event_at=1767254400), "wrong_type"),
    "a NUL in a string": (
        CAMERA_SIGHTINGS,
        wire(CAMERA_SIGHTINGS, snapshot_ref="a\u0000b"),
        "unstorable_text",
    ),
    "half a surrogate pair": (
        CAMERA_SIGHTINGS,
        wire(CAMERA_SIGHTINGS, plate_hash="\ud800"),
        "unstorable_text",
    ),
    "a NUL in a list": (
        EMERGENCY_UPDATES,
        wire(EMERGENCY_UPDATES, units=["a\u0000"]),
        "unstorable_text",
    ),
    "not a timestamp": (GPS, wire(GPS, event_at="yesterday"), "bad_timestamp"),
    "a day that does not exist": (GPS, wire(GPS, event_at="2026-02-30T08:00:00Z"), "bad_timestamp"),
    "an offset instead of Z": (
        GPS,
        wire(GPS, event_at="2026-01-01T08:00:00+00:00"),
        "bad_timestamp",
    ),
    "nanoseconds": (GPS, wire(GPS, event_at="2026-01-01T08:00:00.123456789Z"), "bad_timestamp"),
    "a space before it": (GPS, wire(GPS, event_at=" 2026-01-01T08:00:00Z"), "bad_timestamp"),
    "an empty event id": (GPS, wire(GPS, event_id=""), "malformed_id"),
    "an upper-case uuid": (GPS, wire(GPS, event_id=UUID.upper()), "malformed_id"),
    "a uuid without hyphens": (GPS, wire(GPS, event_id=UUID.replace("-", "")), "malformed_id"),
    "an empty entity id": (GPS, wire(GPS, vehicle_id=""), "malformed_id"),
    "a space in a device id": (GPS, wire(GPS, source_id="gps veh 1"), "malformed_id"),
    "a trailing line break": (GPS, wire(GPS, vehicle_id="veh-1\n"), "malformed_id"),
    "not in the enumeration": (
        CAMERA_SIGHTINGS,
        wire(CAMERA_SIGHTINGS, direction="up"),
        "value_not_allowed",
    ),
    "latitude 123": (GPS, wire(GPS, latitude=123.0), "out_of_range"),
    "negative accuracy": (GPS, wire(GPS, accuracy_m=-1), "out_of_range"),
    "from 2001": (
        GPS,
        wire(GPS, event_at="2001-01-01T00:00:00.000000Z"),
        "event_time_out_of_range",
    ),
    "two days ahead": (GPS, wire(GPS, event_at="2026-01-03T09:00:00Z"), "event_time_out_of_range"),
    "the earliest check wins": (
        GPS,
        wire(GPS, vehicle_id=..., latitude=123.0),
        "missing_required_field",
    ),
}


def test_every_reason_code_has_a_case() -> None:
    assert {reason for _, _, reason in CASES.values()} - {None} == set(REASON_CODES) - {"null_key"}


@pytest.mark.parametrize("contract", [GPS, CAMERA_SIGHTINGS, WEATHER_READINGS, EMERGENCY_UPDATES])
def test_each_record_gets_its_reason(spark: SparkSession, contract: Contract) -> None:
    cases = {name: case for name, case in CASES.items() if case[0] is contract}
    got = verdicts(spark, contract, [value for _, value, _ in cases.values()])
    assert dict(zip(cases, got, strict=True)) == {
        name: reason for name, (_, _, reason) in cases.items()
    }


def test_a_record_without_a_key_is_refused(spark: SparkSession) -> None:
    rows = judged(spark, GPS, [(GOOD, None), (b"[1]", None)]).collect()
    assert [row["reason_code"] for row in rows] == ["null_key", "not_an_object"]


def test_the_message_names_every_field_at_fault(spark: SparkSession) -> None:
    value = wire(GPS, vehicle_id=..., latitude=..., longitude=500.0)
    (row,) = judged(spark, GPS, [(value, b"key")]).collect()
    assert row["reason_message"] == "missing: vehicle_id, latitude"


def test_a_valid_record_lands_with_its_fields_typed(spark: SparkSession) -> None:
    event = EVENTS[GPS.source]
    (row,) = judged(spark, GPS, [(GOOD, b"key")]).collect()
    fields = row["fields"].asDict()
    assert fields["event_id"] == event["event_id"]
    assert fields["event_at"] == event["event_at"].replace(tzinfo=None)
    assert fields["latitude"] == event["latitude"] and fields["schema_version"] == 1
    assert row["kafka_published_at"] == PUBLISHED_AT


def test_each_version_lands_its_own_fields(spark: SparkSession) -> None:
    values = [
        wire(GPS, schema_version=2, heading_deg=90.5),
        wire(GPS, heading_deg=90.5),  # version 1: the field is not one of its own
    ]
    rows = judged(spark, GPS, [(value, b"key") for value in values]).collect()
    landed = [(row["fields"]["schema_version"], row["fields"]["heading_deg"]) for row in rows]
    assert landed == [(2, 90.5), (1, None)]


def _mutants(contract: Contract, count: int) -> list[bytes]:
    """Valid payloads of the source with one to three bytes changed, dropped or added."""
    chance = random.Random(contract.source)
    options = SimulationOptions(events=2_000, seed=7, start_at=datetime(2026, 1, 1, 8, tzinfo=UTC))
    payloads = [serialize(c, e) for c, e in simulate(options) if c is contract]
    mutants = []
    for _ in range(count):
        value = bytearray(chance.choice(payloads))
        for _ in range(chance.randint(1, 3)):
            at = chance.randrange(len(value))
            action = chance.random()
            if action < 0.4:
                value[at] = chance.randrange(256)
            elif action < 0.7:
                del value[at]
            else:
                value.insert(at, chance.choice(b'"\\{}[],:0e.-\x00\xff\xc3 '))
        mutants.append(bytes(value))
    return mutants


def _strict_json(value: bytes) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("a key twice")
        return dict(pairs)

    def no_constants(name: str) -> float:
        raise ValueError(name)

    return json.loads(
        value.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constants
    )


@pytest.mark.parametrize("contract", [GPS, EMERGENCY_UPDATES])
def test_whatever_mutant_is_accepted_holds_exactly_what_its_bytes_say(
    spark: SparkSession, contract: Contract
) -> None:
    mutants = _mutants(contract, count=3_000)
    rows = judged(spark, contract, [(m, b"key") for m in mutants]).collect()
    assert len(rows) == len(mutants)
    accepted = 0
    for mutant, row in zip(mutants, rows, strict=True):
        assert row["reason_code"] in (None, *REASON_CODES)
        if row["reason_code"] is not None:
            assert row["reason_message"] and row["fields"] is None
            continue
        accepted += 1
        document = _strict_json(mutant)  # raises if something not strict JSON was accepted
        # A field of a later version than the record's is not the record's: null.
        own = {f.name for f in contract.fields_of_version(document["schema_version"])}
        for name, landed in row["fields"].asDict().items():
            if name not in own:
                assert landed is None, name
                continue
            sent = document.get(name)  # an optional field may be absent
            if isinstance(landed, datetime):
                assert (
                    datetime.fromisoformat(sent.replace("Z", "+00:00")).replace(tzinfo=None)
                    == landed
                ), name
            elif isinstance(landed, float):
                assert math.isclose(landed, sent, rel_tol=0, abs_tol=0), name
            else:
                assert landed == sent, name
    # Some mutants change a digit or a letter and stay valid: both sides were exercised.
    assert 0 < accepted < len(mutants)


def test_event_times_are_judged_against_kafka_and_not_the_clock(spark: SparkSession) -> None:
    """A replayed batch gets the verdicts it got the first time, whenever it runs."""
    old_event = wire(GPS, event_at="2001-01-01T00:00:00Z")
    records = [(GOOD, b"key"), (old_event, b"key")]
    first = judged(spark, GPS, records).collect()
    assert [row["reason_code"] for row in first] == [None, "event_time_out_of_range"]
    assert judged(spark, GPS, records).collect() == first
    # The same record, received by Kafka in 2001, is on time.
    (row,) = judged(spark, GPS, [(old_event, b"key")], datetime(2001, 1, 1, 0, 5)).collect()
    assert row["reason_code"] is None


def test_the_verdict_counts_what_it_judges_and_refuses_once_per_record(
    spark: SparkSession,
) -> None:
    # The landing job reads a batch's counts from the verdict instead of a count job.
    verdict = Verdict(spark, GPS, ValidationLimits())
    records = [(value, b"key") for value in (GOOD, b"{", GOOD, b"[1]", GOOD)]
    checked = check(kafka_records(spark, records).repartition(3), verdict)
    verdict.reset_counts()
    landed = checked.where(F.col("reason_code").isNull()).select("fields.*").collect()
    assert len(landed) == 3
    assert verdict.counts() == (5, 2)
    verdict.reset_counts()
    assert verdict.counts() == (0, 0)


LANDED_AT = datetime(2026, 1, 1, 9, 0, 5, 123456)


@pytest.mark.parametrize("contract", [GPS, CAMERA_SIGHTINGS, EMERGENCY_UPDATES])
def test_the_one_pass_writer_lands_what_the_dataframe_form_selects(
    spark: SparkSession, contract: Contract, tmp_path: Path
) -> None:
    # The job writes valid rows with ValidRowsWriter; valid_rows is the same thing said
    # as a DataFrame. Valid events over several hours, and mutants, half of them refused.
    simulated = simulate(
        SimulationOptions(
            events=4_000, vehicles=20, start_at=datetime(2026, 1, 1, 6, 55, tzinfo=UTC)
        )
    )
    events = [serialize(c, e) for c, e in simulated if c is contract][:400]
    values = events + _mutants(contract, 300)
    frame = kafka_records(spark, [(value, b"key") for value in values]).repartition(3)
    verdict = Verdict(spark, contract, ValidationLimits())
    expected = valid_rows(check(frame, verdict), contract, LANDED_AT).collect()
    verdict.reset_counts()
    files = ValidRowsWriter(spark, contract, verdict)(frame, str(tmp_path), LANDED_AT, 7)

    assert verdict.counts() == (len(values), len(values) - len(expected))
    assert len({row["event_hour"] for row in expected}) > 1
    assert sorted(files) == sorted(
        str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*.parquet")
    )
    assert all(file.startswith("event_date=") and "/part-b000000000007-" in file for file in files)
    for file in files:
        assert spark.read.parquet(str(tmp_path / file)).schema == table_schema(raw_table(contract))
        metadata = pq.ParquetFile(tmp_path / file).metadata.row_group(0)
        encodings = {
            metadata.column(i).path_in_schema: metadata.column(i).encodings
            for i in range(metadata.num_columns)
        }
        for column in WITHOUT_DICTIONARY:
            assert not any("DICTIONARY" in e for e in encodings[column]), column
        if metadata.num_rows >= 50:  # Parquet drops a dictionary that saves nothing
            assert any("DICTIONARY" in e for e in encodings["kafka_topic"]), encodings
    landed = spark.read.parquet(str(tmp_path)).select(*valid_rows_columns(contract)).collect()
    by_offset = {row["kafka_offset"]: row.asDict() for row in landed}
    assert len(by_offset) == len(landed) == len(expected)
    assert by_offset == {row["kafka_offset"]: row.asDict() for row in expected}


def valid_rows_columns(contract: Contract) -> list[str]:
    return raw_table(contract).column_names()


def test_a_replay_removes_the_files_its_killed_run_left_and_nothing_else(
    spark: SparkSession, tmp_path: Path
) -> None:
    """A run of batch 7 killed after writing and before its commit, then its replay: the
    replay writes the same hours under new names, and the killed run's files go; another
    batch's files in the same folders stay."""
    contract = GPS
    simulated = simulate(
        SimulationOptions(events=600, vehicles=5, start_at=datetime(2026, 1, 1, 6, 50, tzinfo=UTC))
    )
    values = [serialize(c, e) for c, e in simulated if c is contract][:120]
    frame = kafka_records(spark, [(value, b"key") for value in values]).repartition(2)
    writer = ValidRowsWriter(spark, contract, Verdict(spark, contract, ValidationLimits()))
    folder = str(tmp_path)
    other_batch = writer(frame, folder, LANDED_AT, 6)
    killed = writer(frame, folder, LANDED_AT, 7)
    replay = writer(frame, folder, LANDED_AT, 7)
    assert set(killed).isdisjoint(replay)
    assert {f.rsplit("/", 1)[0] for f in killed} == {f.rsplit("/", 1)[0] for f in replay}
    files = LakeFiles(spark, folder)

    removed = remove_strays(files, folder, 7, replay, {f.rsplit("/", 1)[0] for f in replay})

    assert removed == len(killed)
    on_disk = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.parquet")}
    assert on_disk == set(other_batch) | set(replay)
    # Anywhere below the folder, as the dead letters' replay looks (they may have moved
    # in on another day): every file of batch 7 goes, batch 6's stay.
    assert remove_strays(files, folder, 7, kept=[], folders=None) == len(replay)
    assert {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.parquet")} == set(other_batch)
