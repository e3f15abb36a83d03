"""pip's resolver run dry: what `pip install` would install, by name and version."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def dry_run(python: Path | str, arguments: list[str], folder: Path) -> dict[str, str]:
    """The packages ``python -m pip install <arguments>`` would install (names lowered,
    ``_`` as ``-``), from pip's own report; fails the test with pip's error otherwise."""
    report = folder / "pip-report.json"
    result = subprocess.run(
        [
            *(str(python), "-m", "pip", "install", "--dry-run", "--ignore-installed"),
            *("--quiet", "--disable-pip-version-check", "--report", str(report), *arguments),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {
        item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
