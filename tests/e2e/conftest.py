"""Fixtures of the end-to-end suites."""

from __future__ import annotations

import pytest

from tests.e2e.landed_lake import land_and_build


@pytest.fixture(scope="session")
def landed_lake(tmp_path_factory: pytest.TempPathFactory, kafka_broker) -> dict:
    """The lake every end-to-end suite reads: produced, landed and built on DuckDB once."""
    return land_and_build(tmp_path_factory, kafka_broker)
