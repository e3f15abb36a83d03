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
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import pyspark

from smartcity.local_stack.kafka_broker import free_port, java_executable
from smartcity.local_stack.service_process import launch, terminate

SPARK_HOME = Path(pyspark.__file__).resolve().parent
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
WORKERS = 2
SCALA_VERSION = "2.13"
# What each worker offers its executors: two workers of one core on a two-core machine.
# The Worker reads these variables itself; docker-compose.yml sets the same ones.
WORKER_ENVIRONMENT = {"SPARK_WORKER_CORES": "1", "SPARK_WORKER_MEMORY": "1g"}
STARTUP_TIMEOUT_S = 120.0
SHUTDOWN_TIMEOUT_S = 30.0
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


class LocalSparkCluster:
    """A master and ``workers`` workers bound to 127.0.0.1 on free ports; everything
    they write (logs, the executors' work dirs) lives under ``state_dir``."""

    host = "127.0.0.1"

    def __init__(self, state_dir: Path, workers: int = WORKERS) -> None:
        self.state_dir = state_dir.resolve()
        self.workers = workers
        self.port = free_port()
        self.webui_port = free_port()
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    @property
    def master_url(self) -> str:
        return f"spark://{self.host}:{self.port}"

    @property
    def webui_url(self) -> str:
        return f"http://{self.host}:{self.webui_port}"

    def work_dir(self, worker: int) -> Path:
        return self.state_dir / f"worker-{worker}" / "work"

    def log_file(self, name: str) -> Path:
        return self.state_dir / "logs" / f"{name}.log"

    def state(self) -> dict[str, Any]:
        """The master's own report: workers, running and completed applications."""
        with urllib.request.urlopen(f"{self.webui_url}/json/", timeout=5) as response:
            return json.load(response)

    def _command(self, main_class: str, *arguments: str) -> list[str]:
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

    def _start(self, name: str, command: list[str], environment: dict[str, str]) -> None:
        log = self.log_file(name)
        process = launch(
            command,
            log=log,
            pid_file=self.state_dir / f"{name}.pid",
            wait_until_ready=lambda process: None,
            shutdown_timeout_s=SHUTDOWN_TIMEOUT_S,
            env=environment,
            cwd=self.state_dir,
        )
        self.processes.append((process, self.state_dir / f"{name}.pid"))

    def start(self, timeout_s: float = STARTUP_TIMEOUT_S) -> LocalSparkCluster:
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        environment = _clean_environment()
        try:
            self._start(
                "master",
                self._command(
                    MASTER_CLASS,
                    *("--host", self.host, "--port", str(self.port)),
                    *("--webui-port", str(self.webui_port)),
                ),
                environment,
            )
            for worker in range(1, self.workers + 1):
                self.work_dir(worker).mkdir(parents=True, exist_ok=True)
                self._start(
                    f"worker-{worker}",
                    self._command(
                        WORKER_CLASS,
                        *("--host", self.host, "--port", str(free_port())),
                        *("--webui-port", str(free_port())),
                        *("--work-dir", str(self.work_dir(worker))),
                        self.master_url,
                    ),
                    {**environment, **WORKER_ENVIRONMENT},
                )
            self._wait_for_workers(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def alive_workers(self) -> list[dict[str, Any]]:
        return [w for w in self.state().get("workers", []) if w.get("state") == "ALIVE"]

    def _wait_for_workers(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            for process, pid_file in self.processes:
                if process.poll() is not None:
                    raise SparkClusterError(
                        f"{pid_file.stem} exited with {process.returncode}; "
                        f"see {self.log_file(pid_file.stem)}"
                    )
            try:
                if len(self.alive_workers()) == self.workers:
                    return
            except (urllib.error.URLError, OSError, ValueError):
                pass  # the master's web UI is not up yet
            if time.monotonic() > deadline:
                raise SparkClusterError(
                    f"{self.workers} workers did not register with the master within "
                    f"{timeout_s:.0f} s; see the logs in {self.state_dir / 'logs'}"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        # Workers first (they stop their executors), then the master.
        # One that fails to stop must not leave the others running.
        failures = []
        for process, pid_file in reversed(self.processes):
            try:
                terminate(process, pid_file, SHUTDOWN_TIMEOUT_S)
            except Exception as error:  # raised below, once the rest are stopped
                failures.append(error)
        self.processes = []
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
