"""Where the lake's Iceberg tables are catalogued: a SQLite file on one machine, AWS Glue
on AWS. Both are opened with pyiceberg; Trino, Athena and DuckDB read the same catalogs
(docs/architecture.md)."""

from __future__ import annotations

import os
from pathlib import Path

from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.catalog.sql import SqlCatalog

LOCAL_CATALOG_FILE = "iceberg_catalog.db"
LOCAL_CATALOG_NAME = "lake"


def local_catalog(lake: Path, name: str = LOCAL_CATALOG_NAME) -> SqlCatalog:
    """Iceberg's JDBC catalog on a SQLite file at the lake's root, with the tables under
    the lake: the catalog pyiceberg, Trino and DuckDB all open on one machine."""
    lake = lake.resolve()
    lake.mkdir(parents=True, exist_ok=True)
    return SqlCatalog(
        name,
        uri=f"sqlite:///{lake / LOCAL_CATALOG_FILE}",
        # Not Path.as_uri(): pyiceberg takes a file URI's path as written, and
        # percent-encoding would change a folder named like event_hour=8.
        warehouse=f"file://{lake}",
    )


def glue_catalog(region: str, name: str = "glue") -> GlueCatalog:
    """The Glue Data Catalog of ``region``. Credentials and endpoints come from the
    standard AWS settings (``AWS_PROFILE``, ``AWS_ENDPOINT_URL``, ...), for Glue through
    boto3 and for the table files in S3 through Arrow's S3 file system."""
    properties = {"glue.region": region, "s3.region": region}
    # boto3 reads the endpoint variables itself; Arrow's S3 file system does not.
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        properties["s3.endpoint"] = endpoint
    return GlueCatalog(name, **properties)
