"""What a newcomer types on a first day does what it says: a typo in a selection fails
instead of passing green, a model and its parents build on a fresh database without
tests towards models that are not there yet, and an unknown target lists the real ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from smartcity.settings import PROJECT_ROOT
from tests.plain_dbt import plain_dbt


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A home without dbt settings, a data folder with an empty lake and no database, and
    a target folder of their own that the module's dbt runs share (one full parse)."""
    root = tmp_path_factory.mktemp("fresh")
    (root / "home").mkdir()
    (root / "data" / "lake").mkdir(parents=True)
    return root / "home", root / "data", root / "target"


def test_a_model_with_its_parents_builds_on_a_fresh_database(
    fresh: tuple[Path, Path, Path],
) -> None:
    home, data, target_path = fresh
    result = plain_dbt(
        home, data, "build", "--select", "+fct_trips", "--target-path", str(target_path)
    )
    assert result.returncode == 0, result.stdout[-3000:]
    ran = {
        entry["unique_id"]: entry["status"]
        for entry in json.loads((target_path / "run_results.json").read_text())["results"]
    }
    manifest = json.loads((target_path / "manifest.json").read_text())
    built = {unique_id for unique_id in ran if unique_id.startswith(("model.", "seed."))}
    assert "model.smartcity.fct_trips" in built
    # The trips' relationship test towards dim_vehicles would fail on a database without
    # dim_vehicles: it is left out, and every test that ran reads only what was built.
    tests = [unique_id for unique_id in ran if unique_id.startswith("test.")]
    assert tests, "the selected models' own tests ran"
    for test in tests:
        assert set(manifest["nodes"][test]["depends_on"]["nodes"]) <= built, test
    assert not any("ref_dim_vehicles" in test for test in tests)


def test_a_selection_that_matches_nothing_fails(fresh: tuple[Path, Path, Path]) -> None:
    home, data, target_path = fresh
    # The model is fct_trips.
    result = plain_dbt(
        home, data, "build", "--select", "fct_trip", "--target-path", str(target_path)
    )
    assert result.returncode != 0, result.stdout[-2000:]
    assert "'fct_trip' does not match any enabled nodes" in result.stdout


def test_an_unknown_target_lists_the_targets_there_are(fresh: tuple[Path, Path, Path]) -> None:
    home, data, _ = fresh
    result = plain_dbt(home, data, "debug", "--target", "prod")
    assert result.returncode != 0
    assert "does not have a target named 'prod'" in result.stdout, result.stdout[-2000:]
    profile = yaml.safe_load((PROJECT_ROOT / "profiles.yml").read_text())["smartcity"]
    for target in profile["outputs"]:
        assert f"   - {target}\n" in result.stdout
    assert "is undefined" not in result.stdout
