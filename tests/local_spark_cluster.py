"""A Spark standalone cluster on loopback for the tests: one master and two workers,
started from the pyspark wheel's own jars with Spark's launcher classes, the same
classes and worker sizes as the Spark services of docker-compose.yml.

Each process runs with a clean environment: no PYTHONPATH, no virtualenv, no
PYSPARK_PYTHON, so executors see only what a cluster's machines would have (Java and
Spark) plus what the job itself ships to them.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import pyspark

from smartcity.local_stack.kafka_broker import free_port, java_executable
from smartcity.local_stack.local_server import LocalServer

SPARK_HOME = Path(pyspark.__file__).resolve().parent
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
WORKERS = 2
SCALA_VERSION = "2.13"
# What each worker offers its executors: two workers of one core on a two-core machine.
# The Worker reads these variables itself; docker-compose.yml sets the same ones.
WORKER_ENVIRONMENT = {"SPARK_WORKER_CORES": "1", "SPARK_WORKER_MEMORY": "1g"}
# Variables of the test process that must not leak into the cluster's machines.
PRIVATE_VARIABLES = ("PYTHONPATH", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "VIRTUAL_ENV")


class SparkClusterError(RuntimeError):
    """The cluster did not come up."""


def _clean_environment() -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in PRIVATE_VARIABLES and not name.startswith(("SPARK_", "SMARTCITY_"))
    }
    return {
        **environment,
        "SPARK_HOME": str(SPARK_HOME),
        # The worker builds each executor's command line with Spark's launcher library,
        # which needs the Scala version spelled out: the pyspark wheel has the jars of
        # a distribution but not the RELEASE file it would otherwise go by.
        "SPARK_SCALA_VERSION": SCALA_VERSION,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def _java(main_class: str, *arguments: str) -> list[str]:
    return [
        java_executable(),
        "-Xmx512m",
        # Spark 4's standalone REST submission server is off by default; say so.
        "-Dspark.master.rest.enabled=false",
        "-cp",
        f"{SPARK_HOME / 'jars'}/*",
        main_class,
        *arguments,
    ]


class SparkMaster(LocalServer):
    """The master, ready once its web UI reports its state."""

    name = "master"
    title = "The Spark master"
    error = SparkClusterError
    startup_timeout_s = 120.0
    host = "127.0.0.1"

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.port = free_port()
        self.webui_port = free_port()

    @property
    def url(self) -> str:
        return f"spark://{self.host}:{self.port}"

    @property
    def webui_url(self) -> str:
        return f"http://{self.host}:{self.webui_port}"

    def state(self) -> dict[str, Any]:
        """The master's own report: workers, running and completed applications."""
        with urllib.request.urlopen(f"{self.webui_url}/json/", timeout=5) as response:
            return json.load(response)

    def command(self) -> list[str]:
        return _java(
            MASTER_CLASS,
            *("--host", self.host, "--port", str(self.port)),
            *("--webui-port", str(self.webui_port)),
        )

    def popen_options(self) -> dict[str, Any]:
        return {"env": _clean_environment(), "cwd": self.state_dir}

    def is_ready(self) -> bool:
        try:
            self.state()
        except (urllib.error.URLError, OSError, ValueError):
            return False  # the web UI is not up yet
        return True


class SparkWorker(LocalServer):
    """A worker, ready once the master lists it as alive."""

    error = SparkClusterError
    startup_timeout_s = 120.0
    host = "127.0.0.1"

    def __init__(self, state_dir: Path, number: int, master: SparkMaster) -> None:
        super().__init__(state_dir)
        self.number = number
        self.master = master
        self.port = free_port()

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"worker-{self.number}"

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Spark worker {self.number}"

    @property
    def work_dir(self) -> Path:
        return self.state_dir / self.name / "work"

    def prepare(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return _java(
            WORKER_CLASS,
            *("--host", self.host, "--port", str(self.port)),
            *("--webui-port", str(free_port())),
            *("--work-dir", str(self.work_dir)),
            self.master.url,
        )

    def popen_options(self) -> dict[str, Any]:
        return {"env": {**_clean_environment(), **WORKER_ENVIRONMENT}, "cwd": self.state_dir}

    def is_ready(self) -> bool:
        try:
            workers = self.master.state().get("workers", [])
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return any(
            worker.get("state") == "ALIVE" and worker.get("port") == self.port for worker in workers
        )


class LocalSparkCluster:
    """A master and ``workers`` workers bound to 127.0.0.1 on free ports; everything
    they write (logs, the executors' work dirs) lives under ``state_dir``."""

    def __init__(self, state_dir: Path, workers: int = WORKERS) -> None:
        self.state_dir = state_dir.resolve()
        self.master = SparkMaster(self.state_dir)
        self.workers = [
            SparkWorker(self.state_dir, number, self.master) for number in range(1, workers + 1)
        ]

    @property
    def master_url(self) -> str:
        return self.master.url

    def state(self) -> dict[str, Any]:
        return self.master.state()

    def start(self) -> LocalSparkCluster:
        try:
            for server in (self.master, *self.workers):
                server.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        # Workers first (they stop their executors), then the master.
        # One that fails to stop must not leave the others running.
        failures = []
        for server in (*reversed(self.workers), self.master):
            try:
                server.stop()
            except Exception as error:  # raised below, once the rest are stopped
                failures.append(error)
        if failures:
            raise failures[0]

    def __enter__(self) -> LocalSparkCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
