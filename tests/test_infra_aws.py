"""The CloudFormation stack (infra/aws/smartcity.yaml) passes three linters offline, with
zero findings: cfn-lint (the template is valid CloudFormation), checkov (security
practice; each skip is written in the template with its reason) and parliament (every IAM
policy document: actions, resources and condition keys that exist and fit together).

They run from .venv-tools, made by scripts/tools_env.sh (the set-up runs it), pinned in
infra/aws/requirements-tools.txt.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from smartcity.aws import stack as aws_stack
from smartcity.settings import VARIABLES

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".venv-tools" / "bin"
TEMPLATE = ROOT / "infra" / "aws" / "smartcity.yaml"

# What a deployment in this made-up account and region would give each reference.
ACCOUNT, REGION, PARTITION = "123456789012", "eu-west-1", "aws"
SAMPLE_PARAMETERS = {
    "LakeBucketName": "city-lake",
    "ResultsBucketName": "city-athena-results",
    "TrustedPrincipalArn": f"arn:aws:iam::{ACCOUNT}:root",
}


def _tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(
            f"The linters environment {TOOLS.parent} is missing ({name}): run the set-up "
            "(`bash scripts/tools_env.sh`) and test again.",
            pytrace=False,
        )
    return str(path)


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    # checkov asks its vendor's service for guideline links unless told not to; the tests
    # are offline.
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
    )


# ------------------------------------------------------------------ resolving references


def _values(template: dict[str, Any]) -> dict[str, str]:
    """The value of every Ref and Fn::GetAtt in the sample deployment."""
    parameters = template["Parameters"]
    values = {
        name: SAMPLE_PARAMETERS.get(name, str(spec.get("Default", "")))
        for name, spec in parameters.items()
    }
    values |= {
        "AWS::AccountId": ACCOUNT,
        "AWS::Region": REGION,
        "AWS::Partition": PARTITION,
        "AWS::StackName": "smartcity",
    }
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::S3::Bucket":
            name = _resolve(properties["BucketName"], values)
            values[logical_id] = name
            values[f"{logical_id}.Arn"] = f"arn:{PARTITION}:s3:::{name}"
        elif kind == "AWS::Glue::Database":
            values[logical_id] = _resolve(properties["DatabaseInput"]["Name"], values)
        elif kind == "AWS::Athena::WorkGroup":
            values[logical_id] = _resolve(properties["Name"], values)
        elif kind == "AWS::IAM::Role":
            values[f"{logical_id}.Arn"] = f"arn:{PARTITION}:iam::{ACCOUNT}:role/{logical_id}"
        elif kind == "AWS::RedshiftServerless::Namespace":
            values[logical_id] = _resolve(properties["NamespaceName"], values)
        elif kind == "AWS::RedshiftServerless::Workgroup":
            name = _resolve(properties["WorkgroupName"], values)
            values[logical_id] = name
            values[f"{logical_id}.Workgroup.Endpoint.Address"] = (
                f"{name}.{ACCOUNT}.{REGION}.redshift-serverless.amazonaws.com"
            )
    return values


def _resolve(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_resolve(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return values[node["Ref"]]
    if set(node) == {"Fn::GetAtt"}:
        return values[".".join(node["Fn::GetAtt"])]
    if set(node) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], node["Fn::Sub"])
    return {key: _resolve(value, values) for key, value in node.items()}


def policy_documents(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every policy document of the template, references resolved: each role's trust
    policy and inline policies, managed policies, and bucket policies."""
    values = _values(template)
    documents: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            # A trust policy is the role's resource policy: its resource is the role
            # itself, implicit in IAM but required by parliament, so it is written in.
            trust = properties["AssumeRolePolicyDocument"]
            role = {"Fn::GetAtt": [logical_id, "Arn"]}
            documents[f"{logical_id}.trust"] = {
                **trust,
                "Statement": [{**each, "Resource": role} for each in trust["Statement"]],
            }
            for policy in properties.get("Policies", []):
                documents[f"{logical_id}.{policy['PolicyName']}"] = policy["PolicyDocument"]
            for arn in properties.get("ManagedPolicyArns", []):
                raise AssertionError(f"{logical_id}: a managed policy {arn} is not reviewed here")
        elif kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::S3::BucketPolicy"):
            documents[logical_id] = properties["PolicyDocument"]
    return {name: _resolve(document, values) for name, document in documents.items()}


# ------------------------------------------------------------------ the tests


def test_cfn_lint_finds_nothing() -> None:
    result = _run([_tool("cfn-lint"), "--format", "parseable", str(TEMPLATE)])
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_checkov_fails_no_check_and_every_skip_has_its_reason() -> None:
    result = _run(
        [
            _tool("checkov"),
            "--file",
            str(TEMPLATE),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--quiet",
            "--output",
            "json",
        ]
    )
    report = json.loads(result.stdout)
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in report.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "\n".join(failed)
    assert report["summary"]["failed"] == 0 and report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 40, report["summary"]  # it did look at the template
    template = aws_stack.load_template(TEMPLATE)
    for logical_id, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 40, f"{logical_id}: skip {skip} has no reason"


def test_parliament_finds_nothing_in_any_policy(tmp_path: Path) -> None:
    template = aws_stack.load_template(TEMPLATE)
    documents = policy_documents(template)
    roles = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::IAM::Role"]
    assert len(roles) == 5 and len(documents) == 2 * len(roles) + 2, sorted(documents)
    for name, document in documents.items():
        text = json.dumps(document, indent=1)
        assert "Fn::" not in text and '"Ref"' not in text, f"{name} left unresolved: {text}"
        (tmp_path / f"{name}.json").write_text(text)
    # One run over the folder; each finding names its file, so its role and policy.
    result = _run([_tool("parliament"), "--directory", str(tmp_path), "--json"])
    assert result.returncode in (0, 1) and not result.stderr.strip(), result.stderr
    findings = [line for line in result.stdout.splitlines() if line.strip()]
    assert not findings, "\n".join(findings)


def test_the_outputs_are_the_project_settings_and_role_arns() -> None:
    template = aws_stack.load_template(TEMPLATE)
    names = {aws_stack.setting_name(key) for key in template["Outputs"]}
    roles = {name for name in names if name.endswith("_ROLE_ARN")}
    assert names - roles <= set(VARIABLES), sorted(names - roles - set(VARIABLES))
    assert names - roles == {
        "SMARTCITY_LAKE_URI",
        "SMARTCITY_ARTIFACTS_URI",
        "SMARTCITY_CHECKPOINT_URI",
        "SMARTCITY_GLUE_DATABASE",
        "SMARTCITY_RAW_SCHEMA",
        "SMARTCITY_ATHENA_STAGING_DIR",
        "SMARTCITY_ATHENA_DATA_DIR",
        "SMARTCITY_ATHENA_SCHEMA",
        "SMARTCITY_ATHENA_WORK_GROUP",
        # With CreateRedshiftServerless=true only (the outputs' condition).
        "SMARTCITY_REDSHIFT_HOST",
        "SMARTCITY_REDSHIFT_WORKGROUP",
        "SMARTCITY_REDSHIFT_DATABASE",
    }
    assert len(roles) == 5
    for key, output in template["Outputs"].items():
        assert output["Description"].startswith(aws_stack.setting_name(key) + " - "), key
    values = _values(template)
    resolved = {k: _resolve(v["Value"], values) for k, v in template["Outputs"].items()}
    lake = resolved["SmartcityLakeUri"]
    # The checkpoints sit beside the lake's tables, never inside raw/ or dead_letters/.
    checkpoints = resolved["SmartcityCheckpointUri"]
    assert not checkpoints.startswith((f"{lake}/raw", f"{lake}/dead_letters"))
    assert aws_stack.export_lines({"SmartcityLakeUri": "s3://a b"}, "eu-west-1") == [
        "export AWS_REGION=eu-west-1",
        "export SMARTCITY_LAKE_URI='s3://a b'",
    ]


def test_the_template_fits_in_one_api_call() -> None:
    assert len(TEMPLATE.read_bytes()) < aws_stack.MAX_TEMPLATE_BODY
