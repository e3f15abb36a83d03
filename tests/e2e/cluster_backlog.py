"""A backlog with junk in it, produced to Kafka, and what landing it exactly once on a
Spark cluster leaves: shared by the cluster's suites (`smartcity land` pointed at the
cluster, and spark-submit from the deployable set)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
from confluent_kafka import Producer

from foundation.contracts import CONTRACTS
from ingestion.simulators.world import SimulationOptions, simulate
from smartcity import pipeline
from smartcity.settings import Settings
from streaming.metrics import read_batches
from tests.e2e.landed_lake import tampered
from tests.local_spark_cluster import LocalSparkCluster

OPTIONS = SimulationOptions(
    events=3_000,
    seed=23,
    vehicles=15,
    start_at=datetime(2026, 8, 2, 10, 50, tzinfo=UTC),
    # Often enough that every source has events in a short run.
    incidents_per_hour=400.0,
)


@dataclass(frozen=True)
class Backlog:
    # (contract, event) of every valid event produced
    events: list[tuple[Any, dict]]
    # the key of every junk record, with the event_id of those that carry one
    junk: dict[bytes, str | None]


def produce_junk(settings: Settings, events: list) -> dict[bytes, str | None]:
    """Records every source must refuse, each under a key of its own; returns the keys,
    with the event_id of those that carry one."""
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    junk: dict[bytes, str | None] = {}
    for contract in CONTRACTS:
        event = next(e for c, e in events if c is contract)
        records = {
            b"not-json": b"not json at all",
            b"empty": b"",
            b"array": b"[1, 2, 3]",
            b"bad-utf8": b'{"event_id": "\xc3\x28"}',
            b"v9": tampered(contract, event, f"cluster-{contract.source}-v9", schema_version=9),
            b"bad-ts": tampered(
                contract, event, f"cluster-{contract.source}-ts", event_at="yesterday"
            ),
        }
        for name, value in records.items():
            key = f"junk-{contract.source}-".encode() + name
            producer.produce(settings.topic(contract.source), value=value, key=key)
            junk[key] = json.loads(value)["event_id"] if name in (b"v9", b"bad-ts") else None
    assert producer.flush(30) == 0
    return junk


def produce_backlog(settings: Settings) -> Backlog:
    """The topics, the seeded events and the junk, all sent and acknowledged."""
    pipeline.create_topics(settings)
    report = pipeline.produce_simulation(settings, OPTIONS)
    assert report.ok and report.total_acknowledged == OPTIONS.events
    events = list(simulate(OPTIONS))  # the same events: the simulation is seeded
    return Backlog(events, produce_junk(settings, events))


def lake_rows(settings: Settings, query: str) -> list[tuple]:
    return duckdb.execute(query.format(lake=settings.lake_uri)).fetchall()


def assert_landed_exactly_once(settings: Settings, backlog: Backlog) -> None:
    events, junk = backlog.events, backlog.junk
    # Every produced event landed once: the same ids, each once.
    landed = Counter(
        row[0]
        for row in lake_rows(
            settings,
            "select event_id from read_parquet('{lake}/raw/*/*/*/*.parquet', union_by_name = true)",
        )
    )
    assert landed == Counter(e["event_id"] for _, e in events)
    # Every junk record is a dead letter, once, and none of them landed.
    dead = lake_rows(
        settings,
        "select raw_key, raw_value, reason_code, source "
        "from read_parquet('{lake}/dead_letters/*/*/*.parquet', hive_partitioning = true)",
    )
    assert Counter(row[0].encode() for row in dead) == Counter(list(junk))
    dead_ids = Counter(
        json.loads(raw_value)["event_id"]
        for raw_key, raw_value, *_ in dead
        if junk[raw_key.encode()] is not None
    )
    assert dead_ids == Counter(i for i in junk.values() if i is not None)
    assert not set(dead_ids) & set(landed)
    assert {source for *_, source in dead} == {c.source for c in CONTRACTS}
    # The job's own count agrees with the lake.
    batches = read_batches(settings.metrics_dir / "landing.jsonl")
    assert sum(b["landed_rows"] for b in batches) == OPTIONS.events
    assert sum(b["dead_lettered_rows"] for b in batches) == len(junk)


def completed_apps(cluster: LocalSparkCluster) -> set[str]:
    return {app["id"] for app in cluster.state().get("completedapps", [])}


def assert_ran_on_cluster(cluster: LocalSparkCluster, apps_before: set[str]) -> None:
    """One new application, finished, whose tasks ran on both workers' executors, which
    fetched the Kafka connector and the job's own jar from the driver."""
    apps = [
        app
        for app in cluster.state().get("completedapps", [])
        if app["id"] not in apps_before and app["name"] == "smartcity-landing"
    ]
    assert len(apps) == 1, cluster.state()
    app_id = apps[0]["id"]
    for worker in cluster.workers:
        executor_logs = list((worker.work_dir / app_id).glob("*/stderr"))
        assert executor_logs, f"{worker.title} ran no executor for {app_id}"
    logs = "".join(
        path.read_text()
        for worker in cluster.workers
        for path in (worker.work_dir / app_id).glob("*/stderr")
    )
    for jar in ("spark-sql-kafka-0-10_", "smartcity-landing-"):
        assert f"/jars/{jar}" in logs, f"no executor fetched {jar}*.jar"
    assert logs.count("Finished task") > 0
