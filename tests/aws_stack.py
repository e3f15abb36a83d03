"""The project's CloudFormation stack deployed to a moto server of its own with IAM
enforced, once per test session: the least-privilege tests try each role on it, and the
local Athena runs dbt-athena under the dbt role on it.

The server is ``tests/local_aws.py`` (moto, judging Glue and Athena calls against their
resources and logging every judged call). After deploying, enforcement is turned on:
every call from then on is signed by an IAM identity and judged against its policies.
Two users of the account stay allowed everything: ``administrator`` (for what the tests
set up) and ``athena-engine``, the keys Athena's engine (the test Trino) acts with.
"""

from __future__ import annotations

import ast
import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from smartcity.aws import stack as aws_stack

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
LAKE, RESULTS = "city-lake-iam", "city-results-iam"
RAW_DB, SCHEMA = "smartcity_raw", "smartcity_analytics"
WORK_GROUP = aws_stack.load_template()["Parameters"]["WorkGroupName"]["Default"]
LAYERS = ("staging", "intermediate", "marts", "reference", "snapshots")
ROLES = ("Landing", "Compaction", "Dbt", "Bi", "Spectrum")
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})
ALLOW_EVERYTHING = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def client(service: str, endpoint: str, credentials: dict[str, str] | None = None) -> Any:
    keys = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(
        service, region_name=REGION, endpoint_url=endpoint, config=NO_RETRIES, **keys
    )


def _post(url: str, body: bytes) -> dict[str, Any]:
    # Not a form: moto reads the raw body, which Flask leaves empty for a form.
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
        return json.loads(response.read())


@dataclass
class Deployed:
    endpoint: str
    outputs: dict[str, str]
    stack_resources: list[str]
    call_log: Path
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    # Set when moto's CloudFormation stored the roles' inline policies unreadably and
    # they were put again through IAM.
    policies_put_again: bool = False
    # The roles the operator could not assume (moto answers 500 to a service principal).
    unassumable: set[str] = field(default_factory=set)

    def as_role(self, role: str, service: str) -> Any:
        return client(service, self.endpoint, self.sessions[role])

    def as_user(self, user: str, service: str) -> Any:
        return client(service, self.endpoint, self.users[user])

    def iceberg_catalog_as(self, role: str) -> Any:
        """pyiceberg's Glue catalog under a role's session: Glue, and the tables' files in
        S3, on the stack's server, as the landing job reaches them."""
        from pyiceberg.catalog.glue import GlueCatalog

        keys = self.sessions[role]
        properties = {"region": REGION, "endpoint": self.endpoint}
        properties |= {
            "access-key-id": keys["aws_access_key_id"],
            "secret-access-key": keys["aws_secret_access_key"],
            "session-token": keys["aws_session_token"],
        }
        return GlueCatalog(
            "glue",
            **{
                f"{service}.{key}": value
                for service in ("glue", "s3")
                for key, value in properties.items()
            },
        )

    def principal(self, role: str) -> str:
        """The ARN prefix under which the call log names a role's sessions."""
        return f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.outputs[f'Smartcity{role}RoleArn'].split('/')[-1]}/"

    def calls(self) -> list[dict[str, Any]]:
        if not self.call_log.exists():
            return []
        return [json.loads(line) for line in self.call_log.read_text().splitlines()]


def _user(iam: Any, name: str, policy: str) -> dict[str, str]:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=policy)
    keys = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "aws_access_key_id": keys["AccessKeyId"],
        "aws_secret_access_key": keys["SecretAccessKey"],
    }


def _work_group_configuration() -> dict[str, Any]:
    """The workgroup as the template makes it (moto's CloudFormation cannot)."""
    template = aws_stack.load_template()
    configuration = template["Resources"]["WorkGroup"]["Properties"]["WorkGroupConfiguration"]
    cutoff = template["Parameters"]["BytesScannedCutoffPerQuery"]["Default"]
    return {
        "EnforceWorkGroupConfiguration": configuration["EnforceWorkGroupConfiguration"],
        "BytesScannedCutoffPerQuery": int(cutoff),
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/results/"},
        "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
    }


def deploy(endpoint: str, call_log: Path) -> Deployed:
    """Deploy the stack as an administrator would, then turn IAM enforcement on and
    assume every role through STS as the operator the roles trust."""
    admin = {s: client(s, endpoint) for s in ("iam", "s3", "glue", "athena", "cloudformation")}
    # The principal the roles trust: a user of the account (moto matches a trust policy's
    # principal literally, so not the account's root).
    operator_arn = admin["iam"].create_user(UserName="operator")["User"]["Arn"]
    assume = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Resource": f"arn:aws:iam::{ACCOUNT}:role/*",
                }
            ],
        }
    )
    admin["iam"].put_user_policy(UserName="operator", PolicyName="assume", PolicyDocument=assume)
    operator = admin["iam"].create_access_key(UserName="operator")["AccessKey"]
    outputs = aws_stack.deploy(
        admin["cloudformation"],
        admin["s3"],
        "smartcity",
        {"LakeBucketName": LAKE, "ResultsBucketName": RESULTS, "TrustedPrincipalArn": operator_arn},
        say=print,
        poll_s=0.1,
    )
    resources = admin["cloudformation"].list_stack_resources(StackName="smartcity")
    result = Deployed(
        endpoint,
        outputs,
        [r["LogicalResourceId"] for r in resources["StackResourceSummaries"]],
        call_log,
    )

    # moto keeps the inline policies its CloudFormation made as objects its enforcement
    # cannot read (HTTP 500 on every call): the same documents, put again through IAM.
    for role in admin["iam"].list_roles()["Roles"]:
        for name in admin["iam"].list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            stored = admin["iam"].get_role_policy(RoleName=role["RoleName"], PolicyName=name)[
                "PolicyDocument"
            ]
            # It comes back as the repr of a Python dict, not as JSON.
            parsed = ast.literal_eval(stored) if isinstance(stored, str) else stored
            assert parsed["Version"] == "2012-10-17" and parsed["Statement"], stored
            # A reference to a resource moto's CloudFormation cannot make stays
            # unresolved: it is the resource the administrator makes below.
            document = json.dumps(parsed).replace("${WorkGroup}", WORK_GROUP)
            assert "${" not in document, document
            admin["iam"].put_role_policy(
                RoleName=role["RoleName"], PolicyName=name, PolicyDocument=document
            )
            result.policies_put_again = True

    # What moto's CloudFormation cannot make, made here as an administrator would.
    for name in (RAW_DB, *(f"{SCHEMA}_{layer}" for layer in LAYERS)):
        admin["glue"].create_database(DatabaseInput={"Name": name})
    admin["athena"].create_work_group(Name=WORK_GROUP, Configuration=_work_group_configuration())
    for name in ("administrator", "athena-engine"):
        result.users[name] = _user(admin["iam"], name, ALLOW_EVERYTHING)

    # Enforcement on, from the next request.
    _post(f"{endpoint}/moto-api/reset-auth", b"0")
    sts = client(
        "sts",
        endpoint,
        {
            "aws_access_key_id": operator["AccessKeyId"],
            "aws_secret_access_key": operator["SecretAccessKey"],
        },
    )
    for role in ROLES:
        arn = outputs[f"Smartcity{role}RoleArn"]
        try:
            credentials = sts.assume_role(RoleArn=arn, RoleSessionName=f"test-{role.lower()}")[
                "Credentials"
            ]
        except Exception:  # moto answers 500 to a trust policy of service principals
            result.unassumable.add(role)
            continue
        result.sessions[role] = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
    return result
