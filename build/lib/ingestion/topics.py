"""Topic administration and the broker reachability check."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

# librdkafka reports each refused connection on stderr; the one-line error below says it all.
QUIET_LOGGER = logging.getLogger("smartcity.kafka.quiet")
QUIET_LOGGER.addHandler(logging.NullHandler())
QUIET_LOGGER.propagate = False


class KafkaUnavailable(RuntimeError):
    """No broker answered at the configured bootstrap servers."""


def unreachable_message(bootstrap_servers: str) -> str:
    return (
        f"Kafka is not reachable at {bootstrap_servers}: start the local broker with "
        "`smartcity kafka start` (or run `make demo`, which starts one), "
        "or point KAFKA_BOOTSTRAP_SERVERS at a running broker."
    )


def admin_client(bootstrap_servers: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap_servers, "logger": QUIET_LOGGER})


def check_broker(bootstrap_servers: str, timeout_s: float = 5.0) -> None:
    """Raise :class:`KafkaUnavailable` with a fix unless a broker answers in time."""
    try:
        metadata = admin_client(bootstrap_servers).list_topics(timeout=timeout_s)
    except KafkaException as error:
        raise KafkaUnavailable(unreachable_message(bootstrap_servers)) from error
    if not metadata.brokers:
        raise KafkaUnavailable(unreachable_message(bootstrap_servers))


def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    partitions: int = 3,
    timeout_s: float = 30.0,
) -> list[str]:
    """Create the topics that do not exist yet; return the names that were created."""
    check_broker(bootstrap_servers)
    admin = admin_client(bootstrap_servers)
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    missing = [name for name in topics if name not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in missing],
        operation_timeout=timeout_s,
    )
    for _name, future in futures.items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return missing
