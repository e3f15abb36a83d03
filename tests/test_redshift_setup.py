"""`smartcity redshift-setup` against moto's Redshift Data API, over HTTP.

moto runs no SQL (tests/local_aws.py, addition 8): what is shown is what the command
sends, to which warehouse, as whom, in which order, and that it stops on the first
refusal. That Redshift accepts the statements is not shown here (docs/aws.md).
"""

from __future__ import annotations

import re

import boto3
import pytest

from smartcity.aws.redshift_setup import (
    RedshiftSetupError,
    Warehouse,
    run_statements,
    setup_statements,
)
from smartcity.cli import main

SPECTRUM_ROLE = "arn:aws:iam::123456789012:role/smartcity-SpectrumRole-ABC123"
ADMIN_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift!smartcity-admin-x1"


def test_the_setup_creates_the_external_schema_with_the_spectrum_role_and_grants_dbt(
    aws_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTCITY_SPECTRUM_ROLE_ARN", SPECTRUM_ROLE)
    monkeypatch.setenv("SMARTCITY_GLUE_DATABASE", "city_raw")
    monkeypatch.setenv("SMARTCITY_RAW_SCHEMA", "city_raw_ext")
    code = main(
        ["redshift-setup", "--workgroup", "smartcity", "--secret-arn", ADMIN_SECRET,
         "--dbt-user", "dbt_runner", "--poll-seconds", "0.05"]
    )  # fmt: skip
    said = capsys.readouterr().err
    assert code == 0, said
    ids = re.findall(r"finished in [0-9.]+ s \(statement ([0-9a-f-]{36})\)", said)
    assert len(ids) == 3, said
    data_api = boto3.client("redshift-data")
    sent = [data_api.describe_statement(Id=statement_id) for statement_id in ids]
    assert [s["QueryString"] for s in sent] == [
        "create external schema if not exists city_raw_ext from data catalog database "
        f"'city_raw' iam_role '{SPECTRUM_ROLE}'",
        "grant usage on schema city_raw_ext to dbt_runner",
        "grant create on database dev to dbt_runner",
    ]
    # Each to the workgroup, in its database, as the administrator of the secret.
    assert {(s["WorkgroupName"], s["Database"], s["SecretArn"]) for s in sent} == {
        ("smartcity", "dev", ADMIN_SECRET)
    }
    # Every statement is logged before it runs, so a refusal names the one refused.
    for statement in sent:
        assert statement["QueryString"] in said
    assert "smartcity dbt build --target redshift" in said


def test_a_cluster_takes_a_database_user_instead(aws_env: str) -> None:
    client = boto3.client("redshift-data")
    warehouse = Warehouse(database="analytics", cluster="city-cluster", db_user="admin")
    statements = setup_statements("raw", "raw", SPECTRUM_ROLE, "dbt", "analytics")
    ids = run_statements(client, warehouse, statements, lambda _: None, poll_s=0.05)
    described = client.describe_statement(Id=ids[0])
    assert described["ClusterIdentifier"] == "city-cluster"
    assert described["DbUser"] == "admin"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "the Spectrum role is not known"),
        (["--spectrum-role-arn", SPECTRUM_ROLE], "name the warehouse"),
        (["--spectrum-role-arn", SPECTRUM_ROLE, "--workgroup", "w", "--cluster", "c"],
         "name the warehouse"),
        (["--spectrum-role-arn", SPECTRUM_ROLE, "--workgroup", "w", "--db-user", "u"],
         "--db-user is for a provisioned cluster"),
        (["--spectrum-role-arn", "not-an-arn", "--workgroup", "w"], "the Spectrum role ARN"),
        (["--spectrum-role-arn", SPECTRUM_ROLE, "--workgroup", "w", "--dbt-user", "x; drop"],
         "the dbt user 'x; drop' is not valid"),
    ],
)  # fmt: skip
def test_a_setting_that_cannot_work_is_refused_in_one_line_before_any_call(
    arguments: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SMARTCITY_SPECTRUM_ROLE_ARN", raising=False)
    monkeypatch.delenv("SMARTCITY_REDSHIFT_WORKGROUP", raising=False)
    # No endpoint answers here: a call to AWS would fail with another message.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert main(["redshift-setup", *arguments]) == 1
    error = capsys.readouterr().err.strip()
    assert message in error
    assert len(error.splitlines()) == 1


class _RefusingDataApi:
    """Redshift's answers to a statement it refuses: FAILED, with its reason. (moto
    cannot refuse one; this shows only what the command does with the answer.)"""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def execute_statement(self, Sql: str, **_: str) -> dict[str, str]:  # noqa: N803
        self.sent.append(Sql)
        return {"Id": f"id-{len(self.sent)}"}

    def describe_statement(self, Id: str) -> dict[str, str]:  # noqa: N803
        if Id == "id-1":
            return {"Status": "FINISHED"}
        return {"Status": "FAILED", "Error": "ERROR: permission denied for schema city_raw"}


def test_a_refused_statement_stops_the_rest_with_redshifts_reason() -> None:
    client = _RefusingDataApi()
    statements = setup_statements("city_raw", "raw", SPECTRUM_ROLE, "dbt", "dev")
    with pytest.raises(RedshiftSetupError, match="permission denied for schema city_raw"):
        run_statements(client, Warehouse("dev", workgroup="w"), statements, lambda _: None)
    assert len(client.sent) == 2  # the third was never sent
