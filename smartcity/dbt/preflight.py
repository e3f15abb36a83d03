"""Checks made before a command starts work, so that what a user can fix is said in one
line before anything has run: a folder that cannot be written, a DuckDB file another
process holds, a production target whose settings or credentials are missing."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from smartcity.settings import setting


class NotReady(RuntimeError):
    """Something the user has to fix before the command can run; the message says what."""


def require_writable(folder: Path, setting: str) -> None:
    """``folder`` exists (made if needed) and a file can be written in it."""
    _require_writable(folder, f"point {setting} at a folder you can write", setting, "")


def require_writable_file(path: Path, setting: str) -> None:
    """The folder of the file ``path`` exists (made if needed) and can be written; the
    advice names a file, since ``setting`` holds a file's path."""
    _require_writable(
        path.parent,
        f"point {setting} at a file in a folder you can write",
        setting,
        f"/{path.name}",
    )


def _require_writable(folder: Path, advice: str, setting: str, file_name: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise NotReady(
            f"cannot write to {folder} ({reason}): {advice}, "
            f"e.g. `export {setting}=$HOME/smartcity-data{file_name}`"
        ) from None


def duckdb_lock_holder(path: Path, wait_s: float = 2.0) -> str | None:
    """Who holds ``path`` locked against writing, or None once it can be opened.

    A reader such as the dashboard holds the file for one query at a time, so a lock is
    retried for ``wait_s`` before it is reported."""
    import duckdb

    deadline = time.monotonic() + wait_s
    while True:
        try:
            duckdb.connect(str(path)).close()
            return None
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                holder = re.search(r"\(PID (\d+)\)", str(error))
                return f"PID {holder.group(1)}" if holder else "another process"
            time.sleep(0.1)


def require_unlocked_duckdb(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = duckdb_lock_holder(path)
    if holder is not None:
        raise NotReady(
            f"the DuckDB database {path} is in use by {holder} (another dbt run, a "
            "`duckdb` shell or a notebook holding it open): close that, or build into "
            "another file with SMARTCITY_DUCKDB_PATH"
        )


def dbt_target(arguments: Sequence[str], environ: Mapping[str, str]) -> str:
    """The target a dbt command line runs against, as dbt itself picks it."""
    for index, argument in enumerate(arguments):
        if argument in ("--target", "-t") and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith("--target="):
            return argument.split("=", 1)[1]
    return setting(environ, "SMARTCITY_DBT_TARGET")


ATHENA_SETTINGS = {
    "SMARTCITY_ATHENA_STAGING_DIR": "the s3:// folder for Athena's query results",
    "SMARTCITY_ATHENA_DATA_DIR": "the s3:// folder of the tables dbt builds",
}


def require_aws_target(target: str, environ: Mapping[str, str]) -> None:
    """The athena target's buckets are set, are no placeholder, and AWS credentials exist."""
    if target != "athena" and not target.startswith("athena_"):  # athena_dev too
        return
    for name, meaning in ATHENA_SETTINGS.items():
        value = environ.get(name, "")
        if not value.startswith("s3://") or "change-me" in value:
            shown = f"is {value!r}" if value else "is not set"
            raise NotReady(
                f"{name} {shown}: set it to {meaning}, e.g. "
                f"`export {name}=s3://<your-bucket>/{'athena-results' if 'STAGING' in name else 'warehouse'}/`"
            )
    require_aws_credentials(environ)


def require_aws_credentials(environ: Mapping[str, str]) -> None:
    """Credentials that dbt, started with ``environ``, will find: keys given there, else
    the default chain with the profile it names."""
    import boto3

    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        return
    profile = environ.get("AWS_PROFILE") or None
    try:
        credentials = boto3.Session(profile_name=profile).get_credentials()
    except Exception:  # botocore's ProfileNotFound and kin: no usable credentials
        credentials = None
    if credentials is None:
        raise NotReady(
            "no AWS credentials found: set AWS_PROFILE (after `aws sso login` or `aws "
            "configure`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
