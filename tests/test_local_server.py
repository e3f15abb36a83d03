"""The one way a local server starts and stops (smartcity/local_stack/local_server.py),
shown on small Python servers: ready only when its check says so, an early exit or a
timeout reported with its log and nothing left running, the whole process group
stopped, SIGKILL for one that ignores the stop signal, the pid file kept while it runs."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from smartcity.local_stack.local_server import LocalServer, ServerError


class PythonServer(LocalServer):
    """``python -c <script>``, ready once the script has written its marker file."""

    name = "toy"
    startup_timeout_s = 30.0
    shutdown_timeout_s = 5.0
    poll_interval_s = 0.05

    def __init__(self, state_dir: Path, script: str) -> None:
        super().__init__(state_dir)
        self.script = script

    @property
    def marker(self) -> Path:
        return self.state_dir / "ready"

    def command(self) -> list[str]:
        return [sys.executable, "-c", self.script, str(self.marker)]

    def is_ready(self) -> bool:
        return self.marker.exists()


SERVE = """
import pathlib, sys, time
print("serving", flush=True)
pathlib.Path(sys.argv[1]).write_text("ok")
while True:
    time.sleep(1)
"""

# A child of its own (a JVM's or a shell's children), then ignore SIGTERM.
STUBBORN_WITH_CHILD = """
import pathlib, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path(sys.argv[1]).write_text(str(child.pid))
while True:
    time.sleep(1)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split(") ")[1][0] != "Z"


def test_ready_then_stopped_with_its_pid_file_and_log(tmp_path: Path) -> None:
    with PythonServer(tmp_path, SERVE) as server:
        assert server.running
        assert server.pid_file.read_text().strip() == str(server.process.pid)  # type: ignore[union-attr]
        pid = server.process.pid  # type: ignore[union-attr]
    assert not server.running
    assert not server.pid_file.exists()
    assert not alive(pid)
    assert "serving" in server.log_file.read_text()


def test_an_early_exit_names_the_code_and_the_log(tmp_path: Path) -> None:
    server = PythonServer(tmp_path, "import sys; print('bad config', flush=True); sys.exit(3)")
    with pytest.raises(ServerError, match=r"toy exited with code 3 while starting; see .*toy\.log"):
        server.start()
    assert "bad config" in server.log_file.read_text()
    assert not server.pid_file.exists()


def test_a_server_never_ready_is_stopped_before_the_error(tmp_path: Path) -> None:
    never_ready = "import time\nwhile True: time.sleep(1)"
    server = PythonServer(tmp_path, never_ready)
    with pytest.raises(ServerError, match="not ready within 0 s"):
        server.start(timeout_s=0.3)
    assert server.process is None
    assert not server.pid_file.exists()


def test_the_whole_group_is_stopped_and_sigkill_follows_a_refusal(tmp_path: Path) -> None:
    server = PythonServer(tmp_path, STUBBORN_WITH_CHILD)
    server.shutdown_timeout_s = 0.5  # type: ignore[misc]
    server.start()
    parent, child = server.process.pid, int(server.marker.read_text())  # type: ignore[union-attr]
    assert alive(parent) and alive(child)
    server.stop()
    assert server.process is None
    # SIGTERM reached the child (same process group) and SIGKILL ended the parent.
    assert not alive(parent)
    assert not alive(child)
    server.stop()  # a second stop is harmless


def test_a_readiness_check_that_raises_stops_the_server(tmp_path: Path) -> None:
    class Refusing(PythonServer):
        def is_ready(self) -> bool:
            if self.marker.exists():
                raise ServerError("wrong version answering")
            return False

    server = Refusing(tmp_path, SERVE)
    with pytest.raises(ServerError, match="wrong version"):
        server.start()
    assert server.process is None and not server.pid_file.exists()


def test_a_server_that_ended_on_its_own_stops_cleanly(tmp_path: Path) -> None:
    server = PythonServer(tmp_path, SERVE).start()
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()
    assert not server.running
    server.stop()
    assert not server.pid_file.exists()
