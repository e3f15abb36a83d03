"""A benchmarked job in a Python process of its own, so that its JVM starts cold."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

from smartcity import pipeline
from smartcity.settings import PROJECT_ROOT, Settings

# Far above any run's landing (10M events take a few minutes): only a job that hangs
# ends here.
TIMEOUT_S = 3600.0


def run_module(
    settings: Settings, arguments: Sequence[str], job: str, timeout_s: float = TIMEOUT_S
) -> str:
    """``python -m <arguments>`` against the settings' broker, topics and folders; its
    standard output. A failure raises with the end of its standard error."""
    try:
        finished = subprocess.run(
            [sys.executable, "-m", *arguments],
            cwd=PROJECT_ROOT,
            env=pipeline.child_environment(settings),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"{job} did not finish within {timeout_s:.0f} s") from error
    if finished.returncode != 0:
        raise RuntimeError(f"{job} failed:\n{finished.stderr[-2000:]}")
    return finished.stdout
