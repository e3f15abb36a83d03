"""The runtime image (infra/docker/Dockerfile) without a Docker engine: its stages and
what each installs. The runtime stage gets the Java runtime and the wheel's own
dependencies at the lock's versions, from the wheels the first stage built, and no
development tool; docker-compose builds that stage. Where an engine runs, `docker
compose build` builds the same file."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

from tests.pip_resolution import dry_run
from tests.test_packaging import pins

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "infra" / "docker" / "Dockerfile"
# What only development, the tests or other extras need, never the producer or the job.
NOT_AT_RUNTIME = {"maven", "build-essential", "gcc", "git", "default-jdk"}


def stages() -> dict[str, list[str]]:
    """Each stage's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            current = match.group(1)
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return found


def apt_packages(instructions: list[str]) -> set[str]:
    packages: set[str] = set()
    for line in instructions:
        for command in re.findall(r"apt-get install ([^&]+)", line):
            packages |= {word for word in command.split() if not word.startswith("-")}
    return packages


def pip_installs(instructions: list[str]) -> list[str]:
    return [line for line in instructions if re.search(r"\bpip (install|wheel)\b", line)]


def test_two_stages_and_compose_builds_the_runtime_one() -> None:
    assert list(stages()) == ["wheels", "runtime"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    build = compose["x-app"]["build"]
    assert build["dockerfile"] == "infra/docker/Dockerfile" and build["target"] == "runtime"


def test_the_runtime_stage_has_the_java_runtime_and_no_build_tool() -> None:
    runtime = stages()["runtime"]
    packages = apt_packages(runtime)
    assert packages == {"openjdk-17-jre-headless"}
    assert not packages & NOT_AT_RUNTIME
    assert not any(re.search(r"-jdk\b|-jdk-", package) for package in packages)
    # Only the wheels of the first stage, never an index: the versions are the lock's.
    (install,) = pip_installs(runtime)
    assert "--no-index" in install and "from=wheels" in install
    assert install.split()[-1] == "smartcity"  # the wheel, without an extra


def test_the_wheels_stage_builds_the_wheel_of_dist_at_the_locks_versions() -> None:
    (wheel,) = pip_installs(stages()["wheels"])
    assert "-c dist/constraints.txt" in wheel
    assert wheel.split()[-1] == "dist/smartcity-*.whl"  # no extra


def test_what_the_runtime_installs_is_the_core_dependencies_not_an_extra(tmp_path: Path) -> None:
    """pip's own resolution of the project without extras, at the lock: every package is
    pinned there, and no package that only an extra brings is among them."""
    installed = dry_run(
        sys.executable,
        ["--no-build-isolation", "-c", str(ROOT / "requirements.txt"), str(ROOT)],
        tmp_path,
    )
    runtime = set(installed) - {"smartcity"}
    locked = pins()
    assert {name: installed[name] for name in runtime} == {
        name: locked.get(name) for name in runtime
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {Requirement(text).name.lower() for text in project["dependencies"]}
    assert core <= runtime
    extras_only = {
        Requirement(text).name.lower()
        for packages in project["optional-dependencies"].values()
        for text in packages
    } - core
    assert runtime & extras_only == set()
