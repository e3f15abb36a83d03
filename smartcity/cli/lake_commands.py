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
# Longer than the longest query on Athena or Spectrum over the raw tables.
KEEP_SUPERSEDED_MINUTES = 120


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
    from streaming.compaction import compact, partitions

    sources = [c.source for c in CONTRACTS]
    if settings.lake_on_s3:
        return _compact_s3(args, settings, sources)

    def report(title: str) -> None:
        say(title)
        for partition in partitions(Path(settings.lake_uri), sources):
            _say_partition(partition.label, partition.rows_per_file)

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


def _say_partition(label: str, rows: list[int] | tuple[int, ...], note: str = "") -> None:
    say(
        f"  {label:<55} {len(rows):>5} files  "
        f"{min(rows, default=0):>9,} - {max(rows, default=0):,} rows per file{note}"
    )


def _compact_s3(args: argparse.Namespace, settings: Settings, sources: list[str]) -> int:
    """An s3:// lake: new generations, Glue partitions repointed, superseded files
    deleted by a later run once --keep-superseded-minutes have passed."""
    from smartcity.aws import glue_client, s3_client
    from streaming.s3_compaction import (
        S3Lake,
        compact_s3,
        journals,
        require_registered_without_projection,
        s3_partitions,
    )

    glue, s3 = glue_client(), s3_client(settings)
    lake = S3Lake.of(s3, settings.lake_uri)
    database = settings.glue_database
    for source in sources:
        require_registered_without_projection(glue, database, source)

    def report(title: str) -> None:
        say(title)
        recorded = [journal for _, journal in journals(lake)]
        for source in sources:
            for partition in s3_partitions(lake, glue, database, source, recorded):
                rows = [lake.parquet_rows(key) for key in partition.live]
                late = len(partition.unreachable)
                note = f"  ({late} landed after compaction)" if late else ""
                _say_partition(partition.label, rows, note)

    report("Before:" if not args.dry_run else "Files per partition (as Glue readers see them):")
    if args.dry_run:
        return 0
    result = compact_s3(
        settings.lake_uri,
        settings.checkpoint_uri,
        sources,
        glue=glue,
        s3=s3,
        database=database,
        grace=timedelta(minutes=args.grace_minutes),
        keep_superseded=timedelta(minutes=args.keep_superseded_minutes),
    )
    for label in result.committed:
        say(f"finished {label}: Glue already pointed at it when the run that made it stopped")
    for label in result.undone:
        say(f"removed {label}: the run that made it stopped before Glue pointed at it")
    if result.deleted:
        say(f"deleted {result.deleted} superseded files past their grace")
    for label, files, rows in result.compacted:
        say(f"compacted {label}: {files} files -> 1 ({rows:,} rows); Glue points at it")
    for reason in result.waiting:
        say(f"waiting: {reason}")
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
        "those): run it after landing, or on a schedule. On an s3:// lake that `smartcity "
        "compact` compacts, use --no-projection, so that Athena follows the partitions "
        "compaction repoints. Credentials, region and endpoint "
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
        "(ended more than --grace-minutes ago) that has more than one file into one file. "
        "On a local lake the partition is swapped atomically. On an s3:// lake the file is "
        "written under a new prefix (compacted/raw/...) and the Glue partition repointed at "
        "it in one call (the tables must be registered with --no-projection); the files it "
        "replaces are deleted by a later run, --keep-superseded-minutes after. Safe to run "
        "beside the landing job.",
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
                ("--keep-superseded-minutes",),
                "s3:// lake: how long the files a compaction replaced stay for readers that "
                "resolved the partition before it was repointed; a later run deletes them",
                default=KEEP_SUPERSEDED_MINUTES,
                type=int,
                env="SMARTCITY_COMPACTION_KEEP_SUPERSEDED_MINUTES",
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
