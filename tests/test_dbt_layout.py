"""How the dbt project is laid out for the people who read it: a schema per layer, every
model in a group with an owner, an overview page for the docs site, and exposures whose
URLs and owners are variables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smartcity.settings import PROJECT_ROOT
from tests.test_dbt_dialects import dbt_environment

DBT = Path(sys.executable).with_name("dbt")
LAYER_OF_FOLDER = {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}


def parse(target_path: Path, *extra: str) -> dict:
    subprocess.run(
        [str(DBT), "--no-use-colors", "parse", "--target-path", str(target_path), *extra],
        cwd=PROJECT_ROOT,
        env=dbt_environment(),
        check=True,
        capture_output=True,
        timeout=300,
    )
    return json.loads((target_path / "manifest.json").read_text())


@pytest.fixture(scope="module")
def manifest(parsed_project: Path) -> dict:
    return json.loads((parsed_project / "manifest.json").read_text())


def own_nodes(manifest: dict, *kinds: str) -> list[dict]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["package_name"] == "smartcity" and node["resource_type"] in kinds
    ]


def test_each_layer_is_built_in_a_schema_of_its_own_after_the_targets(manifest: dict) -> None:
    for model in own_nodes(manifest, "model"):
        layer = LAYER_OF_FOLDER[model["fqn"][1]]
        assert model["schema"] == f"main_{layer}", model["name"]
    assert {seed["schema"] for seed in own_nodes(manifest, "seed")} == {"main_reference"}
    assert {snap["schema"] for snap in own_nodes(manifest, "snapshot")} == {"main_snapshots"}


def test_every_model_is_in_a_group_whose_owner_is_named(manifest: dict) -> None:
    groups = {group["name"]: group for group in manifest["groups"].values()}
    for model in own_nodes(manifest, "model"):
        assert model["group"] in groups, model["name"]
    for group in groups.values():
        assert group["owner"]["name"] and "@" in group["owner"]["email"], group["name"]


def test_the_docs_site_opens_on_the_projects_overview(manifest: dict) -> None:
    overview = [
        doc
        for doc in manifest["docs"].values()
        if doc["name"] == "__overview__" and doc["package_name"] == "smartcity"
    ]
    assert len(overview) == 1
    text = overview[0]["block_contents"]
    for words in ("staging", "intermediate", "marts", "reference", "lineage"):
        assert words in text


def test_exposures_link_to_the_local_dashboard_unless_told_otherwise(
    manifest: dict, tmp_path: Path
) -> None:
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert len(exposures) == 6
    for name, exposure in exposures.items():
        assert exposure["url"] == f"http://127.0.0.1:8501/{name}"
        assert "example" in exposure["owner"]["email"]
    production = parse(
        tmp_path,
        "--vars",
        json.dumps(
            {
                "dashboard_urls": {"city_overview": "https://bi.city.test/views/overview"},
                "owners": {
                    team: {"name": f"{team} team", "email": f"{team}@city.test"}
                    for team in (
                        "data_platform",
                        "mobility",
                        "environment",
                        "emergency_services",
                        "city_operations",
                    )
                },
            }
        ),
    )
    changed = {e["name"]: e for e in production["exposures"].values()}
    assert changed["city_overview"]["url"] == "https://bi.city.test/views/overview"
    assert changed["data_quality"]["url"] == "http://127.0.0.1:8501/data_quality"
    assert changed["city_overview"]["owner"] == {
        "name": "city_operations team",
        "email": "city_operations@city.test",
    }


def test_every_exposure_is_a_page_of_the_local_dashboard(manifest: dict) -> None:
    from smartcity.dashboard.views import VIEWS

    exposures = {e["name"] for e in manifest["exposures"].values()}
    assert exposures == {view.slug for view in VIEWS}
