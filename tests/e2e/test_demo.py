"""`smartcity demo` itself, as a user runs it, in a scratch data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartcity import pipeline
from smartcity.kafka_broker import free_port, port_is_open

pytestmark = pytest.mark.e2e


def test_demo_runs_end_to_end_prints_a_reconciled_summary_and_stops_its_broker(
    tmp_path: Path,
) -> None:
    port = free_port()
    while port_is_open("127.0.0.1", port + 1):  # the demo's controller takes the next port
        port = free_port()
    env = {
        **os.environ,
        "SMARTCITY_DATA_DIR": str(tmp_path),
        "SMARTCITY_KAFKA_PORT": str(port),
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("SMARTCITY_LAKE_URI", None)
    env.pop("SMARTCITY_DUCKDB_PATH", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartcity",
            "demo",
            "--events",
            "3000",
            "--start-at",
            "2026-02-02T09:30:00Z",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, output[-3000:] + result.stderr[-3000:]
    for step in range(1, 7):
        assert f"[{step}/6]" in output
    assert "reconciliation: produced = landed + dead-lettered holds" in output
    for mart in pipeline.MARTS:
        assert f"mart {mart}:" in output
    assert (tmp_path / "smartcity.duckdb").exists()
    assert list(
        (tmp_path / "lake" / "raw" / "gps_fixes").glob(
            "event_date=2026-02-02/event_hour=9/*.parquet"
        )
    )
    assert not port_is_open("127.0.0.1", port), "the demo left its broker running"
