"""Contract checks on Kafka records: each record is valid, or has one reason code.

The checks run in one JVM function per source (``streaming/jvm``, class
``smartcity.landing.ContractVerdict``) that reads each payload once with a strict
streaming JSON parser: no second parse per field, no Python worker. The function holds
no rule of its own: it is created with a spec written here from the contract
(:func:`contract_spec`), so ``foundation/contracts.py`` stays the single source of every
rule. Reason codes are stable strings that dead-letter readers can group on; the
message carries the detail. The first failing check in ``REASON_CODES`` order wins.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from foundation.contracts import CONTRACTS, Contract
from foundation.lake_tables import REASON_CODES
from streaming.schemas import landed_schema

VERDICT_CLASS = "smartcity.landing.ContractVerdict"


@dataclass(frozen=True)
class ValidationLimits:
    max_payload_bytes: int = 64 * 1024
    # Event times further from the landing time than this are absurd, not late.
    max_event_age_days: int = 366
    max_event_lead_hours: int = 24


def contract_spec(contract: Contract, limits: ValidationLimits) -> str:
    """The contract's rules as the JVM function reads them."""
    return json.dumps(
        {
            "source": contract.source,
            "event_type": contract.event_type,
            "versions": list(contract.versions),
            "known_event_types": [c.event_type for c in CONTRACTS],
            "reason_codes": list(REASON_CODES),
            "fields": [
                {
                    "name": f.name,
                    "type": f.type.value,
                    "required": f.required,
                    "allowed": list(f.allowed),
                    "minimum": f.minimum,
                    "maximum": f.maximum,
                    "pattern": f.pattern,
                    "since_version": f.since_version,
                }
                for f in contract.fields
            ],
            "limits": asdict(limits),
        }
    )


def verdict_type(contract: Contract) -> T.StructType:
    """What the function returns: the reason (null when valid) and the typed fields."""
    return T.StructType(
        [
            T.StructField("reason_code", T.StringType()),
            T.StructField("reason_message", T.StringType()),
            T.StructField("fields", landed_schema(contract)),
        ]
    )


def function_name(contract: Contract) -> str:
    return f"smartcity_verdict_{contract.source}"


class Verdict:
    """The verdict function of one source, registered in a session.

    ``column(value, key, published_at)`` gives a struct of ``reason_code``,
    ``reason_message`` (both null for a valid record) and ``fields`` (the contract's
    fields, typed; null for a refused record).
    """

    def __init__(self, spark: SparkSession, contract: Contract, limits: ValidationLimits) -> None:
        self.contract = contract
        self.name = function_name(contract)
        jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
        assert jvm is not None
        self._function = getattr(jvm, VERDICT_CLASS).register(
            spark._jsparkSession,  # type: ignore[attr-defined]
            self.name,
            contract_spec(contract, limits),
            verdict_type(contract).json(),
        )

    @property
    def java_function(self) -> object:
        """The JVM object behind the function, for JVM code that judges records itself."""
        return self._function

    def reset_counts(self) -> None:
        self._function.resetCounts()

    def counts(self) -> tuple[int, int]:
        """Records judged and refused since the last :meth:`reset_counts`: counted by the
        function as it runs, so any query that calls it counts (once per record and
        successful task)."""
        judged, refused = self._function.counts()
        return int(judged), int(refused)

    def column(self, value: Column, key: Column, published_at: Column) -> Column:
        return F.call_function(self.name, value, key, F.unix_micros(published_at))
