"""Contract checks on Kafka records: each record is valid, or has one reason code.

The payload is parsed once as a VARIANT, which keeps each JSON value's own type, so a
number sent where a string belongs is caught instead of being turned into text. Reason
codes are stable strings that dead-letter readers can group on; the message carries the
detail. The first failing check in ``REASON_CODES`` order wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

from ingestion.contracts import CONTRACTS, Contract, Field, FieldType
from streaming.schemas import LANDED_TYPES

TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]'Z'"

REASON_CODES = (
    "empty_payload",
    "payload_too_large",
    "not_json",
    "not_an_object",
    "null_key",
    "unknown_event_type",
    "wrong_topic",
    "unknown_schema_version",
    "missing_required_field",
    "wrong_type",
    "bad_timestamp",
    "value_not_allowed",
    "out_of_range",
    "event_time_out_of_range",
)

# JSON value types (as schema_of_variant names them) that each field type accepts.
_ACCEPTED_JSON_TYPES: dict[FieldType, tuple[str, ...]] = {
    FieldType.STRING: ("STRING",),
    FieldType.INT: ("BIGINT",),
    FieldType.LONG: ("BIGINT",),
    FieldType.DOUBLE: ("BIGINT", "DOUBLE", "DECIMAL"),
    FieldType.TIMESTAMP: ("STRING",),
    FieldType.STRING_ARRAY: ("ARRAY<STRING>", "ARRAY<VOID>"),
}


@dataclass(frozen=True)
class ValidationLimits:
    max_payload_bytes: int = 64 * 1024
    # Event times further from the landing time than this are absurd, not late.
    max_event_age_days: int = 366
    max_event_lead_hours: int = 24


def parse_timestamp(column: Column) -> Column:
    # try_to_timestamp gives null instead of failing the batch on a malformed value.
    return F.try_to_timestamp(column, F.lit(TIMESTAMP_FORMAT)).cast("timestamp_ntz")


def json_type(payload: Column, name: str) -> Column:
    """The JSON type of a top-level field; null when absent, ``VOID`` when null."""
    return F.schema_of_variant(F.try_variant_get(payload, f"$.{name}", "variant"))


def field_value(payload: Column, field: Field) -> Column:
    """The field as its contract type, or null when it is missing or not convertible."""
    if field.type is FieldType.TIMESTAMP:
        return parse_timestamp(F.try_variant_get(payload, f"$.{field.name}", "string"))
    spark_type = LANDED_TYPES[field.type].simpleString()
    return F.try_variant_get(payload, f"$.{field.name}", spark_type)


def _has_accepted_type(json_kind: Column, field: Field) -> Column:
    accepted = _ACCEPTED_JSON_TYPES[field.type]
    tests = [
        json_kind.startswith(kind) if kind == "DECIMAL" else json_kind == kind for kind in accepted
    ]
    result = tests[0]
    for test in tests[1:]:
        result = result | test
    return result


def _names_where(condition: dict[str, Column]) -> Column:
    """Comma-separated names of the fields whose condition holds; empty when none."""
    return F.concat_ws(", ", *[F.when(test, F.lit(name)) for name, test in condition.items()])


def reason(
    contract: Contract,
    value: Column,
    key: Column,
    payload: Column,
    landed_at: Column,
    limits: ValidationLimits,
) -> tuple[Column, Column]:
    """Return ``(reason_code, reason_message)`` columns; both null for a valid record.

    ``value`` and ``key`` are Kafka's bytes, ``payload`` the value parsed as a VARIANT.
    """
    present = {f.name: json_type(payload, f.name) for f in contract.fields}
    absent = {name: kind.isNull() | (kind == "VOID") for name, kind in present.items()}
    missing = _names_where({f.name: absent[f.name] for f in contract.fields if f.required})
    wrong_type = _names_where(
        {f.name: ~absent[f.name] & ~_has_accepted_type(present[f.name], f) for f in contract.fields}
    )
    timestamps = [f for f in contract.fields if f.type is FieldType.TIMESTAMP]
    bad_timestamps = _names_where(
        {f.name: ~absent[f.name] & field_value(payload, f).isNull() for f in timestamps}
    )
    not_allowed = _names_where(
        {
            f.name: ~absent[f.name] & ~field_value(payload, f).isin(*f.allowed)
            for f in contract.fields
            if f.allowed
        }
    )
    out_of_range = _names_where(
        {
            f.name: ~absent[f.name]
            & (
                (field_value(payload, f) < F.lit(f.minimum if f.minimum is not None else -1e308))
                | (field_value(payload, f) > F.lit(f.maximum if f.maximum is not None else 1e308))
            )
            for f in contract.fields
            if f.minimum is not None or f.maximum is not None
        }
    )
    event_at = field_value(payload, next(f for f in contract.fields if f.name == "event_at"))
    too_old = event_at < landed_at - F.expr(f"INTERVAL {limits.max_event_age_days} DAYS")
    too_new = event_at > landed_at + F.expr(f"INTERVAL {limits.max_event_lead_hours} HOURS")
    event_type = F.try_variant_get(payload, "$.event_type", "string")
    schema_version = F.try_variant_get(payload, "$.schema_version", "string")
    known_types = [c.event_type for c in CONTRACTS]
    top_level = F.schema_of_variant(payload)

    checks: list[tuple[Column, str, Column]] = [
        (
            value.isNull() | (F.length(value) == 0),
            "empty_payload",
            F.lit("the record has no value"),
        ),
        (
            F.length(value) > limits.max_payload_bytes,
            "payload_too_large",
            F.concat(
                F.lit("the value has "),
                F.length(value).cast("string"),
                F.lit(f" bytes, more than the {limits.max_payload_bytes} allowed"),
            ),
        ),
        (payload.isNull(), "not_json", F.lit("the value is not valid JSON")),
        (
            ~top_level.startswith("OBJECT"),
            "not_an_object",
            F.concat(F.lit("the value is JSON of the wrong shape: "), top_level),
        ),
        (key.isNull(), "null_key", F.lit("the record has no key (the device id)")),
        (
            event_type.isNotNull() & ~event_type.isin(*known_types),
            "unknown_event_type",
            F.concat(F.lit("unknown event_type "), event_type),
        ),
        (
            event_type.isNotNull() & (event_type != F.lit(contract.event_type)),
            "wrong_topic",
            F.concat(
                F.lit("a "),
                event_type,
                F.lit(f" event on the topic of {contract.event_type} events"),
            ),
        ),
        (
            schema_version.isNotNull() & (schema_version != F.lit(str(contract.schema_version))),
            "unknown_schema_version",
            F.concat(
                F.lit(f"schema_version {contract.schema_version} expected, got "), schema_version
            ),
        ),
        (missing != "", "missing_required_field", F.concat(F.lit("missing: "), missing)),
        (wrong_type != "", "wrong_type", F.concat(F.lit("of the wrong JSON type: "), wrong_type)),
        (
            bad_timestamps != "",
            "bad_timestamp",
            F.concat(F.lit("not an ISO 8601 UTC timestamp: "), bad_timestamps),
        ),
        (
            not_allowed != "",
            "value_not_allowed",
            F.concat(F.lit("value not allowed by the contract: "), not_allowed),
        ),
        (out_of_range != "", "out_of_range", F.concat(F.lit("out of range: "), out_of_range)),
        (
            too_old | too_new,
            "event_time_out_of_range",
            F.concat(
                F.lit("event_at "),
                event_at.cast("string"),
                F.lit(
                    f" is more than {limits.max_event_age_days} days before or "
                    f"{limits.max_event_lead_hours} hours after its landing"
                ),
            ),
        ),
    ]
    assert [code for _, code, _ in checks] == list(REASON_CODES)
    code = F.lit(None).cast("string")
    message = F.lit(None).cast("string")
    for condition, check_code, check_message in reversed(checks):
        code = F.when(condition, F.lit(check_code)).otherwise(code)
        message = F.when(condition, check_message).otherwise(message)
    return code, message
