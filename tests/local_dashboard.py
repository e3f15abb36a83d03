"""The dashboard started in the background for the tests, and stopped again."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from smartcity.dashboard.server import command, environment
from smartcity.local_stack.local_server import LocalServer
from smartcity.settings import Settings


class DashboardServer(LocalServer):
    """Streamlit serving the dashboard, ready once its health endpoint answers."""

    name = "dashboard"
    title = "The dashboard"
    startup_timeout_s = 60.0
    shutdown_timeout_s = 10.0
    poll_interval_s = 0.1

    def __init__(
        self, state_dir: Path, settings: Settings, port: int, host: str = "127.0.0.1"
    ) -> None:
        super().__init__(state_dir)
        self.settings = settings
        self.port = port
        self.host = host

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        return command(self.port, self.host)

    def popen_options(self) -> dict[str, Any]:
        return {"env": environment(self.settings)}

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
