"""The errors a user can meet, each turned into one line that says what to do."""

from __future__ import annotations

from confluent_kafka import KafkaException

from foundation.contracts import ContractViolation
from foundation.environment import InvalidSetting
from ingestion.topics import KafkaUnavailable

NO_AWS_CREDENTIALS = (
    "no AWS credentials found: set AWS_PROFILE (after `aws sso login` or `aws configure`), "
    "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


def _botocore_message(error: Exception) -> str | None:
    try:
        from botocore import exceptions
    except ImportError:  # boto3 is a core dependency, but the CLI must not need it to start
        return None
    if isinstance(error, exceptions.NoCredentialsError | exceptions.PartialCredentialsError):
        return NO_AWS_CREDENTIALS
    if isinstance(error, exceptions.NoRegionError):
        return (
            "no AWS region set: export AWS_REGION (e.g. eu-west-1) or set one in your AWS profile"
        )
    if isinstance(error, exceptions.EndpointConnectionError):
        return f"{error}: check AWS_REGION, AWS_ENDPOINT_URL and the network"
    if isinstance(error, exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("ExpiredToken", "ExpiredTokenException"):
            return "your AWS session has expired: log in again (`aws sso login`) and retry"
        if code in ("AccessDenied", "AccessDeniedException", "UnrecognizedClientException"):
            return f"AWS refused the request ({code}): {error}. Check the role or profile in use."
        return str(error)
    return None


def _duckdb_message(error: Exception) -> str | None:
    try:
        import duckdb
    except ImportError:
        return None
    if isinstance(error, duckdb.IOException) and "lock" in str(error).lower():
        return (
            f"the DuckDB database is in use by another process ({str(error).splitlines()[0]}): "
            "close that, or use another file with SMARTCITY_DUCKDB_PATH"
        )
    return None


def explain(error: Exception) -> tuple[str, int] | None:
    """One line for ``error`` and the exit code, or None for a bug (shown as a traceback)."""
    if isinstance(error, KafkaUnavailable | InvalidSetting):
        return str(error), 2
    if isinstance(error, KafkaException | ContractViolation):
        return str(error), 1
    for message in (_botocore_message(error), _duckdb_message(error)):
        if message is not None:
            return message, 1
    if isinstance(error, OSError) and error.filename:
        # A local path the user chose (SMARTCITY_DATA_DIR and the settings under it) that
        # cannot be used: say which, and why, rather than where in the code it failed.
        return (
            f"{error.strerror or error}: {error.filename}: point SMARTCITY_DATA_DIR (or the "
            "setting that names this path) at a folder you can write"
        ), 1
    if isinstance(error, RuntimeError):
        return str(error), 1
    return None
