"""The dashboard started in the background for the tests, and stopped again."""

from __future__ import annotations

import subprocess
from pathlib import Path

from smartcity.dashboard.server import (
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    command,
    environment,
    wait_until_healthy,
)
from smartcity.local_stack import service_process
from smartcity.settings import Settings


def start_in_background(
    settings: Settings,
    port: int,
    log: Path,
    pid_file: Path,
    host: str = "127.0.0.1",
    timeout_s: float = START_TIMEOUT_S,
) -> subprocess.Popen[bytes]:
    """Start the dashboard in a session of its own and return once it serves; on any
    failure it is stopped again before the error goes up."""
    return service_process.launch(
        command(port, host),
        log,
        pid_file,
        lambda process: wait_until_healthy(process, port, host, timeout_s, log),
        STOP_TIMEOUT_S,
        env=environment(settings),
    )


def stop(process: subprocess.Popen[bytes], pid_file: Path) -> None:
    service_process.terminate(process, pid_file, STOP_TIMEOUT_S)
