"""AWS clients from the standard configuration chain; nothing AWS-specific is stored here."""

from __future__ import annotations

from typing import Any

from foundation.environment import aws_region
from smartcity.settings import Settings


def region() -> str:
    """The one region of every AWS client of the project (foundation/environment.py)."""
    return aws_region()


def glue_client() -> Any:
    import boto3

    # boto3 itself honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_GLUE for a stand-in server.
    return boto3.client("glue", region_name=region())


def s3_client(settings: Settings) -> Any:
    import boto3

    return boto3.client("s3", region_name=region(), endpoint_url=settings.s3_endpoint_url)
