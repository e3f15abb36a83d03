"""The dbt packages: pinned in package-lock.yml, installed from the offline mirror when the
package hub is out of reach, never without their listed SHA-256."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest
import yaml

from smartcity.dbt.packages import (
    DEFAULT_MIRROR,
    LOCK_FILE,
    LockedPackage,
    PackagesUnavailable,
    install_from_mirror,
    locked_packages,
    mirror_entries,
)
from smartcity.settings import PROJECT_ROOT

PACKAGE = LockedPackage("acme/tiny_utils", "0.1.0", "tiny_utils")


def mirror_with(tmp_path: Path, listed_sha256: str | None = None) -> Path:
    """A mirror holding one archive of a one-file package, listed in its README."""
    source = tmp_path / "src" / PACKAGE.name
    source.mkdir(parents=True)
    (source / "dbt_project.yml").write_text(f"name: {PACKAGE.name}\nversion: '1.0'\n")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = mirror / "tiny_utils-0.1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as bundle:
        bundle.add(source, arcname=PACKAGE.name)
    sha256 = listed_sha256 or hashlib.sha256(archive.read_bytes()).hexdigest()
    (mirror / "README.md").write_text(
        "| package | version | file | sha256 | licence |\n|---|---|---|---|---|\n"
        f"| {PACKAGE.package} | {PACKAGE.version} | {archive.name} | {sha256} | MIT |\n"
    )
    return mirror


def test_a_listed_archive_is_unpacked_into_the_install_folder(tmp_path: Path) -> None:
    install = tmp_path / "dbt_packages"
    install_from_mirror([PACKAGE], mirror_with(tmp_path), install)
    assert (install / PACKAGE.name / "dbt_project.yml").is_file()


def test_an_archive_whose_sha256_differs_from_the_readme_is_refused(tmp_path: Path) -> None:
    install = tmp_path / "dbt_packages"
    (install / "earlier").mkdir(parents=True)
    with pytest.raises(PackagesUnavailable, match="SHA-256"):
        install_from_mirror([PACKAGE], mirror_with(tmp_path, "0" * 64), install)
    # Nothing half-installed: what was there stays.
    assert [p.name for p in install.iterdir()] == ["earlier"]


def test_a_package_the_mirror_does_not_list_is_an_error(tmp_path: Path) -> None:
    other = LockedPackage("acme/tiny_utils", "0.2.0", "tiny_utils")
    with pytest.raises(PackagesUnavailable, match=r"does not list acme/tiny_utils 0\.2\.0"):
        install_from_mirror([other], mirror_with(tmp_path), tmp_path / "dbt_packages")


def test_the_lock_pins_what_packages_yml_declares() -> None:
    declared = yaml.safe_load((PROJECT_ROOT / "packages.yml").read_text())["packages"]
    locked = {(p.package, p.version) for p in locked_packages(LOCK_FILE)}
    assert {(p["package"], str(p["version"])) for p in declared} <= locked


def test_the_shared_mirror_serves_every_locked_package_with_its_checksum() -> None:
    entries = mirror_entries(DEFAULT_MIRROR)
    for package in locked_packages(LOCK_FILE):
        entry = entries[(package.package, package.version)]
        archive = DEFAULT_MIRROR / entry.file
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == entry.sha256


def test_the_installed_packages_are_the_locked_ones() -> None:
    for package in locked_packages(LOCK_FILE):
        assert (PROJECT_ROOT / "dbt_packages" / package.name / "dbt_project.yml").is_file()
