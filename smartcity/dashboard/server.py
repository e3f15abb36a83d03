"""Starting the dashboard in the foreground, for a user (the tests start it in the
background: tests/local_dashboard.py).

Streamlit runs as a child process (``python -m streamlit run``) of the same interpreter,
with the settings passed in its environment: the app reads them with
``Settings.from_env()`` like every other part of the project.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from smartcity.settings import Settings

APP = Path(__file__).with_name("app.py")
# The folder holding the `smartcity` package this module belongs to.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


class DashboardDidNotStart(RuntimeError):
    pass


def command(port: int, host: str = "127.0.0.1", headless: bool = True) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true" if headless else "false",
        "--browser.gatherUsageStats",
        "false",
        # A reader's dashboard: no Deploy button or developer menu.
        "--client.toolbarMode",
        "viewer",
    ]


def environment(settings: Settings) -> dict[str, str]:
    """This process's environment, plus what the app needs to find the same database."""
    env = {**os.environ, **settings.environment()}
    # Streamlit puts the app's own folder first on sys.path, not the project's: this
    # makes the child import the very `smartcity` package that started it, even when
    # another checkout of it is installed.
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if part
    )
    return env


def serve(settings: Settings, port: int, host: str = "127.0.0.1", headless: bool = True) -> int:
    """Run the dashboard until it exits (Ctrl-C); its exit status."""
    return subprocess.call(command(port, host, headless), env=environment(settings))


def health_url(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}/_stcore/health"


def is_healthy(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with urllib.request.urlopen(health_url(port, host), timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def wait_until_healthy(
    process: subprocess.Popen[bytes],
    port: int,
    host: str = "127.0.0.1",
    timeout_s: float = START_TIMEOUT_S,
    log: Path | None = None,
) -> None:
    """Poll Streamlit's health endpoint until it answers; raise if the process dies or
    the timeout passes first."""
    deadline = time.monotonic() + timeout_s
    where = f"; see {log}" if log else ""
    while not is_healthy(port, host):
        if process.poll() is not None:
            raise DashboardDidNotStart(
                f"the dashboard exited with status {process.returncode}{where}"
            )
        if time.monotonic() > deadline:
            raise DashboardDidNotStart(
                f"the dashboard did not answer on {health_url(port, host)} "
                f"within {timeout_s:.0f} s{where}"
            )
        time.sleep(0.1)
