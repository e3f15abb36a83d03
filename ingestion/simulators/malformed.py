"""Malformed records among the simulated events, as real devices also send them.

A small share of records break their contract in the ways field devices and gateways
do: a message cut short, a firmware that writes a number as text or its clock in local
notation, a clock reset to 1970, a sensor reading out of its range, a message type no
contract describes. Each is made from a valid event just simulated (its source, topic
and key, so it travels beside the valid events of the same device) under an event id
of its own, and each kind is one that the landing job refuses with its own reason code
(:data:`foundation.lake_tables.REASON_CODES`), so the dead letters show several.

The choices come from a generator of their own, seeded from the simulation's seed: the
valid events are the same with or without malformed records, and the same seed gives
the same malformed records.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from foundation.contracts import Contract, Field, FieldType
from ingestion.producer import RawRecord
from ingestion.simulators.ids import event_id
from ingestion.wire import serialize

Document = dict[str, Any]


def _own_fields(contract: Contract, document: Document) -> list[Field]:
    """The contract's own fields (not the common ones) of the event's version."""
    common = {"event_id", "event_type", "schema_version", "source_id", "event_at"}
    version = document["schema_version"]
    return [f for f in contract.fields_of_version(version) if f.name not in common]


def _cut_short(contract: Contract, document: Document) -> bytes:
    # The tail lost in transit: everything from the last field on.
    whole = json.dumps(document).encode()
    return whole[: whole.rindex(b",")]


def _as_list(contract: Contract, document: Document) -> bytes:
    # A gateway that sends the values without their names.
    return json.dumps(list(document.values())).encode()


def _without_device(contract: Contract, document: Document) -> bytes:
    del document[contract.device_field]
    return json.dumps(document).encode()


def _number_as_text(contract: Contract, document: Document) -> bytes:
    field = next(f for f in _own_fields(contract, document) if f.type is FieldType.DOUBLE)
    document[field.name] = str(document[field.name])
    return json.dumps(document).encode()


def _beyond_range(contract: Contract, document: Document) -> bytes:
    field = next(
        f
        for f in _own_fields(contract, document)
        if f.minimum is not None and f.maximum is not None
    )
    beyond = field.maximum + (field.maximum - field.minimum)  # type: ignore[operator]
    document[field.name] = int(beyond) if field.type is FieldType.INT else float(beyond)
    return json.dumps(document).encode()


def _unknown_type(contract: Contract, document: Document) -> bytes:
    # A status ping no contract describes, sent on the device's usual topic.
    document["event_type"] = "device_heartbeat"
    return json.dumps(document).encode()


def _local_notation(contract: Contract, document: Document) -> bytes:
    # The right moment, written without the ISO 8601 'T' and the 'Z' of UTC.
    moment = datetime.fromisoformat(document["event_at"].replace("Z", "+00:00"))
    document["event_at"] = moment.strftime("%Y-%m-%d %H:%M:%S")
    return json.dumps(document).encode()


def _clock_reset(contract: Contract, document: Document) -> bytes:
    # A clock whose battery ran out restarts at the Unix epoch.
    moment = datetime.fromisoformat(document["event_at"].replace("Z", "+00:00"))
    reset = datetime(1970, 1, 1, moment.hour, moment.minute, moment.second, tzinfo=UTC)
    document["event_at"] = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(document).encode()


@dataclass(frozen=True)
class Malformation:
    """One way to break a valid event, and the reason the landing job gives for it."""

    name: str
    reason_code: str
    damage: Callable[[Contract, Document], bytes]


MALFORMATIONS: tuple[Malformation, ...] = (
    Malformation("cut short", "not_json", _cut_short),
    Malformation("values without names", "not_an_object", _as_list),
    Malformation("no device id", "missing_required_field", _without_device),
    Malformation("a number as text", "wrong_type", _number_as_text),
    Malformation("a reading beyond its range", "out_of_range", _beyond_range),
    Malformation("a message type without a contract", "unknown_event_type", _unknown_type),
    Malformation("a time in local notation", "bad_timestamp", _local_notation),
    Malformation("a clock reset to 1970", "event_time_out_of_range", _clock_reset),
)


def malformed_record(
    contract: Contract, event: dict[str, Any], malformation: Malformation, rng: random.Random
) -> RawRecord:
    """``event`` broken as ``malformation`` says, under a new event id, keyed as the
    producer keys the valid event (by its device)."""
    document: Document = json.loads(serialize(contract, event))
    document["event_id"] = event_id(rng)
    return RawRecord(malformation.damage(contract, document), str(event["source_id"]).encode())


Record = tuple[Contract, dict[str, Any] | RawRecord]


class MalformedRecords:
    """Passes the valid events through and, after each with probability ``share``, adds
    a malformed record of the same source; counts what it added per reason code."""

    def __init__(self, share: float, seed: int) -> None:
        if not 0 <= share < 1:
            raise ValueError(
                f"the share of malformed records must be from 0 to below 1, not {share}"
            )
        self.share = share
        self.rng = random.Random(f"malformed records, seed {seed}")
        self.sent: Counter[str] = Counter()

    def mixed_into(self, events: Iterable[tuple[Contract, dict[str, Any]]]) -> Iterator[Record]:
        share, draw = self.share, self.rng.random
        for contract, event in events:
            yield contract, event
            if share and draw() < share:
                malformation = self.rng.choice(MALFORMATIONS)
                self.sent[malformation.reason_code] += 1
                yield contract, malformed_record(contract, event, malformation, self.rng)
