"""Pull requests as the workflow checks them (.github/workflows/pull-request.yml), with its
own scripts: slim CI (scripts/slim_ci.sh) takes the main branch's manifest and database
as the state, and a pull request that changes one staging model builds exactly that model
and its descendants into a database of its own, reading everything else, deferred, from
the main branch's database; the lint (scripts/lint_changed_sql.sh) reads only the SQL the
pull request changed and annotates its findings on the diff."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from smartcity.settings import PROJECT_ROOT, Settings
from tests.plain_dbt import plain_environment

CHANGED = "stg_smartcity__weather_readings"
CHANGED_FILE = Path("dbt_project/models/staging/smartcity") / f"{CHANGED}.sql"


def project_copy(destination: Path) -> Path:
    """The working tree's files (committed or not, never ignored ones) in ``destination``,
    with the installed dbt packages linked in: a pull request's checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    (destination / "dbt_packages").symlink_to(PROJECT_ROOT / "dbt_packages")
    return destination


def descendants(manifest: dict, unique_id: str) -> set[str]:
    found: set[str] = set()
    waiting = [unique_id]
    while waiting:
        for child in manifest["child_map"][waiting.pop()]:
            if child not in found:
                found.add(child)
                waiting.append(child)
    return found


def git(checkout: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", *arguments],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pull request's checkout: the project committed on `main`, then a branch that
    changes one staging model."""
    checkout = project_copy(tmp_path_factory.mktemp("checkout"))
    git(checkout, "init", "-q", "-b", "main")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "main")
    git(checkout, "checkout", "-q", "-b", "change")
    model = checkout / CHANGED_FILE
    text = model.read_text()
    assert "visibility_m / 1000.0 as visibility_km" in text
    model.write_text(text.replace("visibility_m / 1000.0 as", "round(visibility_m / 1000.0, 3) as"))
    git(checkout, "commit", "-q", "-am", "visibility in km, rounded")
    return checkout


@pytest.fixture(scope="module")
def pull_request(
    empty_lake_build: tuple[Path, Settings, str],
    checkout: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict:
    home, main, _ = empty_lake_build
    # The workflow's state: what the main branch's build left, in a folder of its own.
    state = tmp_path_factory.mktemp("main-state")
    shutil.copy2(main.data_dir / "target" / "manifest.json", state)
    shutil.copy2(main.duckdb_path, state / "smartcity.duckdb")
    data_dir = tmp_path_factory.mktemp("pr-data")
    (data_dir / "lake").mkdir()
    # dbt's target folder by dbt's own variable, so that the script's `dbt ls` and `dbt
    # build` share it (and its parse).
    built = subprocess.run(
        ["bash", "scripts/slim_ci.sh", str(state)],
        cwd=checkout,
        env={**plain_environment(home, data_dir), "DBT_TARGET_PATH": str(data_dir / "target")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-2000:]
    return {
        "output": built.stdout,
        "main_manifest": json.loads((state / "manifest.json").read_text()),
        "results": json.loads((data_dir / "target" / "run_results.json").read_text()),
        "target": data_dir / "target",
        "checkout": checkout,
        "database": data_dir / "ci.duckdb",
    }


def test_exactly_the_changed_model_and_its_descendants_build(pull_request: dict) -> None:
    manifest = pull_request["main_manifest"]
    changed = f"model.smartcity.{CHANGED}"
    expected = {changed} | {
        node for node in descendants(manifest, changed) if node.startswith("model.")
    }
    assert len(expected) > 3, "the change reaches intermediate models and marts"
    ran = {result["unique_id"] for result in pull_request["results"]["results"]}
    assert {node for node in ran if node.startswith("model.")} == expected
    assert not any(node.startswith("seed.") for node in ran)
    tests = {node for node in ran if node.startswith("test.")}
    assert tests, "the built models' tests ran"
    statuses = {r["unique_id"]: r["status"] for r in pull_request["results"]["results"]}
    assert {s for s in statuses.values()} <= {"success", "pass", "no-op"}, statuses


def test_what_did_not_change_is_read_from_the_main_branchs_database(pull_request: dict) -> None:
    # The daily KPIs read the changed weather and unchanged traffic: the first from the
    # pull request's database ("ci"), the second from main's ("smartcity"), unbuilt here.
    compiled = next(
        (pull_request["target"] / "compiled").rglob("fct_city_daily_kpis.sql")
    ).read_text()
    assert '"ci"."main_intermediate"."int_weather_readings_located"' in compiled
    assert '"smartcity"."main_marts"."fct_trips"' in compiled
    import duckdb

    with duckdb.connect(str(pull_request["database"]), read_only=True) as connection:
        models = {
            name
            for (name,) in connection.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'ci' and table_schema like 'main_%'"
            ).fetchall()
        }
    assert CHANGED in models and "fct_city_daily_kpis" in models
    assert "fct_trips" not in models and "stg_smartcity__gps_fixes" not in models


def test_the_slim_build_lists_what_it_builds(pull_request: dict) -> None:
    assert "Building what changed and everything downstream of it" in pull_request["output"]
    assert f"  smartcity.staging.smartcity.{CHANGED}\n" in pull_request["output"]


def test_a_pull_request_that_changes_no_model_builds_nothing(
    empty_lake_build: tuple[Path, Settings, str], pull_request: dict, tmp_path: Path
) -> None:
    home, main, _ = empty_lake_build
    state = tmp_path / "state"
    state.mkdir()
    # The pull request's own manifest as the state: nothing differs from it. Its own
    # target folder, so that dbt parses only what changed (nothing).
    target = pull_request["target"]
    shutil.copy2(target / "manifest.json", state)
    shutil.copy2(main.duckdb_path, state / "smartcity.duckdb")
    results = target / "run_results.json"
    before = results.read_bytes()
    result = subprocess.run(
        ["bash", "scripts/slim_ci.sh", str(state)],
        cwd=pull_request["checkout"],
        env={
            **plain_environment(home, pull_request["database"].parent),
            "DBT_TARGET_PATH": str(target),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "nothing to build" in result.stdout
    assert results.read_bytes() == before, "no dbt build ran"


def test_the_lint_annotates_only_the_sql_the_pull_request_changed(checkout: Path) -> None:
    model = checkout / CHANGED_FILE
    # A keyword in capitals breaks the project's rule on one line of the changed model.
    model.write_text(model.read_text().replace("    from source", "    FROM source", 1))
    git(checkout, "commit", "-q", "-am", "shout")
    result = subprocess.run(
        ["bash", "scripts/lint_changed_sql.sh", "main"],
        cwd=checkout,
        env=plain_environment(checkout / "home", checkout / "lint-data"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0, result.stdout[-3000:]
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert annotations, result.stdout[-3000:]
    assert all(f"file={CHANGED_FILE}," in line for line in annotations), annotations
    assert any("CP01" in line for line in annotations), annotations
    assert "Linting 1 changed SQL file(s)" in result.stdout
