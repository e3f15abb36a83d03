"""What a build of the deployable set refuses to start from."""

from __future__ import annotations

import subprocess
from pathlib import Path


class DistRefused(RuntimeError):
    """The deployable set cannot be built from this checkout as it is."""


def committed_files(project: Path, *paths: str) -> list[str]:
    """The files git tracks under ``paths`` (all of them without), relative to
    ``project``: what the deployable set is built from."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *paths],
        cwd=project,
        capture_output=True,
        check=True,
    )
    return sorted(name for name in listed.stdout.decode().split("\0") if name)


def require_clean(project: Path) -> str:
    """The commit to build from; raise when ``project`` is not a git checkout or holds
    changes that are not committed (a build must be the commit it names)."""
    try:
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=normal"],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise DistRefused("`smartcity dist` needs git, to build from a commit") from None
    if status.returncode != 0:
        raise DistRefused(
            f"{project} is not a git checkout: `smartcity dist` builds from a commit of the "
            "repository (clone it, or set SMARTCITY_PROJECT_DIR to a clone)"
        )
    changed = status.stdout.splitlines()
    if changed:
        first = changed[0][3:]
        raise DistRefused(
            f"{len(changed)} file(s) differ from the last commit (first: {first}): commit or "
            "stash them, so that dist/ is exactly a commit; nothing was built"
        )
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    )
    return head.stdout.strip()
