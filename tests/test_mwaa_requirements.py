"""MWAA's requirements.txt resolves against the Airflow it names: pip's resolver, run dry
in the Airflow environment of the tests (.venv-airflow), installs Airflow of the version
in the constraints line and every requirement beside it, for MWAA's Python, from wheels,
at the versions that environment was frozen with (requirements-test.txt), and none of
them conflicts. MWAA itself installs against Airflow's published constraints file, which
is out of reach here; the frozen set is the one the DAG's tests run on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.pip_resolution import dry_run
from tests.test_airflow_dag import AIRFLOW_PYTHON, _need_airflow

MWAA = Path(__file__).resolve().parents[1] / "orchestration" / "mwaa"
CONSTRAINTS_LINE = re.compile(r"constraints-(\d+\.\d+\.\d+)/constraints-(3\.\d+)\.txt")


def declared() -> tuple[str, str, list[str]]:
    """Airflow's version and Python's from the constraints line, and the requirements."""
    text = (MWAA / "requirements.txt").read_text()
    match = CONSTRAINTS_LINE.search(text)
    assert match, "requirements.txt names no Airflow constraints file"
    lines = [line.strip() for line in text.splitlines()]
    requirements = [line for line in lines if line and not line.startswith(("#", "-"))]
    return match.group(1), match.group(2), requirements


def frozen_airflow() -> str:
    for line in (MWAA / "requirements-test.txt").read_text().splitlines():
        if line.startswith("apache-airflow=="):
            return line.split("==", 1)[1]
    raise AssertionError("requirements-test.txt pins no apache-airflow")


def test_the_tests_run_the_airflow_mwaa_is_told_to_install() -> None:
    airflow, _, requirements = declared()
    assert airflow == frozen_airflow()
    for text in requirements:
        assert Requirement(text).specifier, f"{text} is not pinned"


@pytest.mark.parametrize("python", ["3.11", "MWAA's"])
def test_mwaa_requirements_resolve_with_the_airflow_they_name(python: str, tmp_path: Path) -> None:
    _need_airflow()
    airflow, mwaa_python, requirements = declared()
    # For another Python, pip resolves from wheels only, into a folder (never written in a
    # dry run).
    target = (
        ["--python-version", mwaa_python, "--only-binary=:all:", "--target", str(tmp_path / "t")]
        if python != "3.11"
        else []
    )
    installed = dry_run(
        AIRFLOW_PYTHON,
        [
            *("-c", str(MWAA / "requirements-test.txt"), *target),
            *(f"apache-airflow=={airflow}", *requirements),
        ],
        tmp_path,
    )
    assert installed["apache-airflow"] == airflow
    for text in requirements:
        requirement = Requirement(text)
        assert requirement.specifier.contains(installed[requirement.name.lower().replace("_", "-")])
