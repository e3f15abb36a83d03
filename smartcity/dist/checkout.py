"""What a build of the deployable set refuses to start from."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path


class DistRefused(RuntimeError):
    """The deployable set cannot be built from this checkout as it is."""


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
        reason = " ".join(status.stderr.split()) or "git status failed"
        raise DistRefused(
            f"{project} cannot be read as a git checkout ({reason}): `smartcity dist` builds "
            "from a commit of the repository (clone it, or set SMARTCITY_PROJECT_DIR to one)"
        )
    changed = status.stdout.splitlines()
    if changed:
        first = changed[0][3:]
        raise DistRefused(
            f"{len(changed)} file(s) differ from the last commit (first: {first}): commit or "
            "stash them, so that dist/ is exactly a commit; nothing was built"
        )
    head = subprocess.run(
        ["git", "rev-parse", "--verify", "HEAD"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if head.returncode != 0:
        raise DistRefused(f"{project} has no commit yet: commit first; nothing was built")
    return head.stdout.strip()


def export_commit(project: Path, commit: str, folder: Path) -> Path:
    """The tree of ``commit``, written into ``folder``: what the wheel, the landing job's
    jar and the dbt project are built from, so that nothing ignored or left over in the
    checkout (an old build/ folder, a stray file) reaches them."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=project, capture_output=True, check=True
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder
