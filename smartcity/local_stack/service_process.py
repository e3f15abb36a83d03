"""Starting and stopping a local server (the Kafka broker, Trino) one safe way.

The server runs in a session of its own, so Ctrl-C in the terminal reaches us and not
it; then nobody else would stop it either, so a failure to start stops it before the
error goes up, and stopping takes its whole process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any


def launch(
    command: list[str],
    log: Path,
    pid_file: Path,
    wait_until_ready: Callable[[subprocess.Popen[bytes]], None],
    shutdown_timeout_s: float,
    **popen: Any,
) -> subprocess.Popen[bytes]:
    """Start ``command`` with its output appended to ``log`` and its pid in ``pid_file``,
    and wait until it is ready; on any failure (Ctrl-C included) stop it, then raise."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )
    pid_file.write_text(str(process.pid))
    try:
        wait_until_ready(process)
    except BaseException:
        terminate(process, pid_file, shutdown_timeout_s)
        raise
    return process


def terminate(process: subprocess.Popen[bytes], pid_file: Path, timeout_s: float) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL after ``timeout_s``."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    pid_file.unlink(missing_ok=True)
