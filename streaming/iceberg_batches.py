"""A landed micro-batch committed to an Iceberg table exactly once.

The landing job writes a batch's Parquet files into the table's folders, one file per
event hour and task. It then commits them with :func:`commit_batch`: one Iceberg
transaction that adds the files and records the batch id in a table property. So a reader
sees all of a batch or none of it, and a batch that Spark replays after a crash is
recognised and not appended again. The record is a table property, not a snapshot
summary: snapshot expiry and file rewrites keep properties but drop or bypass the
snapshot that carried the id. Why pyiceberg and not Spark's Iceberg runtime:
docs/architecture.md.

Several writers may share a table (the five sources' dead letters share one), so each
writer has its own property. A commit that loses the race to another writer's is tried
again on the table as that writer left it: by pyiceberg itself (it rebuilds the append
on the new table; properties alone always apply to the newest table), and here, after
reading the batch record again, once pyiceberg gives up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import Table

LANDED_BATCH_PROPERTY = "smartcity.landed-batch.{writer}"
BATCH_ID_SUMMARY = "smartcity.batch-id"
# Five writers at most share a table; each retry follows another writer's commit.
COMMIT_ATTEMPTS = 20


class BatchCommitError(RuntimeError):
    """A batch could not be committed, or the table was landed by another checkpoint."""


def landed_batch(table: Table, writer: str) -> tuple[str, int] | None:
    """The checkpoint (streaming query id) and batch id ``writer`` last committed."""
    value = table.properties.get(LANDED_BATCH_PROPERTY.format(writer=writer))
    if value is None:
        return None
    record = json.loads(value)
    return str(record["query_id"]), int(record["batch_id"])


def holds_batch(table: Table, writer: str, query_id: str, batch_id: int) -> bool:
    """Whether ``table`` holds ``writer``'s batch ``batch_id`` already (a replay). Raises
    :class:`BatchCommitError` when the table holds batches of another streaming query of
    the same writer: a new checkpoint would number its batches from 0 again and land
    Kafka's records a second time."""
    landed = landed_batch(table, writer)
    if landed is None:
        return False
    landed_query, landed_id = landed
    if landed_query != query_id:
        raise BatchCommitError(
            f"{'.'.join(table.name())} holds batches of {writer} landed by streaming query "
            f"{landed_query}, but this checkpoint's query is {query_id}: point "
            "SMARTCITY_CHECKPOINT_URI at the checkpoint that landed them, or land "
            "into a new lake."
        )
    return batch_id <= landed_id


def commit_batch(
    load_table: Callable[[], Table],
    writer: str,
    query_id: str,
    batch_id: int,
    files: Sequence[str],
) -> bool:
    """Add ``files`` (absolute URIs) to the table as ``writer``'s batch ``batch_id``.

    Returns False when that batch was committed before (a replay): its files, written
    again, are then not the table's and the caller removes them. A batch of no files
    still records its id. Raises :class:`BatchCommitError` as :func:`holds_batch` does.
    """
    for _ in range(COMMIT_ATTEMPTS):
        table = load_table()
        if holds_batch(table, writer, query_id, batch_id):
            return False
        record = json.dumps({"query_id": query_id, "batch_id": batch_id})
        try:
            with table.transaction() as transaction:
                if files:
                    # The property above already refuses a batch twice; looking for
                    # duplicate paths would read every manifest of the table per batch.
                    transaction.add_files(
                        list(files),
                        snapshot_properties={BATCH_ID_SUMMARY: str(batch_id)},
                        check_duplicate_files=False,
                    )
                transaction.set_properties({LANDED_BATCH_PROPERTY.format(writer=writer): record})
            return True
        except CommitFailedException:
            continue  # another writer committed first: look at the table again
    raise BatchCommitError(
        f"Batch {batch_id} of {writer} lost {COMMIT_ATTEMPTS} commits in a row to other "
        "writers of the same table; nothing of it was committed. Restart the job to retry."
    )
