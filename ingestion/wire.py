"""The producer's check-and-encode, compiled: one msgspec Struct per contract.

Each Struct is derived field by field from one version of a contract (types, bounds,
enumerations, identifier patterns, the event type and schema version), so checking an event and
writing its JSON is one pass in C instead of a dozen Python checks and ``json.dumps``:
measured, about six times faster per event. The rules stay the contract's; only their
execution moves here. ``contracts.validate`` remains the readable statement of them,
and gives the error message when the compiled check refuses an event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec

from ingestion.contracts import CONTRACTS, Contract, ContractViolation, Field, FieldType, validate

_PYTHON_TYPES: dict[FieldType, Any] = {
    FieldType.STRING: str,
    FieldType.INT: int,
    FieldType.LONG: int,
    FieldType.DOUBLE: float,
    FieldType.TIMESTAMP: datetime,
    FieldType.STRING_ARRAY: list[str],
}


def _annotation(contract: Contract, field: Field, version: int) -> Any:
    if field.name == "event_type":
        return Literal[contract.event_type]  # type: ignore[valid-type]
    if field.name == "schema_version":
        return Literal[version]  # type: ignore[valid-type]
    kind = Literal[field.allowed] if field.allowed else _PYTHON_TYPES[field.type]  # type: ignore[valid-type]
    constraints: dict[str, Any] = {}
    if field.minimum is not None:
        constraints["ge"] = field.minimum
    if field.maximum is not None:
        constraints["le"] = field.maximum
    if field.pattern:
        # msgspec searches; \A and \Z make it match the whole text, as re.fullmatch does.
        constraints["pattern"] = rf"\A(?:{field.pattern})\Z"
    if field.type is FieldType.TIMESTAMP:
        constraints["tz"] = True
    annotated = Annotated[kind, msgspec.Meta(**constraints)] if constraints else kind
    return annotated if field.required else annotated | None


def event_struct(contract: Contract, version: int) -> type[msgspec.Struct]:
    """The Struct of one version of a contract: that version's fields only, so that a
    version 1 record is written without the fields version 2 added."""
    fields = [
        (field.name, _annotation(contract, field, version))
        if field.required
        else (field.name, _annotation(contract, field, version), None)
        for field in contract.fields_of_version(version)
    ]
    return msgspec.defstruct(
        f"{contract.event_type}_v{version}_event",
        fields,
        forbid_unknown_fields=True,
        omit_defaults=False,
    )


STRUCTS: dict[tuple[str, int], type[msgspec.Struct]] = {
    (c.source, version): event_struct(c, version) for c in CONTRACTS for version in c.versions
}
_TIMESTAMP_FIELDS: dict[str, tuple[str, ...]] = {
    c.source: tuple(f.name for f in c.fields if f.type is FieldType.TIMESTAMP) for c in CONTRACTS
}
_ENCODER = msgspec.json.Encoder()


def encode(contract: Contract, event: dict[str, Any]) -> bytes:
    """The event's JSON if it meets its contract; raises msgspec.ValidationError if not.

    Timestamps are written in UTC (``...Z``, the fraction only when not zero), which is
    what the landing job parses.
    """
    for name in _TIMESTAMP_FIELDS[contract.source]:
        moment = event.get(name)
        if not isinstance(moment, datetime):
            # msgspec would parse text into a datetime; the contract wants a datetime.
            raise msgspec.ValidationError(f"Expected `datetime` - at `$.{name}`")
        if moment.tzinfo is not UTC and moment.utcoffset():
            event = {**event, name: moment.astimezone(UTC)}
    struct = STRUCTS.get((contract.source, event.get("schema_version")))  # type: ignore[arg-type]
    if struct is None:
        raise msgspec.ValidationError(
            f"Expected one of the versions {list(contract.versions)} - at `$.schema_version`"
        )
    return _ENCODER.encode(msgspec.convert(event, struct, strict=True))


def serialize(contract: Contract, event: dict[str, Any]) -> bytes:
    """Check ``event`` against ``contract`` and encode it as the JSON the landing job
    parses; raise :class:`ContractViolation`, saying what is wrong, if it does not fit."""
    try:
        return encode(contract, event)
    except msgspec.ValidationError as error:
        validate(contract, event)  # raises with the contract's own words
        raise ContractViolation(f"{contract.source}: {error}") from error
