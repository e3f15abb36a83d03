"""Contract checks on parsed Kafka records: each record is valid or has one reason code.

Reason codes are stable strings that dead-letter readers can group on; the message
carries the detail.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from ingestion.contracts import Contract, FieldType

TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]'Z'"

EMPTY_PAYLOAD = "empty_payload"
NOT_JSON = "not_json"
MISSING_FIELD = "missing_required_field"
WRONG_EVENT_TYPE = "wrong_event_type"
BAD_TIMESTAMP = "bad_timestamp"
UNKNOWN_SCHEMA_VERSION = "unknown_schema_version"
NOT_ALLOWED_VALUE = "value_not_allowed"


def parse_timestamp(column: Column) -> Column:
    # try_to_timestamp gives null instead of failing the batch on a malformed value.
    return F.try_to_timestamp(column, F.lit(TIMESTAMP_FORMAT)).cast("timestamp_ntz")


def _names_where(condition: dict[str, Column]) -> Column:
    """Comma-separated names of the fields whose condition holds; empty when none."""
    return F.concat_ws(", ", *[F.when(test, F.lit(name)) for name, test in condition.items()])


def reason(contract: Contract, raw: Column, parsed: Column) -> tuple[Column, Column]:
    """Return ``(reason_code, reason_message)`` columns; both null for a valid record.

    The first failing check wins, in the order below: a record from another source
    is reported as such, not as a list of the fields it lacks.
    """
    missing = _names_where({f.name: parsed[f.name].isNull() for f in contract.fields if f.required})
    bad_timestamps = _names_where(
        {
            f.name: parsed[f.name].isNotNull() & parse_timestamp(parsed[f.name]).isNull()
            for f in contract.fields
            if f.type is FieldType.TIMESTAMP
        }
    )
    out_of_enumeration = _names_where(
        {
            f.name: parsed[f.name].isNotNull() & ~parsed[f.name].isin(*f.allowed)
            for f in contract.fields
            if f.allowed
        }
    )
    # A payload that is not a JSON object at all parses to null as a whole.
    not_json = F.from_json(raw, "map<string,string>").isNull()
    checks: list[tuple[Column, str, Column]] = [
        (raw.isNull() | (F.length(raw) == 0), EMPTY_PAYLOAD, F.lit("the record has no value")),
        (not_json, NOT_JSON, F.lit("the value is not a JSON object")),
        (
            parsed["event_type"].isNotNull() & (parsed["event_type"] != F.lit(contract.event_type)),
            WRONG_EVENT_TYPE,
            F.concat(
                F.lit(f"expected event_type {contract.event_type!r}, got "), parsed["event_type"]
            ),
        ),
        (
            parsed["schema_version"].isNotNull()
            & (parsed["schema_version"] != F.lit(contract.schema_version)),
            UNKNOWN_SCHEMA_VERSION,
            F.concat(
                F.lit(f"expected schema_version {contract.schema_version}, got "),
                parsed["schema_version"].cast("string"),
            ),
        ),
        (
            missing != "",
            MISSING_FIELD,
            F.concat(F.lit("missing or of the wrong type: "), missing),
        ),
        (
            bad_timestamps != "",
            BAD_TIMESTAMP,
            F.concat(F.lit("not an ISO 8601 UTC timestamp: "), bad_timestamps),
        ),
        (
            out_of_enumeration != "",
            NOT_ALLOWED_VALUE,
            F.concat(F.lit("value not allowed by the contract: "), out_of_enumeration),
        ),
    ]
    code = F.lit(None).cast("string")
    message = F.lit(None).cast("string")
    for condition, check_code, check_message in reversed(checks):
        code = F.when(condition, F.lit(check_code)).otherwise(code)
        message = F.when(condition, check_message).otherwise(message)
    return code, message
