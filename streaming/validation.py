"""Contract checks on Kafka records: each record is valid, or has one reason code.

The payload is parsed once as a VARIANT, which keeps each JSON value's own type, so a
number sent where a string belongs is caught instead of being turned into text. Reason
codes are stable strings that dead-letter readers can group on; the message carries the
detail. The first failing check in ``REASON_CODES`` order wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ingestion.contracts import CONTRACTS, Contract, Field, FieldType
from ingestion.schema import REASON_CODES
from streaming.schemas import spark_type

TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]'Z'"

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
    return F.try_variant_get(payload, f"$.{field.name}", spark_type(field.type).simpleString())


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


def _type_column(name: str) -> str:
    return f"_json_type_{name}"


def _value_column(name: str) -> str:
    return f"_value_{name}"


class Verdict:
    """Adds ``fields`` (the contract's fields, typed), ``reason_code`` and
    ``reason_message`` (both null for a valid record) to parsed Kafka records.

    The records have Kafka's ``value`` and ``key`` bytes, ``payload`` (the value parsed
    as a VARIANT) and ``kafka_published_at``, against which event times are judged.
    The work is split into steps, each computing every value once: one expression with
    all checks inlined is too large for Spark to compile, and slow to interpret. The
    expressions are built once, here, and applied to every micro-batch: building them
    costs about a second of calls into the JVM.
    """

    def __init__(self, contract: Contract, limits: ValidationLimits) -> None:
        self.steps = _verdict_steps(contract, limits)
        self.helpers_prefix = "_"

    def apply(self, records: DataFrame) -> DataFrame:
        frame = records
        for step in self.steps:
            frame = frame.select("*", *step)
        helpers = [c for c in frame.columns if c.startswith(self.helpers_prefix)]
        return frame.drop(*helpers)


def _verdict_steps(contract: Contract, limits: ValidationLimits) -> list[list[Column]]:
    payload = F.col("payload")
    # Step 1: each field's JSON type and typed value, and the record's own shape.
    step1 = [
        F.schema_of_variant(payload).alias("_top_level"),
        F.try_variant_get(payload, "$.event_type", "string").alias("_event_type"),
        F.try_variant_get(payload, "$.schema_version", "string").alias("_schema_version"),
        *[json_type(payload, f.name).alias(_type_column(f.name)) for f in contract.fields],
        *[field_value(payload, f).alias(_value_column(f.name)) for f in contract.fields],
    ]

    def kind(f: Field) -> Column:
        return F.col(_type_column(f.name))

    def value(f: Field) -> Column:
        return F.col(_value_column(f.name))

    def absent(f: Field) -> Column:
        return kind(f).isNull() | (kind(f) == "VOID")

    fields = contract.fields
    missing = _names_where({f.name: absent(f) for f in fields if f.required})
    wrong_type = _names_where(
        {
            # Either the JSON type is wrong, or it cannot hold the value (3000000000 for
            # an int field): both would otherwise land as a silent null.
            f.name: ~absent(f)
            & (
                ~_has_accepted_type(kind(f), f)
                | (value(f).isNull() & F.lit(f.type is not FieldType.TIMESTAMP))
            )
            for f in fields
        }
    )
    bad_timestamps = _names_where(
        {f.name: ~absent(f) & value(f).isNull() for f in fields if f.type is FieldType.TIMESTAMP}
    )
    malformed = _names_where(
        {
            # \A and \z: Java's $ would also match before a trailing line break.
            f.name: ~absent(f) & ~value(f).rlike(f"\\A(?:{f.pattern})\\z")
            for f in fields
            if f.pattern
        }
    )
    not_allowed = _names_where(
        {f.name: ~absent(f) & ~value(f).isin(*f.allowed) for f in fields if f.allowed}
    )
    out_of_range = _names_where(
        {
            f.name: ~absent(f)
            & (
                (value(f) < F.lit(f.minimum if f.minimum is not None else -1e308))
                | (value(f) > F.lit(f.maximum if f.maximum is not None else 1e308))
            )
            for f in fields
            if f.minimum is not None or f.maximum is not None
        }
    )
    event_at = F.col(_value_column("event_at"))
    received_at = F.col("kafka_published_at")
    value_bytes, event_type = F.length("value"), F.col("_event_type")
    schema_version, top_level = F.col("_schema_version"), F.col("_top_level")
    known_types = [c.event_type for c in CONTRACTS]

    # Step 2: which check fails, as (condition, message) per reason code.
    checks: dict[str, tuple[Column, Column]] = {
        "empty_payload": (
            F.col("value").isNull() | (value_bytes == 0),
            F.lit("the record has no value"),
        ),
        "payload_too_large": (
            value_bytes > limits.max_payload_bytes,
            F.concat(
                F.lit("the value has "),
                value_bytes.cast("string"),
                F.lit(f" bytes, more than the {limits.max_payload_bytes} allowed"),
            ),
        ),
        "not_utf8": (
            ~F.is_valid_utf8(F.col("value").cast("string")),
            F.lit("the value is not valid UTF-8 text"),
        ),
        "not_json": (
            payload.isNull(),
            F.lit("the value is not one valid JSON value (with only whitespace around it)"),
        ),
        "not_an_object": (
            ~top_level.startswith("OBJECT"),
            F.concat(F.lit("the value is JSON of the wrong shape: "), top_level),
        ),
        "null_key": (F.col("key").isNull(), F.lit("the record has no key (the device id)")),
        "unknown_event_type": (
            event_type.isNotNull() & ~event_type.isin(*known_types),
            F.concat(F.lit("unknown event_type "), event_type),
        ),
        "wrong_topic": (
            event_type.isNotNull() & (event_type != F.lit(contract.event_type)),
            F.concat(
                F.lit("a "),
                event_type,
                F.lit(f" event on the topic of {contract.event_type} events"),
            ),
        ),
        "unknown_schema_version": (
            schema_version.isNotNull() & (schema_version != F.lit(str(contract.schema_version))),
            F.concat(
                F.lit(f"schema_version {contract.schema_version} expected, got "), schema_version
            ),
        ),
        "missing_required_field": (missing != "", F.concat(F.lit("missing: "), missing)),
        "wrong_type": (
            wrong_type != "",
            F.concat(F.lit("of the wrong JSON type: "), wrong_type),
        ),
        "bad_timestamp": (
            bad_timestamps != "",
            F.concat(F.lit("not an ISO 8601 UTC timestamp: "), bad_timestamps),
        ),
        "malformed_id": (
            malformed != "",
            F.concat(F.lit("not a well-formed identifier: "), malformed),
        ),
        "value_not_allowed": (
            not_allowed != "",
            F.concat(F.lit("value not allowed by the contract: "), not_allowed),
        ),
        "out_of_range": (out_of_range != "", F.concat(F.lit("out of range: "), out_of_range)),
        "event_time_out_of_range": (
            (event_at < received_at - F.expr(f"INTERVAL {limits.max_event_age_days} DAYS"))
            | (event_at > received_at + F.expr(f"INTERVAL {limits.max_event_lead_hours} HOURS")),
            F.concat(
                F.lit("event_at "),
                event_at.cast("string"),
                F.lit(
                    f" is more than {limits.max_event_age_days} days before or "
                    f"{limits.max_event_lead_hours} hours after Kafka received it"
                ),
            ),
        ),
    }
    assert tuple(checks) == REASON_CODES, "checks must follow ingestion.schema.REASON_CODES"
    step2 = [
        F.coalesce(test, F.lit(False)).alias(f"_fails_{code}") for code, (test, _) in checks.items()
    ]
    # Step 3: the first failing check names the reason.
    code = F.coalesce(*[F.when(F.col(f"_fails_{c}"), F.lit(c)) for c in checks])
    message = F.coalesce(*[F.when(F.col(f"_fails_{c}"), m) for c, (_, m) in checks.items()])
    typed = F.struct(*[value(f).alias(f.name) for f in fields])
    step3 = [typed.alias("fields"), code.alias("reason_code"), message.alias("reason_message")]
    return [step1, step2, step3]
