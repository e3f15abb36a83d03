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
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from smartcity.jars import KAFKA_BROKER, ensure_jars
from smartcity.local_stack.local_server import LocalServer

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

# To standard output, which the server's log file receives: one log, not two.
LOG4J2_PROPERTIES = """\
status = warn
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_OUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
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


class LocalKafkaBroker(LocalServer):
    """Broker and controller in one process, listening on 127.0.0.1 only."""

    name = "broker"
    title = "The Kafka broker"
    error = BrokerError
    host = "127.0.0.1"

    def __init__(
        self,
        state_dir: Path,
        cache_dir: Path,
        port: int = 9092,
        controller_port: int | None = None,
    ) -> None:
        super().__init__(state_dir)
        self.cache_dir = cache_dir
        self.port = port
        # Fixed rather than random: the formatted storage remembers it.
        self.controller_port = controller_port or port + 1
        self._admin: AdminClient | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.state_dir / "server.properties"

    def _write_config(self) -> None:
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
        self.config_file.write_text(
            "".join(f"{key}={value}\n" for key, value in properties.items())
        )
        (self.state_dir / "log4j2.properties").write_text(LOG4J2_PROPERTIES)

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

    def _format_storage(self) -> None:
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
            f"--config={self.config_file}",
            "--standalone",
        )
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BrokerError(
                f"Formatting the Kafka storage failed:\n{result.stderr or result.stdout}"
            )
        ports_file.write_text(ports)

    def prepare(self) -> None:
        for port in (self.port, self.controller_port):
            if port_is_open(self.host, port):
                raise BrokerError(
                    f"Port {port} on {self.host} is already in use (another Kafka broker?): "
                    "stop it, or choose another port with SMARTCITY_KAFKA_PORT "
                    "(the controller uses the next one)."
                )
        self._admin = None
        self._write_config()
        self._format_storage()

    def command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.config_file))

    def is_ready(self) -> bool:
        if not port_is_open(self.host, self.port):
            return False
        # Created only once the port is open: librdkafka logs every refused connect.
        from confluent_kafka.admin import AdminClient

        self._admin = self._admin or AdminClient({"bootstrap.servers": self.bootstrap_servers})
        try:
            ready = bool(self._admin.list_topics(timeout=2).brokers)
        except Exception:  # not answering yet
            return False
        if ready:
            # Let it go: a client left behind logs every refused connect once we stop.
            self._admin = None
        return ready
