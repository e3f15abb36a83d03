"""One registry of environment variables (foundation/environment.py): every variable the
project reads is declared there once, the dbt profiles and the command line take their
defaults from it, child processes are handed the settings back through it, and dbt,
boto3, Spark and the Iceberg catalog resolve one AWS region from one environment."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from foundation.environment import DEFAULT_AWS_REGION, VARIABLES, aws_region
from smartcity.settings import PROJECT_ROOT, SETTINGS_OF_VARIABLES, PostgresSettings, Settings
from tests.test_dbt_targets import WAREHOUSE, credentials

# Where the project reads its environment (the MWAA DAG runs in Airflow's own
# environment and declares its variables itself: orchestration/mwaa/README.md).
READERS = ("foundation", "ingestion", "streaming", "smartcity", "bench", "scripts")
# Read by profiles.yml but not ours: the login name (the developer's schema) and AWS's
# own fallback for AWS_REGION.
NOT_OURS = {"USER", "AWS_DEFAULT_REGION"}


def _named_in_code() -> dict[str, set[str]]:
    named: dict[str, set[str]] = {}
    for folder in READERS:
        for path in (PROJECT_ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".sh", ".java"} or not path.is_file():
                continue
            # A name ending in "_" is a family in prose ("SMARTCITY_LANDING_ variables").
            for name in re.findall(r"\bSMARTCITY_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()):
                named.setdefault(name, set()).add(str(path.relative_to(PROJECT_ROOT)))
    return named


def test_every_variable_the_code_reads_is_declared_once() -> None:
    undeclared = {n: sorted(p) for n, p in _named_in_code().items() if n not in VARIABLES}
    assert undeclared == {}


def test_every_variable_the_profiles_read_is_declared_with_the_same_default() -> None:
    from smartcity.dbt.profiles import PROFILES_FILE, render_profiles, variables_read

    assert variables_read() - NOT_OURS - set(VARIABLES) == set()
    # The literal defaults in profiles.yml are the registry's (written by
    # `smartcity dbt-sources --write`).
    assert render_profiles() == PROFILES_FILE.read_text()


def test_a_declared_default_that_changes_changes_the_profiles(monkeypatch) -> None:
    from smartcity.dbt.profiles import render_profiles

    port = VARIABLES["SMARTCITY_REDSHIFT_PORT"]
    monkeypatch.setitem(VARIABLES, port.name, dataclasses.replace(port, default="5440"))
    assert "env_var('SMARTCITY_REDSHIFT_PORT', '5440')" in render_profiles()


def test_every_option_with_a_variable_takes_its_default_and_type_from_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import click

    from smartcity.cli import cli, parse

    options = [
        option
        for command in cli.commands.values()
        for option in command.params
        if isinstance(option, click.Option) and option.envvar
    ]
    assert len(options) >= 10
    for option in options:
        declared = VARIABLES[str(option.envvar)]
        if declared.default is not None:
            assert option.default == declared.kind(declared.default), option.opts
        assert option.type == click.types.convert_type(declared.kind), option.opts
    monkeypatch.setenv("SMARTCITY_DASHBOARD_PORT", "9000")
    assert parse(["dashboard"]).port == 9000
    monkeypatch.delenv("SMARTCITY_DASHBOARD_PORT")
    assert parse(["dashboard"]).port == 8501


def test_a_child_process_is_handed_every_setting_back(tmp_path: Path) -> None:
    fields = {f.name for f in dataclasses.fields(Settings)} - {"postgres"}
    fields |= {f"postgres.{f.name}" for f in dataclasses.fields(PostgresSettings)}
    assert set(SETTINGS_OF_VARIABLES.values()) == fields
    assert set(SETTINGS_OF_VARIABLES) <= set(VARIABLES)
    chosen = Settings.from_env(
        {
            "SMARTCITY_DATA_DIR": str(tmp_path / "data"),
            "SMARTCITY_LAKE_URI": "s3://lake",
            "SMARTCITY_KAFKA_PORT": "19092",
            "SMARTCITY_TOPIC_PREFIX": "other",
            "SMARTCITY_POSTGRES_PORT": "15432",
            "SMARTCITY_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        }
    )
    assert Settings.from_env(chosen.environment()) == chosen


def _no_aws_settings(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    import boto3

    # boto3 keeps the first session a process makes, with the profile it read then.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))


def _regions(settings: Settings) -> dict[str, str]:
    """The region each client of the project resolves in this process's environment."""
    import os

    from smartcity.aws import clients as aws
    from smartcity.pipeline import child_environment
    from streaming.iceberg_catalogs import glue_catalog
    from streaming.session import aws_settings

    dbt = credentials("athena", {**child_environment(settings), **WAREHOUSE})
    return {
        "dbt (through smartcity)": dbt["region_name"],
        "dbt (by hand)": credentials("athena", {**os.environ, **WAREHOUSE})["region_name"],
        "boto3": aws.glue_client().meta.region_name,
        "spark": aws_settings()["spark.hadoop.fs.s3a.endpoint.region"],
        "iceberg": glue_catalog(aws_region()).properties["glue.region"],
    }


@pytest.mark.parametrize(
    ("variables", "region"),
    [
        ({}, DEFAULT_AWS_REGION),
        ({"AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"),
        ({"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "ap-south-1"}, "us-west-2"),
    ],
    ids=["nothing set", "AWS_DEFAULT_REGION", "AWS_REGION first"],
)
def test_dbt_boto3_and_spark_resolve_one_region(
    variables: dict[str, str], region: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_aws_settings(monkeypatch, tmp_path)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    regions = _regions(Settings.from_env({"SMARTCITY_DATA_DIR": str(tmp_path)}))
    assert regions == dict.fromkeys(regions, region)


def test_the_aws_profiles_region_reaches_dbt_through_smartcity(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A region set only in the AWS profile: every Python client reads it, and dbt run by
    `smartcity dbt` is handed it (dbt's profile reads only the variables)."""
    _no_aws_settings(monkeypatch, tmp_path)
    (tmp_path / "config").write_text("[profile city]\nregion = sa-east-1\n")
    monkeypatch.setenv("AWS_PROFILE", "city")
    regions = _regions(Settings.from_env({"SMARTCITY_DATA_DIR": str(tmp_path)}))
    by_hand = regions.pop("dbt (by hand)")
    assert regions == dict.fromkeys(regions, "sa-east-1")
    # dbt run by hand cannot read the profile: it takes the project's default, as
    # docs/aws.md says (export AWS_REGION).
    assert by_hand == DEFAULT_AWS_REGION
