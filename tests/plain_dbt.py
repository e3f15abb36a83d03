"""dbt at the repository root as an analytics engineer runs it: no wrapper, no ~/.dbt, no
DBT_PROFILES_DIR, none of the project's settings but the data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from smartcity.settings import PROJECT_ROOT

DBT = Path(sys.executable).with_name("dbt")


def plain_environment(home: Path, data_dir: Path) -> dict[str, str]:
    """This environment without dbt's or the project's settings but the data folder, with
    the virtual environment's commands (dbt, sqlfluff) first on the PATH."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DBT_", "SMARTCITY_"))
    }
    env.update(
        HOME=str(home),
        SMARTCITY_DATA_DIR=str(data_dir),
        DO_NOT_TRACK="1",
        PATH=f"{DBT.parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def plain_dbt(
    home: Path,
    data_dir: Path,
    *arguments: str,
    cwd: Path = PROJECT_ROOT,
    extra_environment: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DBT), "--no-use-colors", *arguments],
        cwd=cwd,
        env={**plain_environment(home, data_dir), **(extra_environment or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
