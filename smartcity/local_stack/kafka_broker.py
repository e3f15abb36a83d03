"""A single-node Apache Kafka broker in KRaft mode, run as a plain Java process.

No Docker and no Kafka distribution: the broker's jars come from Maven Central through
:mod:`smartcity.jars`, and this module writes the configuration, formats the storage
once, starts the JVM, waits until the broker answers, and stops it again.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType

from smartcity.jars import KAFKA_BROKER, ensure_jars
from smartcity.local_stack.service_process import launch, terminate

STARTUP_TIMEOUT_S = 90.0
SHUTDOWN_TIMEOUT_S = 30.0

LOG4J2_PROPERTIES = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = org.apache.kafka
logger.kafka.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
"""


class BrokerError(RuntimeError):
    """The local broker could not be started or stopped."""


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home, "bin", "java") if java_home else None
    if candidate and candidate.exists():
        return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise BrokerError(
            "Java 17 or newer is needed to run Kafka and Spark: "
            "install it (apt-get install openjdk-17-jre-headless) or set JAVA_HOME."
        )
    return found


def port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_pair() -> int:
    """A loopback port that can be bound, and the next one too (a broker's controller
    listens on it). Bound, not only unanswered: a port may be held by an outgoing
    connection, and then binding it fails though nothing listens there."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port


class LocalKafkaBroker:
    """Broker and controller in one process, listening on 127.0.0.1 only."""

    host = "127.0.0.1"

    def __init__(
        self,
        state_dir: Path,
        cache_dir: Path,
        port: int = 9092,
        controller_port: int | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.cache_dir = cache_dir
        self.port = port
        # Fixed rather than random: the formatted storage remembers it.
        self.controller_port = controller_port or port + 1
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "logs" / "server.log"

    def _write_config(self) -> Path:
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{self.host}:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.state_dir / "data"),
            # One node: every internal topic has a single replica.
            "offsets.topic.replication.factor": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": "3",
            "auto.create.topics.enable": "false",
        }
        config = self.state_dir / "server.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
        log_config = self.state_dir / "log4j2.properties"
        log_config.write_text(LOG4J2_PROPERTIES.format(log_file=self.log_file))
        return config

    def _java(self, main_class: str, *args: str) -> list[str]:
        jars = ensure_jars(KAFKA_BROKER, self.cache_dir)
        classpath = os.pathsep.join(str(jar) for jar in jars)
        return [
            java_executable(),
            "-Xms256m",
            "-Xmx768m",
            f"-Dlog4j2.configurationFile={self.state_dir / 'log4j2.properties'}",
            "-cp",
            classpath,
            main_class,
            *args,
        ]

    def _format_storage(self, config: Path) -> None:
        """Format the storage once; refuse to reuse one formatted for other ports."""
        marker = self.state_dir / "data" / "meta.properties"
        ports_file = self.state_dir / "ports"
        ports = f"{self.port} {self.controller_port}"
        if marker.exists():
            formatted_for = ports_file.read_text() if ports_file.exists() else "unknown ports"
            if formatted_for == ports:
                return
            raise BrokerError(
                f"The Kafka state in {self.state_dir} was formatted for ports {formatted_for}, "
                f"not {ports}: start it on those ports, or delete that folder to start afresh "
                "(its topics are lost)."
            )
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        command = self._java(
            "kafka.tools.StorageTool",
            "format",
            # One argument: a generated id may start with "-" and read as an option.
            f"--cluster-id={cluster_id}",
            f"--config={config}",
            "--standalone",
        )
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BrokerError(
                f"Formatting the Kafka storage failed:\n{result.stderr or result.stdout}"
            )
        ports_file.write_text(ports)

    def start(self, timeout_s: float = STARTUP_TIMEOUT_S) -> LocalKafkaBroker:
        for port in (self.port, self.controller_port):
            if port_is_open(self.host, port):
                raise BrokerError(
                    f"Port {port} on {self.host} is already in use (another Kafka broker?): "
                    "stop it, or choose another port with SMARTCITY_KAFKA_PORT "
                    "(the controller uses the next one)."
                )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        self._format_storage(config)
        self.process = launch(
            self._java("kafka.Kafka", str(config)),
            log=self.state_dir / "logs" / "stdout.log",
            pid_file=self.pid_file,
            wait_until_ready=lambda process: self._wait_until_ready(process, timeout_s),
            shutdown_timeout_s=SHUTDOWN_TIMEOUT_S,
        )
        return self

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "broker.pid"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _wait_until_ready(self, process: subprocess.Popen[bytes], timeout_s: float) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout_s
        admin: AdminClient | None = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BrokerError(
                    f"The Kafka broker exited with code {process.returncode} while starting; "
                    f"see {self.log_file} and {self.state_dir / 'logs' / 'stdout.log'}."
                )
            if port_is_open(self.host, self.port):
                # Created only once the port is open: librdkafka logs every refused connect.
                admin = admin or AdminClient({"bootstrap.servers": self.bootstrap_servers})
                try:
                    if admin.list_topics(timeout=2).brokers:
                        return
                except Exception:
                    pass
            time.sleep(0.2)
        raise BrokerError(
            f"The Kafka broker did not answer on {self.bootstrap_servers} within {timeout_s:.0f} s; "
            f"see {self.log_file}."
        )

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process, self.pid_file, SHUTDOWN_TIMEOUT_S)
        self.process = None

    def __enter__(self) -> LocalKafkaBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
