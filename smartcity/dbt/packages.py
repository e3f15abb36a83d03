"""The dbt packages of `packages.yml`: from the package hub, or from an offline mirror.

`dbt deps` installs the versions pinned in `package-lock.yml` from the dbt package hub.
Where the hub cannot be reached (machines without the internet, and this project's CI),
the same versions are unpacked from a mirror folder of the hub's release archives
(``../shared/dbt-packages`` beside the repository, or ``SMARTCITY_DBT_PACKAGES_MIRROR``),
each checked first against the SHA-256 that the mirror's README lists. Either way the
packages land in ``dbt_packages/``, which git ignores: no package code is committed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from smartcity.jars import sha256_of
from smartcity.settings import PROJECT_ROOT

LOCK_FILE = PROJECT_ROOT / "package-lock.yml"
INSTALL_DIR = PROJECT_ROOT / "dbt_packages"
DEFAULT_MIRROR = PROJECT_ROOT.parent / "shared" / "dbt-packages"
# A row of the mirror README's table: | hub name | version | file | sha256 | licence |
MIRROR_ROW = re.compile(
    r"^\|\s*(?P<package>[\w.-]+/[\w.-]+)\s*\|\s*(?P<version>[\w.-]+)\s*\|"
    r"\s*(?P<file>[\w.-]+\.tar\.gz)\s*\|\s*(?P<sha256>[0-9a-f]{64})\s*\|"
)


class PackagesUnavailable(RuntimeError):
    """Neither the hub nor the mirror could provide the locked packages."""


@dataclass(frozen=True)
class LockedPackage:
    package: str  # the hub's name, e.g. dbt-labs/dbt_utils
    version: str
    name: str  # the folder it installs to, e.g. dbt_utils


@dataclass(frozen=True)
class MirrorEntry:
    file: str
    sha256: str


def locked_packages(lock_file: Path = LOCK_FILE) -> list[LockedPackage]:
    document = yaml.safe_load(lock_file.read_text())
    return [
        LockedPackage(str(p["package"]), str(p["version"]), str(p["name"]))
        for p in document.get("packages", [])
    ]


def mirror_entries(mirror: Path) -> dict[tuple[str, str], MirrorEntry]:
    """The archives the mirror's README lists, by (hub name, version)."""
    readme = mirror / "README.md"
    if not readme.is_file():
        raise PackagesUnavailable(f"{mirror} has no README.md listing its archives")
    entries = {}
    for line in readme.read_text().splitlines():
        match = MIRROR_ROW.match(line.strip())
        if match:
            key = (match["package"], match["version"])
            entries[key] = MirrorEntry(match["file"], match["sha256"])
    return entries


def install_from_mirror(
    packages: list[LockedPackage], mirror: Path, install_dir: Path = INSTALL_DIR
) -> None:
    """Unpack each locked package from the mirror, after checking its SHA-256."""
    entries = mirror_entries(mirror)
    unpacked: list[tuple[LockedPackage, Path]] = []
    with tempfile.TemporaryDirectory(prefix="dbt-packages-") as scratch:
        for package in packages:
            entry = entries.get((package.package, package.version))
            if entry is None:
                raise PackagesUnavailable(
                    f"the mirror {mirror} does not list {package.package} {package.version}"
                )
            archive = mirror / entry.file
            if not archive.is_file():
                raise PackagesUnavailable(f"{archive} is listed but missing")
            actual = sha256_of(archive)
            if actual != entry.sha256:
                raise PackagesUnavailable(
                    f"{archive} has SHA-256 {actual}, not the {entry.sha256} its README "
                    "lists: refusing to install it"
                )
            target = Path(scratch) / package.name
            with tarfile.open(archive) as bundle:
                bundle.extractall(scratch, filter="data")
            if not (target / "dbt_project.yml").is_file():
                raise PackagesUnavailable(f"{archive} does not unpack to {package.name}/")
            unpacked.append((package, target))
        # Moved in only when every archive checked out: never half a set of packages.
        shutil.rmtree(install_dir, ignore_errors=True)
        install_dir.mkdir(parents=True)
        for package, folder in unpacked:
            shutil.move(str(folder), install_dir / package.name)


def install_from_hub(profiles_dir: Path) -> subprocess.CompletedProcess[str]:
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run(
        [str(dbt), "deps", "--profiles-dir", str(profiles_dir)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def _dbt_error(output: str) -> str:
    """The line after dbt's "Encountered an error:", which says what went wrong."""
    lines = [line.strip() for line in output.splitlines()]
    for index, line in enumerate(lines[:-1]):
        if line.endswith("Encountered an error:"):
            return lines[index + 1][:300]
    return lines[-1][:300] if lines else "no output"


def install_packages(mirror: Path | None = None) -> str:
    """Install the locked packages; return how, for the set-up to say."""
    hub = install_from_hub(PROJECT_ROOT)
    if hub.returncode == 0:
        return "installed the dbt packages from the dbt package hub (`dbt deps`)"
    mirror = mirror or Path(os.environ.get("SMARTCITY_DBT_PACKAGES_MIRROR", DEFAULT_MIRROR))
    packages = locked_packages()
    try:
        install_from_mirror(packages, mirror)
    except (PackagesUnavailable, OSError, tarfile.TarError) as error:
        raise PackagesUnavailable(
            f"`dbt deps` failed ({_dbt_error(hub.stdout)}), and the offline "
            f"mirror did not serve: {error}. Connect to the internet, or point "
            "SMARTCITY_DBT_PACKAGES_MIRROR at a folder of the hub's archives with a README "
            "listing their SHA-256."
        ) from error
    names = ", ".join(f"{p.package} {p.version}" for p in packages)
    return (
        f"`dbt deps` failed ({_dbt_error(hub.stdout)}): installed {names} from the offline "
        f"mirror {mirror} instead, SHA-256 checked"
    )
