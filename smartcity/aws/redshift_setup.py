"""What Redshift needs before `dbt build --target redshift`, sent through the Data API.

Redshift reads the raw Iceberg tables through an external schema over the Glue
database, with the stack's Spectrum role; the dbt user reads that schema and creates
the schemas of its layers. Those are three statements, run once by an administrator:
here they go through the Redshift Data API (no SQL client, no network path to the
warehouse), to a Serverless workgroup or a provisioned cluster, one after another, each
awaited and logged, and a refused one stops the rest with Redshift's reason.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Redshift's unquoted identifiers, as the statements below write them.
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_$]{0,126}$")
GLUE_DATABASE = re.compile(r"^[a-z0-9_]{1,255}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
DONE = "FINISHED"
STOPPED = {"FAILED", "ABORTED"}


class RedshiftSetupError(RuntimeError):
    """A setting is not usable, or Redshift refused or did not finish a statement."""


@dataclass(frozen=True)
class Warehouse:
    """Where the Data API sends the statements, and as whom: a Serverless workgroup or
    a provisioned cluster; the administrator's secret (Secrets Manager), or for a
    cluster a database user whose temporary credentials the caller may get."""

    database: str
    workgroup: str | None = None
    cluster: str | None = None
    secret_arn: str | None = None
    db_user: str | None = None

    def __post_init__(self) -> None:
        if (self.workgroup is None) == (self.cluster is None):
            raise RedshiftSetupError(
                "name the warehouse: --workgroup NAME (Serverless) or --cluster ID (provisioned)"
            )
        if self.workgroup and self.db_user:
            raise RedshiftSetupError(
                "--db-user is for a provisioned cluster; a workgroup runs the statements as "
                "the caller's IAM identity or as the owner of --secret-arn"
            )

    def call_arguments(self) -> dict[str, str]:
        arguments = {"Database": self.database}
        if self.workgroup:
            arguments["WorkgroupName"] = self.workgroup
        if self.cluster:
            arguments["ClusterIdentifier"] = self.cluster
        if self.secret_arn:
            arguments["SecretArn"] = self.secret_arn
        if self.db_user:
            arguments["DbUser"] = self.db_user
        return arguments


def _checked(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise RedshiftSetupError(f"{what} {value!r} is not valid here (expected {pattern.pattern})")
    return value


def setup_statements(
    raw_schema: str, glue_database: str, spectrum_role_arn: str, dbt_user: str, database: str
) -> list[str]:
    """The external schema over the raw Glue database, and what the dbt user needs: to
    read it, and to create its layers' schemas in the database."""
    schema = _checked(raw_schema, IDENTIFIER, "the raw schema")
    glue = _checked(glue_database, GLUE_DATABASE, "the Glue database")
    role = _checked(spectrum_role_arn, ROLE_ARN, "the Spectrum role ARN")
    user = _checked(dbt_user, IDENTIFIER, "the dbt user")
    name = _checked(database, IDENTIFIER, "the database")
    return [
        f"create external schema if not exists {schema} "
        f"from data catalog database '{glue}' iam_role '{role}'",
        f"grant usage on schema {schema} to {user}",
        f"grant create on database {name} to {user}",
    ]


def run_statements(
    client: Any,
    warehouse: Warehouse,
    statements: list[str],
    say: Callable[[str], None],
    poll_s: float = 1.0,
    timeout_s: float = 300.0,
) -> list[str]:
    """Run each statement through the Data API and wait for it; returns their ids."""
    ids: list[str] = []
    for number, statement in enumerate(statements, start=1):
        say(f"[{number}/{len(statements)}] {statement}")
        began = time.monotonic()
        started = client.execute_statement(Sql=statement, **warehouse.call_arguments())
        ids.append(started["Id"])
        _await(client, started["Id"], statement, poll_s, timeout_s)
        say(
            f"[{number}/{len(statements)}] finished in {time.monotonic() - began:.1f} s "
            f"(statement {started['Id']})"
        )
    return ids


def _await(client: Any, statement_id: str, statement: str, poll_s: float, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        described = client.describe_statement(Id=statement_id)
        status = described["Status"]
        if status == DONE:
            return
        if status in STOPPED:
            reason = described.get("Error") or "no reason given"
            raise RedshiftSetupError(f"Redshift {status.lower()} `{statement}`: {reason}")
        if time.monotonic() > deadline:
            raise RedshiftSetupError(
                f"`{statement}` still {status.lower()} after {timeout_s:.0f} s (statement "
                f"{statement_id}; `aws redshift-data describe-statement --id {statement_id}`)"
            )
        time.sleep(poll_s)  # the Data API has no wait call; it is polled, as its docs say
