"""`smartcity compact`: keeping the lake's Iceberg tables compact and their history short."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING

import click

from foundation.contracts import CONTRACTS
from smartcity.cli.options import command, variable_option
from smartcity.console import say
from smartcity.settings import Settings

if TYPE_CHECKING:
    from pyiceberg.table import Table


def compact(args: SimpleNamespace, settings: Settings) -> int:
    from pyiceberg.exceptions import NoSuchTableError

    from foundation.lake_tables import LAKE_TABLES
    from streaming.iceberg_catalogs import lake_catalog
    from streaming.maintenance import compact, expire, hours

    catalog = lake_catalog(settings.lake_uri)
    namespace = settings.iceberg_namespace

    def loader(name: str) -> Callable[[], Table]:
        return lambda: catalog.load_table((namespace, name))

    landed = []
    for table in LAKE_TABLES:
        try:
            loader(table.name)()
        except NoSuchTableError:
            continue  # nothing landed yet
        landed.append(table.name)
    raw = [name for name in landed if name in {c.source for c in CONTRACTS}]

    def report(title: str) -> None:
        say(title)
        for name in raw:
            for hour in hours(loader(name)(), name):
                _say_partition(hour.label, hour.rows_per_file)

    report("Before:" if not args.dry_run else "Files per partition:")
    if args.dry_run:
        return 0
    for name in raw:
        for result in compact(loader(name), name, grace=timedelta(minutes=args.grace_minutes)):
            say(
                f"compacted {result.partition}: {result.files_before} files -> 1 "
                f"({result.rows:,} rows)"
            )
    keep = timedelta(minutes=args.keep_superseded_minutes)
    for name in landed:
        expired = expire(loader(name)(), name, keep)
        if expired.snapshots_expired or expired.files_deleted or expired.manifests_deleted:
            say(
                f"expired {name}: {expired.snapshots_expired} snapshots older than "
                f"{args.keep_superseded_minutes} min; deleted {expired.files_deleted} data "
                f"files and {expired.manifests_deleted} manifests no snapshot reads"
            )
    report("After:")
    return 0


def _say_partition(label: str, rows: list[int] | tuple[int, ...], note: str = "") -> None:
    say(
        f"  {label:<55} {len(rows):>5} files  "
        f"{min(rows, default=0):>9,} - {max(rows, default=0):,} rows per file{note}"
    )


COMMANDS = (
    command(
        "compact",
        "compact and expire the lake's Iceberg tables",
        "Report files per event hour and rows per file, then rewrite every closed hour "
        "(ended more than --grace-minutes ago) of each raw table that has more than one "
        "file into one file, by an Iceberg commit that readers see whole or not at all. "
        "Then expire every table's snapshots older than --keep-superseded-minutes and "
        "delete the files no remaining snapshot reads (those compaction replaced, and "
        "strays of landing attempts that never committed). Works on a local lake and on "
        "an s3:// one alike; safe to run beside the landing job.",
        compact,
        (
            variable_option(
                "--grace-minutes",
                variable="SMARTCITY_COMPACTION_GRACE_MINUTES",
                help="how long after its end an hour counts as closed",
            ),
            variable_option(
                "--keep-superseded-minutes",
                variable="SMARTCITY_COMPACTION_KEEP_SUPERSEDED_MINUTES",
                help="how long replaced files and older snapshots stay for readers that "
                "planned a query on them",
            ),
            click.Option(
                ["--dry-run"],
                is_flag=True,
                help="only report files per partition and rows per file",
            ),
        ),
        needs_project=False,
    ),
)
