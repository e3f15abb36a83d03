import subprocess
import sys

from smartcity.kafka_broker import free_port


def run(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartcity", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_help_lists_every_command_and_the_environment() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "produce", "land", "kafka", "jars", "dbt-sources"):
        assert command in result.stdout
    assert "KAFKA_BOOTSTRAP_SERVERS" in result.stdout


def test_produce_without_a_broker_fails_with_one_line_that_says_what_to_do() -> None:
    import os

    port = free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}
    result = run("produce", "--events", "10", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: Kafka is not reachable at 127.0.0.1:{port}: start the local broker with "
        "`smartcity kafka start` (or run `make demo`, which starts one), or point "
        "KAFKA_BOOTSTRAP_SERVERS at a running broker."
    ]
