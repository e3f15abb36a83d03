"""`smartcity catalog` and `compact`: keeping the lake readable and registered."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from ingestion.contracts import CONTRACTS
from smartcity.cli.options import Command, Option
from smartcity.console import say
from smartcity.settings import Settings

GRACE_MINUTES = 60


def catalog(args: argparse.Namespace, settings: Settings) -> int:
    from smartcity.aws import glue_client, s3_client
    from streaming.catalog import register

    report = register(
        glue_client(),
        settings.glue_database,
        settings.lake_uri,
        projection=not args.no_projection,
        s3_client=s3_client(settings),
    )
    say(
        f"Glue database {settings.glue_database}: {len(report.created)} tables created, "
        f"{len(report.updated)} updated, {report.partitions_added} partitions added"
    )
    return 0


def compact(args: argparse.Namespace, settings: Settings) -> int:
    from streaming.compaction import CompactionError, compact, partitions

    sources = [c.source for c in CONTRACTS]
    if settings.lake_on_s3:
        raise CompactionError(
            f"compaction works on a local lake; {settings.lake_uri} is on an object "
            "store, which cannot swap a partition atomically"
        )

    def report(title: str) -> None:
        say(title)
        for partition in partitions(Path(settings.lake_uri), sources):
            rows = partition.rows_per_file
            say(
                f"  {partition.label:<55} {len(rows):>5} files  "
                f"{min(rows, default=0):>9,} - {max(rows, default=0):,} rows per file"
            )

    report("Before:" if not args.dry_run else "Files per partition:")
    if args.dry_run:
        return 0
    results = compact(
        settings.lake_uri,
        Path(settings.checkpoint_uri),
        sources,
        grace=timedelta(minutes=args.grace_minutes),
    )
    for result in results:
        say(
            f"compacted {result.partition}: {result.files_before} files -> 1 ({result.rows:,} rows)"
        )
    report("After:")
    return 0


COMMANDS = (
    Command(
        "catalog",
        "register the lake's datasets as tables in the AWS Glue Data Catalog",
        "Create or update, idempotently, one Glue table per raw dataset and the dead-letter "
        "table of the s3:// lake in SMARTCITY_LAKE_URI, in the database "
        "SMARTCITY_GLUE_DATABASE, with Athena partition projection, and add the partitions "
        "present in the lake that Glue does not list yet (Redshift Spectrum reads only "
        "those): run it after landing, or on a schedule. Credentials, region and endpoint "
        "come from the standard AWS configuration (AWS_PROFILE, AWS_REGION, "
        "AWS_ENDPOINT_URL, ...).",
        catalog,
        (
            Option(("action",), "register or update the tables", choices=["register"]),
            Option(
                ("--no-projection",),
                "turn Athena partition projection off: Athena then reads the registered "
                "partitions only, as Spectrum does",
                action="store_true",
                default=False,
            ),
        ),
        needs_project=False,
    ),
    Command(
        "compact",
        "rewrite closed hours of the raw lake into one file per partition",
        "Report files per partition and rows per file, then compact every closed hour "
        "(ended more than --grace-minutes ago) that has more than one file into one file, "
        "swapping the partition atomically. Safe to run beside the landing job.",
        compact,
        (
            Option(
                ("--grace-minutes",),
                "how long after its end an hour counts as closed",
                default=GRACE_MINUTES,
                type=int,
                env="SMARTCITY_COMPACTION_GRACE_MINUTES",
            ),
            Option(
                ("--dry-run",),
                "only report files per partition and rows per file",
                action="store_true",
                default=False,
            ),
        ),
        needs_project=False,
    ),
)
