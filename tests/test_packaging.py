"""The project as a conventional Python package: nothing generated in git, dependencies
declared in pyproject.toml and pinned by requirements.txt, and `pip install .` gives a
`smartcity` that works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from smartcity.settings import PROJECT_ROOT

GENERATED = (".egg-info", "__pycache__", ".pyc", "target/", "logs/", "dbt_packages/")
GENERATED_ROOTS = ("data/", ".venv/", ".cache/", "bench/results/", "build/", "dist/")


def test_git_tracks_nothing_generated() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert tracked
    generated = [
        path
        for path in tracked
        if any(part in path for part in GENERATED) or path.startswith(GENERATED_ROOTS)
    ]
    assert generated == []


def pins() -> dict[str, str]:
    found = {}
    for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#") and "==" in line:
            name, version = line.split("==", 1)
            found[name.lower().replace("_", "-")] = version.strip()
    return found


def test_every_declared_dependency_is_pinned_by_the_lock_within_its_range() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"]]
    for extra in ("athena", "redshift", "dashboard", "dev"):
        declared += project["optional-dependencies"][extra]
    pinned = pins()
    for text in declared:
        requirement = Requirement(text)
        name = requirement.name.lower().replace("_", "-")
        assert name in pinned, f"{name} is declared in pyproject.toml but not pinned"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{name}=={pinned[name]} in requirements.txt is outside {requirement.specifier}"
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install .` into a folder of its own (the dependencies come from this
    environment, which the lock already installed), from a copy of the tracked files, so
    that the build leaves nothing in the work tree."""
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for name in tracked:
        if (PROJECT_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_ROOT / name, source / name)
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def run_installed(site: Path, cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCITY_")}
    env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [str(site / "bin" / "smartcity"), *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pip_install_gives_a_smartcity_command_with_its_java_source(installed: Path) -> None:
    assert (installed / "smartcity" / "cli" / "__init__.py").exists()
    java = list((installed / "streaming" / "jvm" / "src").rglob("*.java"))
    assert java, "the landing job's JVM source is missing from the package"
    helper = run_installed(installed, installed, "--help")
    assert helper.returncode == 0, helper.stderr
    for command in ("demo", "produce", "land", "dbt", "compact"):
        assert command in helper.stdout
    # The installed package, not this checkout, answered.
    where = subprocess.run(
        [sys.executable, "-c", "import smartcity; print(smartcity.__file__)"],
        cwd=installed,
        env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(installed))


def test_the_installed_command_works_on_the_project_it_is_run_in(
    installed: Path, tmp_path: Path
) -> None:
    inside = run_installed(installed, PROJECT_ROOT / "dbt_project", "dbt-sources")
    assert inside.returncode == 0, inside.stdout + inside.stderr
    outside = run_installed(installed, tmp_path, "dbt", "build")
    assert outside.returncode == 2
    assert outside.stderr.strip().splitlines() == [
        f"error: `smartcity dbt` works on the project's files (dbt_project.yml, the jar "
        f"locks) and found none in {tmp_path.resolve()} or above: run it in the repository, "
        "or set SMARTCITY_PROJECT_DIR to it"
    ]
