import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from foundation.contracts import (
    CONTRACTS,
    GPS_FIXES,
    ContractViolation,
    validate,
)
from ingestion.simulators.world import SimulationOptions, simulate
from ingestion.wire import encode, serialize


def gps_event(**changes: object) -> dict:
    event = {
        "event_id": "6f1c2a9e-3b7d-4c1e-9a55-0d2f7b8e1c44",
        "event_type": "gps_fix",
        "schema_version": 1,
        "source_id": "gps-veh-0001",
        "event_at": datetime(2026, 1, 1, 8, 0, 5, 120000, tzinfo=UTC),
        "vehicle_id": "veh-0001",
        "latitude": 52.01,
        "longitude": 4.05,
        "altitude_m": 2.5,
        "accuracy_m": 4.0,
        "speed_over_ground_kmh": 32.0,
    }
    event.update(changes)
    return event


def test_every_contract_has_the_common_fields_first() -> None:
    for contract in CONTRACTS:
        assert contract.field_names()[:5] == [
            "event_id",
            "event_type",
            "schema_version",
            "source_id",
            "event_at",
        ]
        assert contract.device_field in contract.field_names()


def test_serialize_writes_utc_iso_timestamps() -> None:
    payload = json.loads(serialize(GPS_FIXES, gps_event()))
    assert payload["event_at"] == "2026-01-01T08:00:05.120000Z"
    assert payload["latitude"] == 52.01


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"vehicle_id": None}, "missing vehicle_id"),
        ({"latitude": "52.0"}, "latitude: expected double"),
        ({"schema_version": 3}, "schema_version 3"),
        ({"heading_deg": 90.0}, "unknown fields ['heading_deg'] in version 1"),
        ({"event_type": "weather_reading"}, "event_type"),
        ({"speed_over_ground_kmh": float("nan")}, "speed_over_ground_kmh"),
        ({"event_at": datetime(2026, 1, 1)}, "event_at"),
        ({"plate": "AB-123"}, "unknown fields ['plate']"),
        ({"event_id": ""}, "event_id: '' is not a well-formed identifier"),
        ({"event_id": "6F9619FF-8B86-D011-B42D-00C04FC964FF"}, "event_id"),
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"vehicle_id": ""}, "vehicle_id: '' is not"),
        ({"vehicle_id": "veh 1"}, "vehicle_id"),
        ({"vehicle_id": "veh-1\n"}, "vehicle_id"),
        ({"source_id": "\x00"}, "source_id"),
    ],
)
def test_serialize_rejects_events_that_break_the_contract(changes: dict, message: str) -> None:
    with pytest.raises(ContractViolation, match=message.replace("[", r"\[").replace("]", r"\]")):
        serialize(GPS_FIXES, gps_event(**changes))


def test_every_identifier_of_every_contract_has_a_pattern() -> None:
    for contract in CONTRACTS:
        ids = {"event_id", "source_id", contract.device_field}
        patterned = {f.name for f in contract.fields if f.pattern}
        assert ids <= patterned, contract.source


def test_a_timestamp_in_another_zone_is_written_in_utc() -> None:
    from datetime import timedelta, timezone

    moment = datetime(2026, 1, 1, 10, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    payload = json.loads(serialize(GPS_FIXES, gps_event(event_at=moment)))
    assert payload["event_at"] == "2026-01-01T08:00:05Z"


BAD_VALUES = [
    ("event_id", ""),
    ("event_id", "6F9619FF-8B86-D011-B42D-00C04FC964FF"),
    ("vehicle_id", None),
    ("vehicle_id", 7),
    ("vehicle_id", "veh 1"),
    ("latitude", "52"),
    ("latitude", True),
    ("latitude", float("nan")),
    ("latitude", float("inf")),
    ("latitude", 90.0001),
    ("speed_over_ground_kmh", -0.1),
    ("schema_version", 3),
    ("heading_deg", 361.0),
    ("schema_version", True),
    ("event_type", "weather_reading"),
    ("event_at", datetime(2026, 1, 1)),
    ("event_at", "2026-01-01T08:00:05Z"),
    ("unknown_field", 1),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_the_compiled_check_refuses_what_the_contract_refuses(name: str, value: object) -> None:
    event = gps_event(**{name: value})
    with pytest.raises(ContractViolation):
        validate(GPS_FIXES, event)
    with pytest.raises(ContractViolation):
        serialize(GPS_FIXES, event)


def test_the_compiled_check_accepts_the_simulated_events_as_the_contract_does() -> None:
    from ingestion.simulators.world import SimulationOptions, simulate

    options = SimulationOptions(events=3_000, seed=5, start_at=datetime(2026, 3, 1, tzinfo=UTC))
    for contract, event in simulate(options):
        validate(contract, event)
        wire = json.loads(encode(contract, event))
        version = contract.fields_of_version(event["schema_version"])
        assert list(wire) == [field.name for field in version]
        assert wire["event_at"].endswith("Z")


def test_both_versions_of_the_gps_contract_are_written_side_by_side() -> None:
    first = json.loads(serialize(GPS_FIXES, gps_event()))
    second = json.loads(serialize(GPS_FIXES, gps_event(schema_version=2, heading_deg=90.5)))
    assert "heading_deg" not in first
    assert second["heading_deg"] == 90.5 and second["schema_version"] == 2
    # Optional in version 2 as well: a unit without a compass sends none.
    assert "heading_deg" in json.loads(serialize(GPS_FIXES, gps_event(schema_version=2)))
    with pytest.raises(ContractViolation, match="heading_deg"):
        serialize(GPS_FIXES, gps_event(schema_version=2, heading_deg=361.0))


def test_a_field_added_in_a_later_version_must_be_optional() -> None:
    from foundation.contracts import Contract, Field, FieldType

    added = Field("heading_deg", FieldType.DOUBLE, "A new field.", since_version=2)
    with pytest.raises(ValueError, match="must be optional"):
        Contract("s", "e", 2, "source_id", "A source.", (added,))
    with pytest.raises(ValueError, match="not one of the contract's versions"):
        Contract("s", "e", 1, "source_id", "A source.", (replace(added, required=False),))


def test_the_simulated_fleet_sends_both_versions() -> None:
    versions = {
        event["schema_version"]: "heading_deg" in event
        for contract, event in simulate(SimulationOptions(events=500))
        if contract is GPS_FIXES
    }
    assert versions == {1: False, 2: True}
