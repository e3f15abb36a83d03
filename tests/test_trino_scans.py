"""tests/trino_scans.py reads Trino's query info as the Athena suite relies on it."""

from __future__ import annotations

import pytest

from tests.trino_scans import TableScan, scans_of

INFO = {
    "queryId": "q1",
    "inputs": [
        {
            "catalogName": "awsdatacatalog",
            "schema": "smartcity_raw",
            "table": "gps_fixes",
            "planNodeId": "0",
            "connectorInfo": {"partitionIds": ["event_date=2026-12-05/event_hour=0"]},
        },
        {
            "catalogName": "awsdatacatalog_iceberg",
            "schema": "marts",
            "table": "fct_trips",
            "planNodeId": "7",
            "connectorInfo": {"partitioned": True},
        },
    ],
    "queryStats": {
        "operatorSummaries": [
            # a scan split over two pipelines is summed; other operators are not scans
            {"operatorType": "ScanFilterAndProjectOperator", "planNodeId": "0",
             "physicalInputPositions": 10, "physicalInputDataSize": "1.5kB"},
            {"operatorType": "TableScanOperator", "planNodeId": "0",
             "physicalInputPositions": 5, "physicalInputDataSize": "512B"},
            {"operatorType": "AggregationOperator", "planNodeId": "0",
             "physicalInputPositions": 99, "physicalInputDataSize": "9MB"},
            {"operatorType": "TableScanOperator", "planNodeId": "7",
             "physicalInputPositions": 3, "physicalInputDataSize": "2MB"},
        ]
    },
}  # fmt: skip


def test_each_table_gets_its_partitions_and_what_its_scans_took_in() -> None:
    assert scans_of(INFO) == [
        TableScan(
            "awsdatacatalog", "smartcity_raw", "gps_fixes",
            ("event_date=2026-12-05/event_hour=0",), 15, 1536 + 512,
        ),
        TableScan("awsdatacatalog_iceberg", "marts", "fct_trips", None, 3, 2 << 20),
    ]  # fmt: skip


def test_pruned_statistics_are_an_error_not_zeros() -> None:
    with pytest.raises(ValueError, match="pruned the statistics of query q1"):
        scans_of({**INFO, "pruned": True})


def test_a_scan_fused_with_the_filter_above_it_counts_for_its_table() -> None:
    """An Iceberg table's filter on a plain column stays in the plan: the scan operator
    then reports the filter's node (here 9, over 8, over the scan 7), not the table's."""
    plan = {
        "@type": "output",
        "id": "10",
        "source": {
            "@type": "project",
            "id": "9",
            "source": {
                "@type": "filter",
                "id": "8",
                "source": {"@type": "tableScan", "id": "7"},
            },
        },
    }
    summaries = [
        {"operatorType": "ScanFilterAndProjectOperator", "planNodeId": "9",
         "physicalInputPositions": 4, "physicalInputDataSize": "1kB"},
    ]  # fmt: skip
    info = {
        **INFO,
        "inputs": INFO["inputs"][1:],
        "outputStage": {"plan": {"root": {"@type": "exchange", "id": "11", "sources": []}},
                        "subStages": [{"plan": {"root": plan}, "subStages": []}]},
        "queryStats": {"operatorSummaries": summaries},
    }  # fmt: skip
    assert scans_of(info) == [
        TableScan("awsdatacatalog_iceberg", "marts", "fct_trips", None, 4, 1 << 10)
    ]
