"""Fixtures of the end-to-end suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.landed_lake import land_and_build
from tests.local_spark_cluster import LocalSparkCluster


@pytest.fixture(scope="session")
def landed_lake(tmp_path_factory: pytest.TempPathFactory, kafka_broker) -> dict:
    """The lake every end-to-end suite reads: produced, landed and built on DuckDB once."""
    return land_and_build(tmp_path_factory, kafka_broker)


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSparkCluster]:
    """A Spark standalone master and two workers on loopback, for the whole session."""
    with LocalSparkCluster(tmp_path_factory.mktemp("spark-cluster")) as cluster:
        yield cluster
