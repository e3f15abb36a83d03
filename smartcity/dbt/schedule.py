"""dbt from one long-lived process, on a fixed cadence (`smartcity dbt --every SECONDS
...`) or whenever something lands (`smartcity dbt --on-landing ...`).

Starting dbt costs about three seconds of Python imports and project loading before any
SQL runs; a fresh process per run (cron, a subprocess) pays it every time. Here dbt is
invoked through its Python API in one process, so only the first run pays it.

On a cadence, runs start as cron's do: a run that overruns its slot skips the slots it
missed rather than queueing them. On landing, the lake's catalog is asked every second
whether any table has a commit the last run did not see (one cheap query,
:func:`streaming.iceberg_catalogs.table_commits`), and a run starts as soon as one has:
an event waits for its micro-batch's commit and one run, not for the next slot of a
cadence. Either way a failed run is reported and the schedule goes on.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smartcity.console import say
from smartcity.settings import PROJECT_ROOT, Settings

# Printed after each run; bench.freshness reads it to time the mart.
FINISHED = "dbt scheduled run"
# How often --on-landing asks the catalog for new commits.
POLL_EVERY_S = 1.0


@dataclass(frozen=True)
class ScheduledRun:
    number: int
    finished_at: datetime
    seconds: float
    ok: bool
    error: str | None = None

    def line(self) -> str:
        outcome = "ok" if self.ok else f"FAILED: {self.error}"
        return (
            f"{FINISHED} {self.number} finished at {self.finished_at.isoformat()} "
            f"in {self.seconds:.2f} s: {outcome}"
        )


def next_start(previous: float, every_s: float, now: float) -> float:
    """The next slot on the cadence after ``previous`` that is not already past."""
    upcoming = previous + every_s
    if upcoming < now:
        upcoming += every_s * int((now - upcoming) // every_s + 1)
    return upcoming


class InProcessDbt:
    """dbt invoked through its Python API in this process, with the settings' lake and
    database: only the first invocation pays for dbt's imports.

    dbt reads the profiles' env_var() calls from this process's environment, which is
    set on entry and put back as it was on exit. The DuckDB file is released after every
    invocation (:func:`_release_duckdb`).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._saved: dict[str, str] = {}
        self._runner: Any = None

    def __enter__(self) -> InProcessDbt:
        from smartcity.pipeline import child_environment

        self._saved = dict(os.environ)
        os.environ.update(child_environment(self.settings))
        os.environ.setdefault("DBT_PROJECT_DIR", str(PROJECT_ROOT))
        self.settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        from dbt.cli.main import dbtRunner

        self._runner = dbtRunner()
        return self

    def __exit__(self, *_: object) -> None:
        os.environ.clear()
        os.environ.update(self._saved)

    def invoke(self, arguments: Sequence[str]) -> tuple[bool, str | None, float]:
        """Run ``dbt <arguments>``; return whether it succeeded, why not, and its seconds."""
        began = time.monotonic()
        error = None
        try:
            result = self._runner.invoke(["--no-use-colors", *arguments])
            ok = bool(result.success)
            if not ok:
                error = str(result.exception or "see dbt's output above")
        except Exception as failure:  # reported to the caller, as a failed run
            ok, error = False, str(failure)
        finally:
            _release_duckdb()
        return ok, error, time.monotonic() - began


def run_every(
    settings: Settings,
    every_s: float,
    arguments: Sequence[str],
    on_run: Callable[[ScheduledRun], None],
    stop: threading.Event | None = None,
    runs: int | None = None,
) -> None:
    """Invoke ``dbt <arguments>`` every ``every_s`` seconds until ``stop`` is set (or
    ``runs`` runs are done)."""
    if every_s <= 0:
        raise ValueError(f"--every must be a positive number of seconds, not {every_s}")
    stop = stop or threading.Event()
    with InProcessDbt(settings) as dbt:
        number = 0
        start = time.monotonic()
        while not stop.is_set() and (runs is None or number < runs):
            number += 1
            on_run(_run(dbt, arguments, number))
            if runs is not None and number >= runs:
                break
            start = next_start(start, every_s, time.monotonic())
            stop.wait(max(start - time.monotonic(), 0))


def run_on_landing(
    settings: Settings,
    arguments: Sequence[str],
    on_run: Callable[[ScheduledRun], None],
    stop: threading.Event | None = None,
    runs: int | None = None,
    commits: Callable[[], dict[str, str]] | None = None,
    poll_s: float = POLL_EVERY_S,
) -> None:
    """Invoke ``dbt <arguments>`` at once (it catches up with whatever landed while no
    schedule ran), then each time the lake's tables have a commit the last run did not
    see, until ``stop`` is set (or ``runs`` runs are done). ``commits`` answers each
    table's current commit (by default from the settings' lake catalog)."""
    from streaming.iceberg_catalogs import table_commits

    if commits is None:
        lake_uri, namespace = settings.lake_uri, settings.iceberg_namespace
        commits = lambda: table_commits(lake_uri, namespace)  # noqa: E731
    stop = stop or threading.Event()
    with InProcessDbt(settings) as dbt:
        number = 0
        seen: dict[str, str] | None = None
        while not stop.is_set() and (runs is None or number < runs):
            try:
                current = commits()
            except Exception as error:  # an outage of the catalog: said, and asked again
                say(
                    "dbt on landing: the lake's catalog did not answer "
                    f"({type(error).__name__}: {error}); asking again in {poll_s:g} s"
                )
                stop.wait(poll_s)
                continue
            if current == seen:
                stop.wait(poll_s)
                continue
            # Asked before the run: a commit that lands during it starts the next one.
            seen = current
            number += 1
            on_run(_run(dbt, arguments, number))


def _run(dbt: InProcessDbt, arguments: Sequence[str], number: int) -> ScheduledRun:
    # A schedule outlives one bad run: a failure is reported, not raised.
    ok, error, seconds = dbt.invoke(arguments)
    return ScheduledRun(number, datetime.now(UTC), seconds, ok, error)


def _release_duckdb() -> None:
    """Close the DuckDB file between runs.

    dbt-duckdb keeps one database handle per process for as long as the process lives,
    and DuckDB lets no other process open a file that one process has open for writing:
    readers (the dashboard, BI extracts, `duckdb -readonly`) would be locked out of the
    warehouse for the whole schedule instead of for the length of a run.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing held between runs
        return
    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()
