"""Fixtures that start real services and always stop them."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartcity.local_stack.kafka_broker import LocalKafkaBroker, free_port
from smartcity.local_stack.trino_server import unavailable_marker
from smartcity.settings import Settings
from tests import aws_stack
from tests.local_aws import MotoServer
from tests.local_postgres import LocalPostgres
from tests.local_trino import GlueAccount, LocalTrino
from tests.plain_dbt import plain_dbt

ROOT = Path(__file__).resolve().parents[1]


def settings_for(
    root: Path, broker: LocalKafkaBroker | None = None, topic_prefix: str = "test"
) -> Settings:
    """Settings whose every piece of state (lake, checkpoints, database, metrics) lies
    under ``root``, as a user gets them with SMARTCITY_DATA_DIR."""
    env = {"SMARTCITY_DATA_DIR": str(root), "SMARTCITY_TOPIC_PREFIX": topic_prefix}
    if broker is not None:
        env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
    return Settings.from_env(env)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafkaBroker]:
    """A real single-node KRaft broker on a free loopback port, for the whole session."""
    state = tmp_path_factory.mktemp("kafka")
    broker = LocalKafkaBroker(
        state, Settings.from_env().cache_dir, port=free_port(), controller_port=free_port()
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """A real PostgreSQL server on a free loopback port, for the whole session.

    Its state lives in a folder of its own under the system's temporary directory: as
    root, the server runs as the `postgres` user, who cannot enter pytest's folders.
    """
    state = Path(tempfile.mkdtemp(prefix="smartcity-postgres-"))
    state.chmod(0o755)
    server = LocalPostgres(state, port=free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def deployed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[aws_stack.Deployed]:
    """The project's stack on a moto server of its own with IAM enforced, every role
    assumed (tests/aws_stack.py), for the whole session."""
    folder = tmp_path_factory.mktemp("moto-iam")
    with MotoServer(folder, call_log=folder / "calls.jsonl") as server:
        yield aws_stack.deploy(server.endpoint, folder / "calls.jsonl")


@pytest.fixture(scope="session")
def trino_server(deployed_stack: aws_stack.Deployed) -> Iterator[LocalTrino]:
    """A real single-node Trino server on a free loopback port, for the whole session:
    ``hive`` and ``iceberg`` catalogs on local metastores, and Athena's
    ``awsdatacatalog`` (with its Iceberg twin) on the deployed stack's Glue and S3.

    Skipped only when set-up recorded that Trino or a Java runtime for it could not be
    fetched on this machine, with the reason it recorded; any other failure to start is
    an error. Its state lives under the system's temporary directory and is removed
    afterwards, unless it failed to start (the error names its log there).
    """
    cache_dir = Settings.from_env().cache_dir
    marker = unavailable_marker(cache_dir)
    if marker.exists():
        pytest.skip(marker.read_text().strip())
    state = Path(tempfile.mkdtemp(prefix="smartcity-trino-"))
    engine = deployed_stack.users["athena-engine"]
    glue = GlueAccount(
        endpoint=deployed_stack.endpoint,
        region=aws_stack.REGION,
        access_key_id=engine["aws_access_key_id"],
        secret_access_key=engine["aws_secret_access_key"],
    )
    server = LocalTrino(state, cache_dir, glue=glue)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def aws_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The AWS APIs (S3, Glue, Athena, ...) that the tests share, served by moto."""
    with MotoServer(tmp_path_factory.mktemp("moto")) as server:
        yield server.endpoint


@pytest.fixture
def aws_env(aws_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point every AWS client of this process and its children at the local server."""
    for name, value in {
        "AWS_ENDPOINT_URL": aws_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return aws_server


@pytest.fixture(scope="session")
def empty_lake_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings, str]:
    """Plain `dbt build` on a lake where nothing has landed: its home, settings and output."""
    home = tmp_path_factory.mktemp("home")
    data_dir = tmp_path_factory.mktemp("data")
    (data_dir / "lake").mkdir()
    # Its artifacts are kept apart: they are the main branch's state in the slim CI test.
    built = plain_dbt(home, data_dir, "build", "--target-path", str(data_dir / "target"))
    assert built.returncode == 0, built.stdout[-3000:]
    return home, Settings.from_env({"SMARTCITY_DATA_DIR": str(data_dir)}), built.stdout


@pytest.fixture(scope="session")
def parsed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The target folder of one `dbt parse` of the project, which the tests that read its
    manifest share (each parse costs seconds)."""
    from tests.test_dbt_layout import parse

    folder = tmp_path_factory.mktemp("parse")
    parse(folder)
    return folder
