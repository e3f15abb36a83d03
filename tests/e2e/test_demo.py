"""`smartcity demo` itself, as a user runs it, in a scratch data directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingestion.simulators.malformed import MALFORMATIONS, MalformedRecords
from ingestion.simulators.world import SimulationOptions, simulate
from smartcity import pipeline
from smartcity.demo_defaults import DEMO_GPS_EVERY_S, demo_start
from smartcity.local_stack.kafka_broker import free_port_pair, port_is_open
from smartcity.settings import Settings

pytestmark = pytest.mark.e2e

EVENTS = 3_000
# Twenty minutes before midnight: at the demo's GPS interval the run goes on past it.
# On a night the demo's own default would pick, so that the events stay within the
# landing job's bounds (a year old at most) whenever the test runs.
START_AT = demo_start(datetime.now(UTC)) + timedelta(hours=1, minutes=40)
NEXT_DAY = (START_AT + timedelta(days=1)).date()
# More than the default share, so that a small run has every kind of malformed record.
MALFORMED_SHARE = 0.03


def _malformed_sent() -> dict[str, int]:
    """The malformed records the run sends, per reason code: the same seed makes them."""
    malformed = MalformedRecords(MALFORMED_SHARE, SimulationOptions.seed)
    options = SimulationOptions(events=EVENTS, start_at=START_AT, gps_every_s=DEMO_GPS_EVERY_S)
    for _ in malformed.mixed_into(simulate(options)):
        pass
    return dict(malformed.sent)


def test_demo_runs_end_to_end_prints_a_reconciled_summary_and_stops_its_broker(
    tmp_path: Path,
) -> None:
    port = free_port_pair()  # the demo's controller takes the next port
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
            str(EVENTS),
            "--start-at",
            START_AT.isoformat(),
            "--malformed-share",
            str(MALFORMED_SHARE),
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
    # Across midnight: both days' hours are in the lake.
    for hour in (
        f"event_date={START_AT:%Y-%m-%d}/event_hour=23",
        f"event_date={NEXT_DAY}/event_hour=0",
    ):
        assert list((tmp_path / "lake" / "raw" / "gps_fixes").glob(f"{hour}/*.parquet")), hour
    assert f"event time: {START_AT:%Y-%m-%d} 23:40 to {NEXT_DAY} 00:" in output
    assert not port_is_open("127.0.0.1", port), "the demo left its broker running"

    # Every malformed record is dead-lettered with the reason it was made for, and the
    # summary's produced column counts them beside the valid events.
    sent = _malformed_sent()
    assert set(sent) == {m.reason_code for m in MALFORMATIONS}
    assert pipeline.dead_letters_by_reason(Settings.from_env(env)) == sent
    shown = {
        reason: (int(made.replace(",", "")), int(refused.replace(",", "")))
        for reason, made, refused in re.findall(r"^    (\w+) +([\d,]+) +([\d,]+)$", output, re.M)
    }
    assert shown == {reason: (count, count) for reason, count in sent.items()}
    total = re.search(r"^  total +([\d,]+) +([\d,]+) +([\d,]+)", output, re.M)
    assert total is not None
    produced, landed, dead = (int(n.replace(",", "")) for n in total.groups())
    assert (produced, landed, dead) == (EVENTS + sum(sent.values()), EVENTS, sum(sent.values()))
