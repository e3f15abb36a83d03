"""The errors a user meets read as one line that says what to do, never a traceback."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartcity.local_stack.kafka_broker import free_port


def smartcity(
    *arguments: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartcity", *arguments],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """This environment without the project's or AWS's settings; state under tmp_path,
    and no AWS credentials anywhere (the metadata service is never asked)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SMARTCITY_", "AWS_", "DBT_", "KAFKA_"))
    }
    env.update(
        SMARTCITY_DATA_DIR=str(tmp_path / "data"),
        HOME=str(tmp_path),
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_REGION="eu-west-1",
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",
    )
    return env


def test_the_athena_target_without_its_buckets_says_which_to_set(clean_env: dict) -> None:
    line = one_error_line(smartcity("dbt", "build", "--target", "athena", env=clean_env))
    assert line.startswith("error: SMARTCITY_ATHENA_STAGING_DIR is not set: set it to ")
    assert "export SMARTCITY_ATHENA_STAGING_DIR=s3://" in line


def test_the_athena_target_refuses_the_placeholder_buckets(clean_env: dict) -> None:
    clean_env["SMARTCITY_DBT_TARGET"] = "athena"
    clean_env["SMARTCITY_ATHENA_STAGING_DIR"] = "s3://change-me/athena-results/"
    line = one_error_line(smartcity("dbt", "run", env=clean_env))
    assert line.startswith(
        "error: SMARTCITY_ATHENA_STAGING_DIR is 's3://change-me/athena-results/': set it to"
    )


def test_the_athena_target_without_credentials_says_how_to_log_in(clean_env: dict) -> None:
    clean_env["SMARTCITY_ATHENA_STAGING_DIR"] = "s3://city-results/dbt/"
    clean_env["SMARTCITY_ATHENA_DATA_DIR"] = "s3://city-lake/warehouse/"
    line = one_error_line(smartcity("dbt", "build", "--target", "athena", env=clean_env))
    assert line.startswith("error: no AWS credentials found: set AWS_PROFILE")


def test_compaction_on_s3_without_credentials_is_one_line(clean_env: dict) -> None:
    clean_env["SMARTCITY_LAKE_URI"] = "s3://city-lake"
    line = one_error_line(smartcity("compact", env=clean_env))
    assert line.startswith("error: no AWS credentials found")


@pytest.mark.parametrize(
    "arguments", [("dbt", "build"), ("land",), ("demo", "--events", "10"), ("kafka", "start")]
)
def test_an_unwritable_data_directory_is_named_with_what_to_do(
    clean_env: dict, tmp_path: Path, arguments: tuple[str, ...]
) -> None:
    # Root writes anywhere a mode forbids, so the folder is made unwritable by a file
    # standing where its parent should be.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    clean_env["SMARTCITY_DATA_DIR"] = str(blocker / "data")
    line = one_error_line(smartcity(*arguments, env=clean_env))
    assert f"cannot write to {blocker / 'data'}" in line or f"cannot write to {blocker}" in line
    assert "SMARTCITY_" in line


def test_a_duckdb_file_held_by_another_process_is_named_with_its_holder(
    clean_env: dict, tmp_path: Path
) -> None:
    database = tmp_path / "data" / "smartcity.duckdb"
    database.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "sys.stdin.read()",
            str(database),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        line = one_error_line(smartcity("dbt", "build", env=clean_env))
    finally:
        holder.communicate("", timeout=30)
    assert line.startswith(f"error: the DuckDB database {database} is in use by PID {holder.pid}")
    assert "SMARTCITY_DUCKDB_PATH" in line


def test_the_demo_does_not_remove_a_lake_it_was_pointed_at_without_asking(
    clean_env: dict, tmp_path: Path
) -> None:
    lake = tmp_path / "my-lake"
    (lake / "raw").mkdir(parents=True)
    (lake / "raw" / "precious.parquet").write_bytes(b"PAR1")
    clean_env["SMARTCITY_LAKE_URI"] = str(lake)
    clean_env["SMARTCITY_KAFKA_PORT"] = str(free_port())
    line = one_error_line(smartcity("demo", "--events", "10", env=clean_env))
    assert line.startswith(f"error: not removing {lake}: the demo starts from an empty state")
    assert "--reset" in line
    assert (lake / "raw" / "precious.parquet").exists()


def test_the_demo_removes_its_own_state_and_what_it_is_told_to() -> None:
    from smartcity.demo import DemoRefused, _state_to_remove
    from smartcity.settings import PROJECT_ROOT, Settings

    own = Settings.from_env({})
    assert all(p.is_relative_to(PROJECT_ROOT / "data") for p in _state_to_remove(own, False))
    elsewhere = Settings.from_env({"SMARTCITY_DATA_DIR": str(PROJECT_ROOT / ".pytest_cache")})
    assert _state_to_remove(elsewhere, True) == [
        p for p in [elsewhere.kafka_dir, elsewhere.duckdb_path] if p.exists()
    ] + [Path(p) for p in (elsewhere.checkpoint_uri, elsewhere.lake_uri) if Path(p).exists()]
    with pytest.raises(DemoRefused):
        pinned = Settings.from_env({"SMARTCITY_LAKE_URI": str(PROJECT_ROOT / "dbt_project")})
        _state_to_remove(pinned, False)


def test_two_dbt_schedules_at_once_are_refused_in_one_line(clean_env: dict) -> None:
    line = one_error_line(smartcity("dbt", "--every", "20", "--on-landing", "run", env=clean_env))
    assert "--every" in line and "--on-landing" in line


def test_an_unwritable_duckdb_location_is_named_as_a_file(clean_env: dict, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    clean_env["SMARTCITY_DUCKDB_PATH"] = str(blocker / "warehouse.duckdb")
    line = one_error_line(smartcity("dbt", "build", env=clean_env))
    assert f"cannot write to {blocker}" in line
    # The setting holds a file's path, and the example is one.
    assert "point SMARTCITY_DUCKDB_PATH at a file in a folder you can write" in line
    assert "export SMARTCITY_DUCKDB_PATH=$HOME/smartcity-data/warehouse.duckdb" in line


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_the_docs_on_a_taken_port_fail_at_once_naming_port_and_dash_dash_port(
    clean_env: dict, taken_port: int, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    result = smartcity(
        "docs", "--port", str(taken_port), "--target-path", str(target), env=clean_env
    )
    line = one_error_line(result)
    assert line.startswith(f"error: port {taken_port} on 127.0.0.1 is already in use")
    assert "PORT=" in line and "--port" in line
    assert "http://" not in result.stdout
    # Said before generating anything: dbt never ran.
    assert not target.exists()


def test_make_docs_hands_its_port_to_the_command() -> None:
    from smartcity.settings import PROJECT_ROOT

    makefile = (PROJECT_ROOT / "Makefile").read_text()
    recipe = re.search(r"^docs:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None
    assert "-m smartcity docs --port $(PORT)" in recipe.group(1)


def test_the_dashboard_on_a_taken_port_says_so_before_its_url(
    clean_env: dict, taken_port: int
) -> None:
    result = smartcity("dashboard", "--port", str(taken_port), env=clean_env)
    line = one_error_line(result)
    assert line.startswith(f"error: port {taken_port} on 127.0.0.1 is already in use")
    assert "--port" in line
    assert "http://" not in result.stdout


def test_a_variable_an_option_cannot_use_is_named_in_one_line(clean_env: dict) -> None:
    clean_env["SMARTCITY_DASHBOARD_PORT"] = "abc"
    result = smartcity("dashboard", env=clean_env)
    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith("error: SMARTCITY_DASHBOARD_PORT='abc' is not a valid value for --port")


@pytest.mark.parametrize("variable", ["SMARTCITY_KAFKA_PORT", "SMARTCITY_POSTGRES_PORT"])
def test_a_setting_of_the_wrong_kind_is_named_in_one_line(clean_env: dict, variable: str) -> None:
    # Read by every command's settings, not by an option: any command meets it.
    clean_env[variable] = "nine-oh-nine-two"
    result = smartcity("dbt-sources", env=clean_env)
    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith(f"error: {variable}='nine-oh-nine-two' is not valid")
    assert "unset it for the default" in line
