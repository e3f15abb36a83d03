"""A benchmark's results file: every figure with its unit, and the run's conditions."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("pyspark", "confluent-kafka", "duckdb", "dbt-core", "dbt-duckdb")


@dataclass
class Figure:
    value: float | None
    unit: str
    # Whether more is better; None where neither is (a count of files, say).
    higher_is_better: bool | None = None


@dataclass(frozen=True)
class Goal:
    """What a figure should reach: at least ``limit`` when more is better, else at most."""

    limit: float
    at_least: bool
    why: str
    # The run size the goal is set for; a smaller run is not judged against it.
    min_events: int = 0
    # The input rate (events/s) the goal is set for; a run at another is not judged.
    at_rate: float | None = None

    def not_judged(self, conditions: dict[str, Any]) -> str | None:
        """Why a run with these conditions is not judged against the goal, if it is not."""
        events = int(conditions.get("events", 0))
        if events < self.min_events:
            return f"not judged at {events:,} events"
        rate = conditions.get("rate")
        if self.at_rate is not None and rate is not None and float(rate) != self.at_rate:
            return f"not judged at {float(rate):,.0f} events/s"
        return None

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value >= self.limit if self.at_least else value <= self.limit

    def describe(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.limit:,.0f}"


# The project's goals for its figures (issue 10), printed beside each run's value.
GOALS: dict[str, Goal] = {
    "producer.events_per_s": Goal(100_000, True, "acks=all and idempotence, two cores"),
    "landing.vs_peer": Goal(1, True, "the tutorial-shaped job, same run, full validation"),
    "landing.vs_peer_worst_round": Goal(1, True, "every round at or above the peer"),
    "landing.events_per_s_in_triggers": Goal(30_000, True, "stretch, two cores"),
    "freshness.parquet_p95_s": Goal(10, False, "5 s trigger at 2,000 events/s", at_rate=2000),
    "freshness.mart_p95_s": Goal(
        20, False, "dbt on each landing, 5 s trigger, 2,000 events/s", at_rate=2000
    ),
    "dbt.incremental_share_of_full": Goal(
        10, False, "1 % new events, at 10M events", min_events=10_000_000
    ),
}


@dataclass
class Results:
    conditions: dict[str, Any]
    figures: dict[str, Figure] = field(default_factory=dict)

    def add(self, name: str, value: float | None, unit: str, higher: bool | None = None) -> None:
        self.figures[name] = Figure(value, unit, higher)

    def to_json(self) -> str:
        return json.dumps(
            {
                "conditions": self.conditions,
                "figures": {name: vars(figure) for name, figure in self.figures.items()},
            },
            indent=2,
            default=str,
        )

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n")

    @classmethod
    def read(cls, path: Path) -> Results:
        document = json.loads(path.read_text())
        return cls(
            conditions=document["conditions"],
            figures={name: Figure(**figure) for name, figure in document["figures"].items()},
        )


PHASES = (
    "land_valid",
    "dead_letters",
    "iceberg_commit",
    "spark_latestOffset",
    "spark_queryPlanning",
    "spark_walCommit",
    "spark_commitOffsets",
    "spark_triggerExecution",
)


def add_phases(results: Results, prefix: str, batches: list[dict]) -> None:
    """Mean milliseconds per micro-batch of each step, from the landing job's metrics."""
    for phase in PHASES:
        values = [b["phases_ms"][phase] for b in batches if phase in b.get("phases_ms", {})]
        mean = sum(values) / len(values) if values else None
        results.add(f"{prefix}.{phase}_ms", mean, "ms per micro-batch (mean)", False)


def machine_conditions() -> dict[str, Any]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }
