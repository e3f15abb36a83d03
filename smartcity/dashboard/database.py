"""Read-only DuckDB connections that live for one query and wait out dbt's write lock.

DuckDB lets one process write a database file, or any number read it, never both: a
dashboard holding a connection open would stop ``dbt build`` from writing. So every query
opens its own read-only connection and closes it straight after, and a query that finds
dbt writing waits a little and tries again before giving up with a message.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

# dbt holds the lock for the length of a model build: seconds on the demo's data. Longer
# than this and the reader is better served by a message than by a spinner.
LOCK_TIMEOUT_S = 4.0
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 0.5

RERUN_HINT = "run `smartcity demo` or `dbt build` first"


class DashboardDataError(Exception):
    """A reason the figures cannot be shown, worded for the reader of the dashboard."""


class DatabaseMissing(DashboardDataError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"There is no database at `{path}` yet: {RERUN_HINT}.")
        self.path = path


class DatabaseBusy(DashboardDataError):
    def __init__(self, path: Path, waited_s: float) -> None:
        super().__init__(
            "dbt is writing the database; refresh in a moment "
            f"(`{path}` stayed locked for {waited_s:.1f} s)."
        )
        self.path = path


def _is_lock_conflict(error: duckdb.Error) -> bool:
    # DuckDB reports a writer elsewhere as an IOException; its text is the only thing
    # that tells it apart from an unreadable file.
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text


def _open(path: Path, timeout_s: float) -> duckdb.DuckDBPyConnection:
    started = time.monotonic()
    backoff = FIRST_BACKOFF_S
    while True:
        if not path.exists():
            # Checked first: DuckDB's read-only open of a missing file is an error too,
            # but one that reads like a bug rather than "nothing built yet".
            raise DatabaseMissing(path)
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as error:
            if not _is_lock_conflict(error):
                raise
            waited = time.monotonic() - started
            if waited + backoff > timeout_s:
                raise DatabaseBusy(path, waited) from error
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


@contextmanager
def read_only(path: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to ``path`` for one query, closed on the way out.

    Raises DatabaseMissing when the file is not there, and DatabaseBusy when another
    process (dbt) still holds the write lock after ``timeout_s`` seconds of retries.
    """
    connection = _open(path, timeout_s)
    try:
        yield connection
    finally:
        connection.close()
