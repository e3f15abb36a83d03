"""Where the lake's Iceberg tables are catalogued: a SQLite file on one machine, AWS Glue
on AWS. Both are opened with pyiceberg; Trino, Athena and DuckDB read the same catalogs
(docs/architecture.md)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import boto3
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.catalog.sql import SqlCatalog

from foundation.environment import aws_region

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


def is_local(lake_uri: str) -> bool:
    return "://" not in lake_uri or lake_uri.startswith("file:")


def local_path(lake_uri: str) -> Path:
    """The folder of a local lake, given as a path or a ``file:`` URI."""
    return Path(lake_uri.split("://", 1)[1] if "://" in lake_uri else lake_uri)


def table_uri(uri: str) -> str:
    """A location in the lake as Iceberg's metadata names it: ``s3://`` on S3 (Spark's
    ``s3a://`` is the same object, and the one Athena, Trino and Spectrum read), an
    absolute ``file://`` URI for a local path."""
    scheme, _, rest = uri.partition("://")
    if not rest:
        return f"file://{Path(uri).resolve()}"
    if scheme in ("s3a", "s3n"):
        return f"s3://{rest}"
    return uri


def lake_catalog(lake_uri: str) -> Catalog:
    """The catalog of the lake at ``lake_uri``: the SQLite file at a local lake's root,
    Glue for a lake on S3."""
    if is_local(lake_uri):
        return local_catalog(local_path(lake_uri))
    if lake_uri.startswith(("s3://", "s3a://", "s3n://")):
        return glue_catalog(aws_region())
    raise ValueError(
        f"The lake {lake_uri} is neither a local folder nor on S3; SMARTCITY_LAKE_URI takes "
        "a path or an s3:// URI."
    )


def table_commits(lake_uri: str, namespace: str) -> dict[str, str]:
    """Each table's current metadata location in the lake's catalog, by table name.

    Every commit writes a new metadata file, so two answers that differ saw a commit
    between them. One query of the catalog's own listing (the JDBC catalog's
    ``iceberg_tables`` table, Glue's GetTables), without loading any table's metadata:
    cheap enough to ask every second. Empty before anything has landed.
    """
    if is_local(lake_uri):
        catalog_file = local_path(lake_uri).resolve() / LOCAL_CATALOG_FILE
        if not catalog_file.exists():
            return {}
        # Read-only, and waiting out a commit's write lock rather than failing on it.
        with sqlite3.connect(f"{catalog_file.as_uri()}?mode=ro", uri=True, timeout=30) as db:
            rows = db.execute(
                "select table_name, metadata_location from iceberg_tables "
                "where catalog_name = ? and table_namespace = ?",
                (LOCAL_CATALOG_NAME, namespace),
            ).fetchall()
        return dict(rows)
    glue = boto3.client("glue", region_name=aws_region())
    found: dict[str, str] = {}
    try:
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=namespace):
            for table in page["TableList"]:
                found[table["Name"]] = table.get("Parameters", {}).get("metadata_location", "")
    except glue.exceptions.EntityNotFoundException:
        return {}
    return found
