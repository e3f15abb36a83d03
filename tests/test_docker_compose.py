"""docker-compose.yml runs the same roles as the local stack; no Docker engine runs here,
so its structure is checked, and `docker compose config` validates it where the plugin is."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests import local_spark_cluster

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_every_role_has_a_service_and_there_is_no_zookeeper() -> None:
    assert set(SERVICES) == {
        "kafka",
        "spark-master",
        "spark-worker-1",
        "spark-worker-2",
        "object-store",
        "producer",
        "streaming",
    }
    assert not any(
        "zookeeper" in name or "zookeeper" in str(s.get("image", ""))
        for name, s in SERVICES.items()
    )


def test_kafka_runs_in_kraft_mode_with_a_controller() -> None:
    environment = SERVICES["kafka"]["environment"]
    assert set(environment["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert environment["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert "healthcheck" in SERVICES["kafka"]


def test_images_are_pinned_to_versions_that_match_the_local_stack() -> None:
    for name, service in SERVICES.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name} image {image} is not pinned"
    kafka_pom = (ROOT / "smartcity/jar_sets/kafka-broker/pom.xml").read_text()
    kafka_version = re.search(r"<kafka.version>(.+)</kafka.version>", kafka_pom).group(1)
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{kafka_version}"
    pyspark = re.search(r"^pyspark==(.+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    for name in ("spark-master", "spark-worker-1", "spark-worker-2"):
        assert SERVICES[name]["image"].split(":")[1].startswith(f"{pyspark}-")


def test_ports_bind_to_loopback_and_named_volumes_are_declared() -> None:
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in COMPOSE["volumes"], f"{name} uses undeclared volume {source}"
    # The driver and the executors must write to the same lake.
    for name in ("streaming", "spark-worker-1", "spark-worker-2"):
        assert "lake:/lake" in SERVICES[name]["volumes"]


def test_the_app_services_reach_kafka_and_spark_by_service_name() -> None:
    streaming = SERVICES["streaming"]["environment"]
    assert streaming["KAFKA_BOOTSTRAP_SERVERS"].split(":")[0] == "kafka"
    # spark-submit's master, from the image's dist/ (infra/docker/Dockerfile).
    assert streaming["SPARK_MASTER"] == "spark://spark-master:7077"
    assert SERVICES["streaming"]["entrypoint"] == ["bash", "/opt/smartcity/dist/spark-submit.sh"]
    assert SERVICES["producer"]["command"][0] == "produce"
    assert (ROOT / SERVICES["producer"]["build"]["dockerfile"]).exists()


def test_the_spark_services_are_the_cluster_the_tests_land_on() -> None:
    """tests/local_spark_cluster.py runs the same launcher classes, as many workers of
    the same size, and the same Spark as the compose file's services."""
    cluster = local_spark_cluster
    master = SERVICES["spark-master"]
    workers = sorted(name for name in SERVICES if name.startswith("spark-worker-"))
    assert len(workers) == cluster.WORKERS
    master_url = SERVICES["streaming"]["environment"]["SPARK_MASTER"]
    for name in workers:
        worker = SERVICES[name]
        assert worker["command"][-2:] == [cluster.WORKER_CLASS, master_url]
        assert worker["command"][0] == "/opt/spark/bin/spark-class"
        sizes = {k: v for k, v in worker["environment"].items() if k.startswith("SPARK_WORKER_")}
        assert sizes == cluster.WORKER_ENVIRONMENT, name
        assert "spark-master" in worker["depends_on"]
    assert master["command"] == ["/opt/spark/bin/spark-class", cluster.MASTER_CLASS]
    pyspark = re.search(r"^pyspark==(.+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    for name in ("spark-master", *workers):
        tag = SERVICES[name]["image"].split(":")[1]
        assert tag.startswith(f"{pyspark}-scala{cluster.SCALA_VERSION}-"), name


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return [docker, "compose"]
    return None


@pytest.mark.skipif(_compose_command() is None, reason="the docker compose plugin is not installed")
def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(
        [*_compose_command(), "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
