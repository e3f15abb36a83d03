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
from pathlib import Path

from smartcity.settings import Settings

APP = Path(__file__).with_name("app.py")
# The folder holding the `smartcity` package this module belongs to.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


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
