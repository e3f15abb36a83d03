"""moto's server mode with eight additions the tests need, started as
``python -m tests.local_aws -H 127.0.0.1 -p PORT`` (the same arguments as ``moto.server``).

Each addition is made to the server, never to a client: every client (boto3, dbt-athena,
Spark's S3A, Trino's AWS SDK) still speaks the real wire protocol to it.

1. **Glue's column statistics.** moto 5.2.5 does not implement
   ``UpdateColumnStatisticsForTable`` and its siblings, which Trino's Glue metastore calls
   on every Hive write. They answer as Glue does for a table without statistics: nothing
   stored, nothing returned, no error.
2. **Glue's resources under IAM.** moto judges every Glue call against ``Resource "*"``,
   so a policy scoped to named databases is refused everything. Here a Glue call is
   judged as AWS judges it: against the ARN of the catalog, of the database and of each
   table it names (AWS Glue developer guide, "Specifying AWS Glue resource ARNs").
3. **Athena's workgroups under IAM.** moto judges Athena calls against ``"*"`` too; here
   a query call is judged against the ARN of its workgroup (named in the call, or the
   workgroup of the execution it names), as AWS does.
4. **S3's multi-object delete under IAM.** moto judges a ``DeleteObjects`` call as one
   ``s3:DeleteObject`` on the bucket, so a policy scoped to prefixes is refused every
   key; here each key is judged on its own ARN, as AWS does, and only the refused keys
   come back as errors.
5. **Refusals as AWS words them.** A refused call of a JSON service (Glue, Athena) is
   answered in that protocol's error shape, ``AccessDeniedException`` with the action
   and the resource, where moto answers an XML document without the
   resource that botocore cannot parse.
6. **A call log.** With ``SMARTCITY_MOTO_CALL_LOG`` set, each call judged under IAM
   enforcement appends one JSON line: the principal's ARN, the action, the resource and
   whether it was allowed. The tests read it to name every call a client made.
7. **Athena's UpdateWorkGroup** (not in moto 5.2.5), for the scan cutoff and whether the
   configuration is enforced: the settings the local Athena reads from the workgroup.
8. **The Redshift Data API's statements end.** moto records a statement and leaves it
   ``STARTED`` for ever (no Redshift runs it), and drops the Serverless workgroup it
   was sent to. Here a statement is ``FINISHED`` once recorded and ``DescribeStatement``
   answers its ``WorkgroupName``: a client's wait ends, and the tests see where each
   statement went. Nothing runs the SQL; the tests check what was sent.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from moto.athena.responses import AthenaResponse
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError
from moto.glue.responses import GlueResponse
from moto.iam.access_control import IAMRequestBase
from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse
from moto.s3.exceptions import S3AccessDeniedError
from moto.s3.responses import S3Response
from werkzeug.exceptions import HTTPException

from smartcity.local_stack.kafka_broker import free_port, port_is_open
from smartcity.local_stack.local_server import LocalServer

CALL_LOG_VARIABLE = "SMARTCITY_MOTO_CALL_LOG"
ROOT = Path(__file__).resolve().parents[1]
_log_lock = threading.Lock()

# Glue actions by the resources they touch beyond the catalog (the rest: the catalog).
_DATABASE_ACTIONS = {"GetDatabase", "CreateDatabase", "DeleteDatabase", "UpdateDatabase"}
_ALL_TABLES_ACTIONS = {"GetTables", "SearchTables"}
_STATISTICS_ACTIONS = {
    "UpdateColumnStatisticsForTable",
    "DeleteColumnStatisticsForTable",
    "GetColumnStatisticsForTable",
    "UpdateColumnStatisticsForPartition",
    "DeleteColumnStatisticsForPartition",
    "GetColumnStatisticsForPartition",
}


def glue_resources(
    action: str, parameters: dict[str, Any], region: str, account: str
) -> Iterator[str]:
    """The ARNs a Glue call is judged against: its catalog, then its database and
    tables, as AWS names them (``table/<database>/<table>``)."""
    prefix = f"arn:aws:glue:{region}:{parameters.get('CatalogId') or account}"
    yield f"{prefix}:catalog"
    if action in _DATABASE_ACTIONS:
        name = parameters.get("Name") or parameters.get("DatabaseInput", {}).get("Name")
        yield f"{prefix}:database/{name}"
        return
    database = parameters.get("DatabaseName")
    if database is None:
        return
    yield f"{prefix}:database/{database}"
    if action in _ALL_TABLES_ACTIONS:
        yield f"{prefix}:table/{database}/*"
        return
    tables = list(parameters.get("TablesToDelete") or [])
    table = parameters.get("TableName") or parameters.get("TableInput", {}).get("Name")
    if action in {"DeleteTable", "GetTable"}:
        table = parameters.get("Name") or table
    if table:
        tables.append(table)
    for name in tables:
        yield f"{prefix}:table/{database}/{name}"


def _judged_glue_call(self: GlueResponse, resource: str = "*") -> None:
    parameters = json.loads(self.body or "{}")
    action = self._get_action()
    for arn in glue_resources(action, parameters, self.region, self.current_account):
        self._authenticate_and_authorize_action(_request_class(), arn)


def _athena_resource(self: AthenaResponse) -> str:
    parameters = json.loads(self.body or "{}")
    work_group = parameters.get("WorkGroup")
    if work_group is None and "QueryExecutionId" in parameters:
        execution = self.athena_backend.executions.get(parameters["QueryExecutionId"])
        work_group = execution.workgroup.name if execution and execution.workgroup else None
    if work_group is None and self._get_action() == "StartQueryExecution":
        work_group = "primary"
    if work_group is None:
        return "*"
    return f"arn:aws:athena:{self.region}:{self.current_account}:workgroup/{work_group}"


def _delete_keys_judged_per_key(
    self: S3Response, bucket_name: str, authenticated: bool = True
) -> Any:
    import xmltodict
    from moto.core.responses import ActionResult

    objects = xmltodict.parse(self.body, strip_whitespace=False)["Delete"].get("Object", [])
    objects = objects if isinstance(objects, list) else [objects]
    allowed, errors = [], []
    for item in objects:
        try:
            self._authenticate_and_authorize_s3_action(
                bucket_name=bucket_name, key_name=item["Key"]
            )
        except S3AccessDeniedError:
            errors.append({"Key": item["Key"], "Code": "AccessDenied", "Message": "Access Denied"})
        else:
            allowed.append(item)
    bypass = self.headers.get("x-amz-bypass-governance-retention", "").lower() == "true"
    deleted, locked = (
        self.backend.delete_objects(bucket_name, allowed, bypass) if allowed else ([], [])
    )
    errors += [{"Key": k, "Code": "AccessDenied", "Message": "object locked"} for k in locked]
    self.data["Action"] = "DeleteObjects"
    return self.serialized(
        ActionResult(
            {
                "Deleted": [
                    {"Key": k, "VersionId": v or None, "DeleteMarkerVersionId": dv or None,
                     "DeleteMarker": True if dv else None}
                    for k, v, dv in deleted
                ],
                "Errors": errors,
            }
        )
    )  # fmt: skip


def _request_class() -> type:
    from moto.iam.access_control import IAMRequest

    return IAMRequest


def _no_statistics(self: GlueResponse) -> str:
    action = self._get_action()
    if action.startswith("Get"):
        return json.dumps({"ColumnStatisticsList": [], "Errors": []})
    if action.startswith("Update"):
        return json.dumps({"Errors": []})
    return "{}"


def _update_work_group(self: AthenaResponse) -> str | tuple[str, dict[str, int]]:
    """Athena's UpdateWorkGroup, for the settings the local Athena reads: the scan
    cutoff (set, or removed) and whether the workgroup's configuration is enforced."""
    name = self._get_param("WorkGroup")
    group = self.athena_backend.work_groups.get(name)
    if group is None:
        message = f"WorkGroup {name} is not found."
        return json.dumps({"__type": "InvalidRequestException", "Message": message}), {
            "status": 400
        }
    updates = self._get_param("ConfigurationUpdates") or {}
    for key in ("BytesScannedCutoffPerQuery", "EnforceWorkGroupConfiguration"):
        if key in updates:
            group.configuration[key] = updates[key]
    if updates.get("RemoveBytesScannedCutoffPerQuery"):
        group.configuration.pop("BytesScannedCutoffPerQuery", None)
    return "{}"


_check_action_permitted = IAMRequestBase.check_action_permitted


class _JsonAccessDenied(HTTPException):
    """AWS's refusal in the JSON protocols: HTTP 400, ``__type`` and ``Message``."""

    code = 400

    def __init__(self, principal: str, action: str, resource: str) -> None:
        message = (
            f"User: {principal} is not authorized to perform: {action} on resource: "
            f"{resource} because no identity-based policy allows the {action} action"
        )
        super().__init__(json.dumps({"__type": "AccessDeniedException", "Message": message}))

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("Content-Type", "application/x-amz-json-1.1")]


def _logged_check(self: IAMRequestBase, resource: str) -> None:
    allowed = False
    try:
        _check_action_permitted(self, resource)
        allowed = True
    except AccessDeniedError:
        if "X-Amz-Target" not in self._headers:
            raise
        principal = getattr(getattr(self, "_access_key", None), "arn", "unknown")
        raise _JsonAccessDenied(principal, self._action, resource) from None
    finally:
        path = os.environ.get(CALL_LOG_VARIABLE)
        if path:
            principal = getattr(getattr(self, "_access_key", None), "arn", "unknown")
            line = json.dumps(
                {
                    "principal": principal,
                    "action": self._action,
                    "resource": resource,
                    "allowed": allowed,
                }
            )
            with _log_lock, open(path, "a", encoding="utf-8") as log:
                log.write(line + "\n")


def _finished_statement(self: RedshiftDataAPIServiceResponse) -> Any:
    status, headers, body = _execute_statement(self)
    answer = json.loads(body)
    statement = self.redshiftdata_backend.statements[answer["Id"]]
    statement.status = "FINISHED"
    statement.workgroup_name = self._get_param("WorkgroupName")  # type: ignore[attr-defined]
    answer["WorkgroupName"] = statement.workgroup_name  # type: ignore[attr-defined]
    return status, headers, json.dumps(answer)


def _described_statement(self: RedshiftDataAPIServiceResponse) -> Any:
    status, headers, body = _describe_statement(self)
    if status != 200:
        return status, headers, body
    answer = json.loads(body)
    statement = self.redshiftdata_backend.statements[answer["Id"]]
    answer["WorkgroupName"] = getattr(statement, "workgroup_name", None)
    return status, headers, json.dumps(answer)


_execute_statement = RedshiftDataAPIServiceResponse.execute_statement
_describe_statement = RedshiftDataAPIServiceResponse.describe_statement


def install() -> None:
    """Make the eight additions to moto's classes, in this process."""
    GlueResponse._authenticate_and_authorize_normal_action = _judged_glue_call  # type: ignore[method-assign]
    for action in _STATISTICS_ACTIONS:
        name = "".join("_" + c.lower() if c.isupper() else c for c in action).lstrip("_")
        setattr(GlueResponse, name, _no_statistics)
    S3Response._bucket_response_delete_keys = _delete_keys_judged_per_key  # type: ignore[method-assign]
    AthenaResponse._determine_resource = _athena_resource  # type: ignore[attr-defined]
    AthenaResponse.update_work_group = _update_work_group  # type: ignore[attr-defined]
    IAMRequestBase.check_action_permitted = _logged_check  # type: ignore[method-assign]
    RedshiftDataAPIServiceResponse.execute_statement = _finished_statement  # type: ignore[method-assign]
    RedshiftDataAPIServiceResponse.describe_statement = _described_statement  # type: ignore[method-assign]
    assert ActionAuthenticatorMixin  # the mixin whose per-call check the above refines
    _route_without_listing_the_package()


def _route_without_listing_the_package() -> None:
    """Not an addition, the same answers sooner: moto routes each request by listing
    its own package's folders (about 150 ``isdir`` calls), a sixth of the server's time
    under the Athena suite. The list cannot change while the server runs."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]


class MotoServer(LocalServer):
    """This module's server in a process of its own on a free loopback port. Clients
    reach it through AWS_ENDPOINT_URL like any endpoint. With ``call_log``, every call
    judged under IAM is logged there."""

    name = "moto"
    title = "The moto server"
    startup_timeout_s = 60.0
    poll_interval_s = 0.1
    host = "127.0.0.1"

    def __init__(self, state_dir: Path, call_log: Path | None = None) -> None:
        super().__init__(state_dir)
        self.call_log = call_log
        self.port = free_port()

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "tests.local_aws", "-H", self.host, "-p", str(self.port)]

    def popen_options(self) -> dict[str, Any]:
        env = {**os.environ, CALL_LOG_VARIABLE: str(self.call_log)} if self.call_log else None
        return {"env": env, "cwd": ROOT}

    def is_ready(self) -> bool:
        return port_is_open(self.host, self.port)


def main(argv: list[str] | None = None) -> None:
    install()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
