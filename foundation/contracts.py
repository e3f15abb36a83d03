"""The event contracts of the five sources, written once.

Everything else is derived from these definitions or checked against them: the
producer's compiled check-and-encode (``ingestion.wire``), the Spark schema
(``streaming.schemas``), the lake's tables (``foundation.lake_tables``) and from them the
dbt sources (tests compare them).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class FieldType(StrEnum):
    """Logical field types, named after Spark SQL's simple type names."""

    STRING = "string"
    INT = "int"
    LONG = "bigint"
    DOUBLE = "double"
    TIMESTAMP = "timestamp"
    STRING_ARRAY = "array<string>"
    # Lake-only types: partition keys and the dead letters' exact bytes, never an event field.
    DATE = "date"
    BINARY = "binary"


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    description: str
    required: bool = True
    allowed: tuple[str, ...] = ()
    # Inclusive bounds for numbers; the producer and the landing job both enforce them.
    minimum: float | None = None
    maximum: float | None = None
    # The column's name from staging on, where dbt renames it; None drops it there.
    staged_as: str | None = ""
    # A regular expression the whole text must match (the producer and the landing job
    # both enforce it); written in the syntax Python and Java share.
    pattern: str | None = None
    # The contract version that added the field. A record of an earlier version has no
    # such field: the producer refuses one, and the landing job reads it as null. Only
    # optional fields can be added (docs/data.md, "Schema evolution").
    since_version: int = 1

    @property
    def staged_name(self) -> str | None:
        return self.name if self.staged_as == "" else self.staged_as


@dataclass(frozen=True)
class Contract:
    """One source: its event type, schema versions and fields.

    ``schema_version`` is the newest version; producers may send any version from
    ``first_version`` on, side by side, while devices are upgraded. Each version's
    fields are those added up to it (``Field.since_version``).
    """

    source: str
    event_type: str
    schema_version: int
    device_field: str
    description: str
    own_fields: tuple[Field, ...]
    first_version: int = 1

    def __post_init__(self) -> None:
        for field in self.own_fields:
            if field.since_version > self.first_version and field.required:
                raise ValueError(
                    f"{self.source}.{field.name}: a field added in version "
                    f"{field.since_version} must be optional (older records lack it)"
                )
            if not self.first_version <= field.since_version <= self.schema_version:
                raise ValueError(
                    f"{self.source}.{field.name}: since_version {field.since_version} is not "
                    f"one of the contract's versions {list(self.versions)}"
                )

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(range(self.first_version, self.schema_version + 1))

    @property
    def fields(self) -> tuple[Field, ...]:
        """Every field of every version: the lake's columns."""
        return COMMON_FIELDS + self.own_fields

    def fields_of_version(self, version: int) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.since_version <= version)

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


class ContractViolation(ValueError):
    """An event does not match its contract; raised by the producer's serializer."""


# A canonical UUID: lowercase hex in the 8-4-4-4-12 form.
UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# An identifier: one character at least, and no space or control character in it.
IDENTIFIER_PATTERN = r"[^\x00-\x20\x7f]+"

COMMON_FIELDS: tuple[Field, ...] = (
    Field(
        "event_id",
        FieldType.STRING,
        "UUID of the event; the idempotency key.",
        pattern=UUID_PATTERN,
    ),
    Field("event_type", FieldType.STRING, "Kind of event; one value per source.", staged_as=None),
    Field(
        "schema_version",
        FieldType.INT,
        "Version of the contract the event follows.",
        minimum=1,
        maximum=1000,
    ),
    Field(
        "source_id",
        FieldType.STRING,
        "Device that emitted the event.",
        staged_as="device_id",
        pattern=IDENTIFIER_PATTERN,
    ),
    Field("event_at", FieldType.TIMESTAMP, "When the event happened, UTC."),
)

_LAT = Field("latitude", FieldType.DOUBLE, "WGS84 latitude, degrees.", minimum=-90, maximum=90)
_LON = Field("longitude", FieldType.DOUBLE, "WGS84 longitude, degrees.", minimum=-180, maximum=180)

VEHICLE_TELEMETRY = Contract(
    source="vehicle_telemetry",
    event_type="vehicle_telemetry",
    schema_version=1,
    device_field="vehicle_id",
    description="Engine and motion telemetry from a vehicle's on-board unit.",
    own_fields=(
        Field("vehicle_id", FieldType.STRING, "Vehicle identifier.", pattern=IDENTIFIER_PATTERN),
        Field("speed_kmh", FieldType.DOUBLE, "Speed, km/h.", minimum=0, maximum=300),
        Field(
            "heading_deg",
            FieldType.DOUBLE,
            "Heading, degrees clockwise from north.",
            minimum=0,
            maximum=360,
        ),
        Field(
            "fuel_level_pct",
            FieldType.DOUBLE,
            "Fuel or battery level, percent.",
            minimum=0,
            maximum=100,
        ),
        Field("odometer_km", FieldType.DOUBLE, "Odometer reading, km.", minimum=0, maximum=5000000),
        Field(
            "engine_status",
            FieldType.STRING,
            "Engine state.",
            allowed=("running", "idle", "off"),
        ),
        Field("make", FieldType.STRING, "Manufacturer.", staged_as="vehicle_make"),
        Field("model", FieldType.STRING, "Model name.", staged_as="vehicle_model"),
        Field(
            "model_year",
            FieldType.INT,
            "Model year.",
            minimum=1950,
            maximum=2100,
            staged_as="vehicle_model_year",
        ),
        Field(
            "fuel_type",
            FieldType.STRING,
            "Fuel type.",
            allowed=("petrol", "diesel", "electric", "hybrid"),
        ),
    ),
)

GPS_FIXES = Contract(
    source="gps_fixes",
    event_type="gps_fix",
    # Version 2 adds heading_deg; units on older firmware still send version 1.
    schema_version=2,
    device_field="vehicle_id",
    description="Position fixes from a vehicle's GPS unit.",
    own_fields=(
        Field("vehicle_id", FieldType.STRING, "Vehicle identifier.", pattern=IDENTIFIER_PATTERN),
        _LAT,
        _LON,
        Field(
            "altitude_m",
            FieldType.DOUBLE,
            "Altitude above sea level, metres.",
            minimum=-500,
            maximum=9000,
        ),
        Field(
            "accuracy_m", FieldType.DOUBLE, "Horizontal accuracy, metres.", minimum=0, maximum=10000
        ),
        Field(
            "speed_over_ground_kmh",
            FieldType.DOUBLE,
            "Speed over ground, km/h.",
            minimum=0,
            maximum=300,
            staged_as="speed_kmh",
        ),
        Field(
            "heading_deg",
            FieldType.DOUBLE,
            "Direction of travel, degrees clockwise from true north; from version 2 on.",
            required=False,
            minimum=0,
            maximum=360,
            since_version=2,
        ),
    ),
)

CAMERA_SIGHTINGS = Contract(
    source="camera_sightings",
    event_type="camera_sighting",
    schema_version=1,
    device_field="camera_id",
    description="A vehicle seen by a fixed traffic camera.",
    own_fields=(
        Field("camera_id", FieldType.STRING, "Camera identifier.", pattern=IDENTIFIER_PATTERN),
        _LAT,
        _LON,
        Field(
            "plate_hash",
            FieldType.STRING,
            "SHA-256 of the plate seen; a plain plate never leaves the camera.",
        ),
        Field("snapshot_ref", FieldType.STRING, "Reference of the stored snapshot."),
        Field(
            "direction",
            FieldType.STRING,
            "Direction of travel.",
            allowed=("north", "east", "south", "west"),
        ),
    ),
)

WEATHER_READINGS = Contract(
    source="weather_readings",
    event_type="weather_reading",
    schema_version=1,
    device_field="station_id",
    description="Readings from a district's weather station.",
    own_fields=(
        Field(
            "station_id",
            FieldType.STRING,
            "Weather station identifier.",
            pattern=IDENTIFIER_PATTERN,
        ),
        _LAT,
        _LON,
        Field(
            "temperature_c",
            FieldType.DOUBLE,
            "Air temperature, degrees Celsius.",
            minimum=-90,
            maximum=60,
        ),
        Field(
            "precipitation_mm",
            FieldType.DOUBLE,
            "Precipitation since the last reading, mm.",
            minimum=0,
            maximum=500,
        ),
        Field("wind_speed_kmh", FieldType.DOUBLE, "Wind speed, km/h.", minimum=0, maximum=500),
        Field(
            "wind_direction_deg",
            FieldType.DOUBLE,
            "Wind direction, degrees from north.",
            minimum=0,
            maximum=360,
        ),
        Field(
            "humidity_pct", FieldType.DOUBLE, "Relative humidity, percent.", minimum=0, maximum=100
        ),
        Field("visibility_m", FieldType.DOUBLE, "Visibility, metres.", minimum=0, maximum=100000),
        Field(
            "air_quality_index", FieldType.INT, "Air quality index (0-500).", minimum=0, maximum=500
        ),
    ),
)

EMERGENCY_UPDATES = Contract(
    source="emergency_updates",
    event_type="emergency_update",
    schema_version=1,
    device_field="incident_id",
    description="A change in an emergency incident's lifecycle.",
    own_fields=(
        Field("incident_id", FieldType.STRING, "Incident identifier.", pattern=IDENTIFIER_PATTERN),
        Field(
            "incident_type",
            FieldType.STRING,
            "Kind of incident.",
            allowed=("fire", "medical", "traffic_collision", "crime", "hazmat"),
        ),
        Field(
            "severity", FieldType.INT, "Severity, 1 (minor) to 5 (critical).", minimum=1, maximum=5
        ),
        Field(
            "status",
            FieldType.STRING,
            "Lifecycle status.",
            allowed=("reported", "dispatched", "on_scene", "resolved"),
            staged_as="incident_status",
        ),
        _LAT,
        _LON,
        # Staged as a count and a list (assigned_units_count, assigned_units).
        Field("units", FieldType.STRING_ARRAY, "Response units assigned so far.", staged_as=None),
    ),
)

CONTRACTS: tuple[Contract, ...] = (
    VEHICLE_TELEMETRY,
    GPS_FIXES,
    CAMERA_SIGHTINGS,
    WEATHER_READINGS,
    EMERGENCY_UPDATES,
)
CONTRACTS_BY_SOURCE: dict[str, Contract] = {c.source: c for c in CONTRACTS}
CONTRACTS_BY_EVENT_TYPE: dict[str, Contract] = {c.event_type: c for c in CONTRACTS}


def _check_value(field: Field, value: Any) -> None:
    kind = field.type
    ok: bool
    if kind is FieldType.STRING:
        ok = isinstance(value, str)
    elif kind in (FieldType.INT, FieldType.LONG):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is FieldType.DOUBLE:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
    elif kind is FieldType.TIMESTAMP:
        ok = isinstance(value, datetime) and value.tzinfo is not None
    elif kind is FieldType.STRING_ARRAY:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        raise ContractViolation(f"{field.name}: {kind.value} is not an event field type")
    if not ok:
        raise ContractViolation(f"{field.name}: expected {kind.value}, got {value!r}")
    if field.pattern and not re.fullmatch(field.pattern, value):
        raise ContractViolation(f"{field.name}: {value!r} is not a well-formed identifier")
    if field.allowed and value not in field.allowed:
        raise ContractViolation(f"{field.name}: {value!r} is not one of {field.allowed}")
    if field.minimum is not None and value < field.minimum:
        raise ContractViolation(f"{field.name}: {value!r} is below {field.minimum}")
    if field.maximum is not None and value > field.maximum:
        raise ContractViolation(f"{field.name}: {value!r} is above {field.maximum}")


def validate(contract: Contract, event: dict[str, Any]) -> None:
    """Raise :class:`ContractViolation` unless ``event`` matches ``contract`` exactly:
    the fields of the version it names, each as that version says."""
    version = event.get("schema_version")
    if version not in contract.versions:
        raise ContractViolation(
            f"{contract.source}: schema_version {version!r} should be one of "
            f"{list(contract.versions)}"
        )
    fields = contract.fields_of_version(version)
    extra = sorted(set(event) - {f.name for f in fields})
    if extra:
        raise ContractViolation(f"{contract.source}: unknown fields {extra} in version {version}")
    for field in fields:
        value = event.get(field.name)
        if value is None:
            if field.required:
                raise ContractViolation(f"{contract.source}: missing {field.name}")
            continue
        _check_value(field, value)
    if event["event_type"] != contract.event_type:
        raise ContractViolation(
            f"{contract.source}: event_type {event['event_type']!r} "
            f"should be {contract.event_type!r}"
        )
