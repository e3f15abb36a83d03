"""The AWS side of the platform as one CloudFormation stack (infra/aws/smartcity.yaml).

`deploy` creates the stack, or updates it, waits for it while printing its events, and
returns its outputs; `export_lines` turns them into the shell lines that set the
project's settings. Every output key is a SMARTCITY_* setting in CamelCase
(SmartcityLakeUri is SMARTCITY_LAKE_URI), so nothing is mapped by hand.

A failure is a StackError with one line that says what to do: a parameter the template
needs and was not given, a bucket name someone already has, a stack that failed (its
first failed event).
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from smartcity.settings import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "infra" / "aws" / "smartcity.yaml"
DEFAULT_STACK_NAME = "smartcity"
# The parameters that name a bucket, and the option of `smartcity aws-stack` that sets each.
BUCKET_PARAMETERS = {"LakeBucketName": "--lake-bucket", "ResultsBucketName": "--results-bucket"}
PARAMETER_FLAGS = {**BUCKET_PARAMETERS, "TrustedPrincipalArn": "--trusted-principal"}
# CloudFormation accepts a template body of this size at most; a larger one needs S3.
MAX_TEMPLATE_BODY = 51_200

_DONE = re.compile(r"_(COMPLETE|FAILED)$")


class StackError(RuntimeError):
    """A deployment that cannot go on, with the one line that says why."""


# ------------------------------------------------------------------ the template


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, !GetAtt, ...) read as the
    long forms ({"Ref": ...}, {"Fn::Sub": ...}), as CloudFormation itself reads them."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_TemplateLoader)  # a SafeLoader subclass


def setting_name(output_key: str) -> str:
    """SmartcityLakeUri -> SMARTCITY_LAKE_URI."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", output_key).upper()


def export_lines(outputs: Mapping[str, str], region: str | None = None) -> list[str]:
    lines = [f"export AWS_REGION={shlex.quote(region)}"] if region else []
    lines += [
        f"export {setting_name(key)}={shlex.quote(value)}" for key, value in sorted(outputs.items())
    ]
    return lines


def check_parameters(template: Mapping[str, Any], parameters: Mapping[str, str]) -> None:
    declared = template.get("Parameters", {})
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise StackError(
            f"unknown stack parameter {', '.join(unknown)}: the template declares "
            f"{', '.join(declared)}"
        )
    missing = [
        name
        for name, spec in declared.items()
        if "Default" not in spec and not parameters.get(name)
    ]
    if missing:
        how = ", ".join(
            f"{name} ({PARAMETER_FLAGS[name]})"
            if name in PARAMETER_FLAGS
            else f"{name} (--parameter {name}=...)"
            for name in missing
        )
        raise StackError(f"missing stack parameter {how}: give it and deploy again")


# ------------------------------------------------------------------ the stack


def _stack(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except cfn.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def _stack_buckets(cfn: Any, name: str) -> set[str]:
    return {
        resource.get("PhysicalResourceId", "")
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name)
        for resource in page["StackResourceSummaries"]
        if resource.get("ResourceType") == "AWS::S3::Bucket"
    }


def check_buckets_free(
    s3: Any, parameters: Mapping[str, str], owned: set[str] = frozenset()
) -> None:
    """Each bucket the stack would create is either already the stack's or free: a name
    taken by anyone else fails here, in one line, before CloudFormation starts."""
    for parameter, flag in BUCKET_PARAMETERS.items():
        bucket = parameters.get(parameter)
        if not bucket or bucket in owned:
            continue
        try:
            s3.head_bucket(Bucket=bucket)
        except s3.exceptions.ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket", "NotFound"):
                continue
            if code in ("403", "AccessDenied", "Forbidden"):
                raise StackError(
                    f"the bucket name {bucket} is already taken (S3 BucketAlreadyExists): "
                    f"bucket names are global; choose another with {flag}"
                ) from None
            raise
        raise StackError(
            f"the bucket {bucket} already exists in this account (S3 "
            f"BucketAlreadyOwnedByYou) outside the stack: choose another name with {flag}, "
            "or delete that bucket"
        )


def _first_failure(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    failed = [
        event
        for event in events
        if event["ResourceStatus"].endswith("_FAILED")
        and "cancelled" not in event.get("ResourceStatusReason", "").lower()
        and event.get("ResourceType") != "AWS::CloudFormation::Stack"
    ]
    return failed[0] if failed else None


def _failure_message(stack_name: str, status: str, event: dict[str, Any] | None) -> str:
    if event is None:
        return f"stack {stack_name} ended in {status}; see its events in the CloudFormation console"
    reason = event.get("ResourceStatusReason", "").strip()
    where = f"{event['LogicalResourceId']} ({event['ResourceType']})"
    if event["ResourceType"] == "AWS::S3::Bucket" and "exist" in reason.lower():
        return (
            f"stack {stack_name} failed: {where}: the bucket name "
            f"{event.get('PhysicalResourceId') or ''} is already taken (S3 "
            f"BucketAlreadyExists); choose another name and deploy again ({reason})"
        )
    return f"stack {stack_name} failed ({status}): {where}: {reason}"


def wait(
    cfn: Any,
    stack_name: str,
    seen: set[str],
    say: Callable[[str], None],
    poll_s: float = 5.0,
    timeout_s: float = 3600.0,
) -> tuple[str, list[dict[str, Any]]]:
    """Poll the stack until it settles, printing each new event once; return its final
    status and the events of this run, oldest first."""
    deadline = time.monotonic() + timeout_s
    run_events: list[dict[str, Any]] = []
    while True:
        events = []
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_name):
            events += page["StackEvents"]
        for event in reversed(events):  # the API lists the newest first
            if event["EventId"] in seen:
                continue
            seen.add(event["EventId"])
            run_events.append(event)
            reason = event.get("ResourceStatusReason") or ""
            say(
                f"  {event['ResourceStatus']:<22} {event['ResourceType']:<28} "
                f"{event['LogicalResourceId']}{'  ' + reason if reason else ''}"
            )
        stack = _stack(cfn, stack_name)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        if _DONE.search(status) and "CLEANUP_IN_PROGRESS" not in status:
            return status, run_events
        if time.monotonic() > deadline:
            raise StackError(f"stack {stack_name} is still {status} after {timeout_s:.0f} s")
        time.sleep(poll_s)


def _seen_events(cfn: Any, stack_name: str) -> set[str]:
    return {
        event["EventId"]
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_name)
        for event in page["StackEvents"]
    }


def outputs(cfn: Any, stack_name: str) -> dict[str, str]:
    stack = _stack(cfn, stack_name)
    if stack is None:
        raise StackError(
            f"no stack {stack_name} in this account and region: deploy it first "
            "(smartcity aws-stack deploy)"
        )
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def deploy(
    cfn: Any,
    s3: Any,
    stack_name: str,
    parameters: Mapping[str, str],
    template_path: Path = TEMPLATE,
    say: Callable[[str], None] = print,
    poll_s: float = 5.0,
    defaults: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create the stack, or update it to the template and parameters; return its outputs.

    ``defaults`` fill parameters not given when the stack is created; on an update, every
    parameter not given keeps the value the stack has, so a later deploy never resets
    what an earlier one set (who may assume the roles, a scan limit)."""
    template = load_template(template_path)
    check_parameters(template, {**(defaults or {}), **parameters})
    body = template_path.read_text()
    if len(body.encode()) > MAX_TEMPLATE_BODY:
        raise StackError(f"{template_path} is over {MAX_TEMPLATE_BODY} bytes, too big to send")
    stack = _stack(cfn, stack_name)
    if stack and stack["StackStatus"] == "ROLLBACK_COMPLETE":
        # A first creation that failed leaves an empty stack that can only be deleted.
        say(f"==> deleting stack {stack_name}, left empty by a failed creation")
        seen = _seen_events(cfn, stack_name)
        cfn.delete_stack(StackName=stack_name)
        wait(cfn, stack_name, seen, say, poll_s)
        stack = None
    elif stack and not _DONE.search(stack["StackStatus"]):
        raise StackError(
            f"stack {stack_name} is busy ({stack['StackStatus']}): wait for it and deploy again"
        )
    check_buckets_free(s3, parameters, _stack_buckets(cfn, stack_name) if stack else set())
    given = dict(parameters) if stack else {**(defaults or {}), **parameters}
    # The values the stack holds, sent back as they are (the template has no NoEcho
    # parameter; moto, the tests' CloudFormation, fails on UsePreviousValue for a
    # parameter that was left at its default).
    kept = [
        {"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]}
        for p in (stack or {}).get("Parameters", [])
        if p["ParameterKey"] not in given and p["ParameterKey"] in template["Parameters"]
    ]
    arguments = {
        "StackName": stack_name,
        "TemplateBody": body,
        "Parameters": [
            {"ParameterKey": key, "ParameterValue": value} for key, value in given.items()
        ]
        + kept,
        "Capabilities": ["CAPABILITY_IAM"],
    }
    if stack is None:
        say(f"==> creating stack {stack_name}")
        seen: set[str] = set()
        cfn.create_stack(**arguments, OnFailure="ROLLBACK")
    else:
        seen = _seen_events(cfn, stack_name)
        say(f"==> updating stack {stack_name}")
        try:
            cfn.update_stack(**arguments)
        except cfn.exceptions.ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
            say(f"==> stack {stack_name} is already up to date")
            return outputs(cfn, stack_name)
    status, events = wait(cfn, stack_name, seen, say, poll_s)
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise StackError(_failure_message(stack_name, status, _first_failure(events)))
    say(f"==> stack {stack_name}: {status}")
    return outputs(cfn, stack_name)
