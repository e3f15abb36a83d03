"""Waiting for the landing queries survives a query stopping at any moment."""

from __future__ import annotations

from streaming.job import await_queries


class StopsRightAfterBeingSeenActive:
    """A query that reports itself active once, then stopped: the moment between the
    wait loop's check and its next look, where a drained query really stops."""

    name = "gps_fixes"

    def __init__(self) -> None:
        self.looks = 0

    @property
    def isActive(self) -> bool:  # noqa: N802 - PySpark's name
        self.looks += 1
        return self.looks == 1

    def exception(self) -> None:
        return None

    def awaitTermination(self, timeout: float) -> bool:  # noqa: N802 - PySpark's name
        raise AssertionError("a stopped query is not waited on")

    def stop(self) -> None:
        pass


def test_a_query_that_stops_between_two_looks_ends_the_wait_cleanly() -> None:
    queries = [StopsRightAfterBeingSeenActive(), StopsRightAfterBeingSeenActive()]
    queries[1].looks = 1  # already stopped
    await_queries(queries)  # type: ignore[arg-type]
    assert queries[0].looks >= 2
