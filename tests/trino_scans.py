"""What one Trino query read, table by table, from the engine's own statistics.

Trino's query info (``GET /v1/query/<id>``) names each table a query read (``inputs``,
with the connector's account of it: for a Hive table the partitions it kept after
pruning) and, per plan node, what the scan operators took in (``operatorSummaries``).
Joined on the plan node, they say how many partitions, rows and bytes each table cost
one query. The tests use it to show that a statement read only its window.

Trino keeps a finished query's info for a while (``query.min-expire-age``), so it is
read as soon as the query ends.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any

# The operators that read a connector's data.
SCAN_OPERATORS = {"TableScanOperator", "ScanFilterAndProjectOperator"}


@dataclass(frozen=True)
class TableScan:
    """One table read by one query."""

    catalog: str
    schema: str
    table: str
    # Hive: the partitions the query read (after pruning); None where the connector
    # does not say (Iceberg, an unpartitioned table).
    partitions: tuple[str, ...] | None
    rows: int
    bytes: int

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


def query_info(server_url: str, query_id: str, user: str = "smartcity") -> dict[str, Any]:
    request = urllib.request.Request(
        f"{server_url}/v1/query/{query_id}", headers={"X-Trino-User": user}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _size_in_bytes(size: Any) -> int:
    """Trino writes data sizes as text with a unit ("12.5kB", "3B")."""
    if isinstance(size, int | float):
        return int(size)
    text = str(size or "0B").strip()
    units = {"B": 1, "kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * units[unit])
    return int(float(text))


# Plan nodes that one scan operator runs together with the table scan below them.
FUSED_WITH_SCAN = {"filter", "project"}


def _scan_nodes(info: dict[str, Any]) -> dict[str, str]:
    """Each filter or project node that sits on a table scan (through such nodes only),
    mapped to that scan's node. A ScanFilterAndProjectOperator reports the topmost of
    them as its node, while ``inputs`` names the table scan's: an Iceberg table's filter
    on a plain column stays in the plan (a Hive partition filter does not)."""
    fused: dict[str, str] = {}

    def scan_below(node: dict[str, Any]) -> str | None:
        kind = node.get("@type")
        if kind == "tableScan":
            return str(node["id"])
        if kind in FUSED_WITH_SCAN and "source" in node:
            return scan_below(node["source"])
        return None

    def walk(node: dict[str, Any]) -> None:
        scan = scan_below(node)
        if scan is not None and node.get("@type") != "tableScan":
            fused[str(node["id"])] = scan
        children = [node["source"]] if "source" in node else node.get("sources", [])
        for child in children:
            if isinstance(child, dict):
                walk(child)

    stages = [info.get("outputStage")]
    while stages:
        stage = stages.pop()
        if not stage:
            continue
        root = (stage.get("plan") or {}).get("root")
        if root:
            walk(root)
        stages.extend(stage.get("subStages", []))
    return fused


def scans_of(info: dict[str, Any]) -> list[TableScan]:
    """The tables a query read, each with what its scans took in."""
    if info.get("pruned"):  # the statistics are gone: no measure, rather than zeros
        raise ValueError(f"Trino pruned the statistics of query {info.get('queryId')}")
    fused = _scan_nodes(info)
    by_node: dict[str, tuple[int, int]] = {}
    for summary in info.get("queryStats", {}).get("operatorSummaries", []):
        if summary.get("operatorType") not in SCAN_OPERATORS:
            continue
        node = fused.get(str(summary["planNodeId"]), str(summary["planNodeId"]))
        rows, size = by_node.get(node, (0, 0))
        by_node[node] = (
            rows + int(summary.get("physicalInputPositions", 0) or 0),
            size + _size_in_bytes(summary.get("physicalInputDataSize")),
        )
    scans = []
    for read in info.get("inputs", []):
        connector = read.get("connectorInfo") or {}
        partitions = connector.get("partitionIds")
        if partitions is not None and not connector.get("partitioned", True):
            partitions = None
        rows, size = by_node.get(str(read.get("planNodeId")), (0, 0))
        scans.append(
            TableScan(
                catalog=read["catalogName"],
                schema=read["schema"],
                table=read["table"],
                partitions=tuple(partitions) if partitions is not None else None,
                rows=rows,
                bytes=size,
            )
        )
    return scans
