"""A benchmarked job in a Python process of its own, so that its JVM starts cold."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

from smartcity import pipeline
from smartcity.settings import PROJECT_ROOT, Settings


def run_module(settings: Settings, arguments: Sequence[str], job: str) -> str:
    """``python -m <arguments>`` against the settings' broker, topics and folders; its
    standard output. A failure raises with the end of its standard error."""
    finished = subprocess.run(
        [sys.executable, "-m", *arguments],
        cwd=PROJECT_ROOT,
        env=pipeline.command_environment(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"{job} failed:\n{finished.stderr[-2000:]}")
    return finished.stdout
