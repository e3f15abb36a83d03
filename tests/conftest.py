"""Fixtures that start real services and always stop them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smartcity.kafka_broker import LocalKafkaBroker, free_port
from smartcity.settings import Settings


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
