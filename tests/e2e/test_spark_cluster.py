"""The landing job on a Spark standalone cluster: a master and two workers on loopback
(tests/local_spark_cluster.py), the job pointed at it with SMARTCITY_SPARK_MASTER, as a
user runs `smartcity land` against a cluster. A produced backlog, junk included, lands
exactly once, and the work ran on the cluster's executors, not in the driver.
(tests/e2e/test_dist.py submits the same backlog with spark-submit from dist/ alone.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartcity import pipeline
from smartcity.settings import Settings
from tests.conftest import settings_for
from tests.e2e.cluster_backlog import (
    assert_landed_exactly_once,
    assert_ran_on_cluster,
    completed_apps,
    produce_backlog,
)
from tests.local_spark_cluster import LocalSparkCluster

pytestmark = pytest.mark.e2e

LAND_TIMEOUT_S = 240


def land_on(cluster: LocalSparkCluster, settings: Settings, log: Path) -> None:
    """`smartcity land` with the cluster as its master, in a process of its own: a fresh
    driver JVM that knows only what a user's environment tells it."""
    environment = {
        **os.environ,
        **pipeline.child_environment(settings),
        "SMARTCITY_SPARK_MASTER": cluster.master_url,
        # The driver's address as the executors reach it; here, loopback.
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    with log.open("wb") as output:
        result = subprocess.run(
            [sys.executable, "-m", "smartcity", "land"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=LAND_TIMEOUT_S,
            check=False,
        )
    assert result.returncode == 0, log.read_text()[-4000:]


def test_a_backlog_lands_exactly_once_on_a_standalone_cluster(
    spark_cluster: LocalSparkCluster, kafka_broker, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, kafka_broker, topic_prefix=f"cluster{os.getpid()}")
    backlog = produce_backlog(settings)
    apps_before = completed_apps(spark_cluster)

    land_on(spark_cluster, settings, tmp_path / "land.log")

    assert_landed_exactly_once(settings, backlog)
    assert_ran_on_cluster(spark_cluster, apps_before)
