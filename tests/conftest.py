"""Fixtures that start real services and always stop them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smartcity.kafka_broker import LocalKafkaBroker, free_port
from smartcity.settings import Settings


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
