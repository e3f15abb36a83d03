"""`smartcity kafka`, `jars` and `trino`: the local services and what they need."""

from __future__ import annotations

import signal
from types import SimpleNamespace

import click

from smartcity.cli.options import command
from smartcity.console import fail, say
from smartcity.dbt import preflight
from smartcity.settings import Settings


def kafka(_: SimpleNamespace, settings: Settings) -> int:
    from smartcity.local_stack.kafka_broker import LocalKafkaBroker

    preflight.require_writable(settings.kafka_dir, "SMARTCITY_DATA_DIR")
    broker = LocalKafkaBroker(settings.kafka_dir, settings.cache_dir, port=settings.kafka_port)
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # sigtimedwait needs them blocked
    broker.start()
    say(
        f"Kafka is running on {broker.bootstrap_servers} (log: {broker.log_file}); Ctrl-C stops it."
    )
    try:
        while broker.running:
            if signal.sigtimedwait(stop_signals, 1.0) is not None:
                return 0
        fail(f"The Kafka broker exited on its own; see {broker.log_file}.")
        return 1
    finally:
        broker.stop()


def jars(args: SimpleNamespace, settings: Settings) -> int:
    from smartcity.jars import KAFKA_BROKER, SPARK_KAFKA, SPARK_S3, ensure_jars

    for jar_set in (KAFKA_BROKER, SPARK_KAFKA, *([SPARK_S3] if args.with_s3 else [])):
        found = ensure_jars(jar_set, settings.cache_dir, update_lock=args.update_lock)
        say(f"{jar_set.name}: {len(found)} jars verified")
    return 0


def trino(args: SimpleNamespace, settings: Settings) -> int:
    from smartcity.local_stack.trino_server import fetch_trino

    home, java = fetch_trino(settings.cache_dir, update_lock=args.update_lock)
    say(f"Trino server verified in {home}; it runs on {java}")
    return 0


def _update_lock(what: str) -> click.Option:
    return click.Option(
        ["--update-lock"],
        is_flag=True,
        help=f"for maintainers: rewrite {what} after changing a version",
    )


COMMANDS = (
    command(
        "kafka",
        "run the local single-node Kafka broker in the foreground",
        "Run a single-node KRaft broker on 127.0.0.1 (port SMARTCITY_KAFKA_PORT) until Ctrl-C.",
        kafka,
        (click.Argument(["action"], type=click.Choice(["start"])),),
    ),
    command(
        "jars",
        "fetch and verify the Kafka broker and Spark connector jars",
        "Fetch the jars once with Maven into the cache and verify their SHA-256.",
        jars,
        (
            click.Option(
                ["--with-s3"],
                is_flag=True,
                help="also the S3A connector and AWS SDK (about 700 MB), needed for an s3:// "
                "lake; fetched on first use otherwise",
            ),
            _update_lock("smartcity/jar_sets/*/jars.sha256"),
        ),
    ),
    command(
        "trino",
        "fetch and verify the Trino server that the tests of the `trino` dbt target run",
        "Fetch the Trino server tarball (about 820 MB) once with Maven into the cache, verify "
        "its SHA-256, unpack it, and find a Java 24+ runtime for it. When either cannot be "
        "had, say why and record it in <cache>/trino/UNAVAILABLE: the Trino tests then skip "
        "with that reason, until a later fetch succeeds.",
        trino,
        (
            click.Argument(["action"], type=click.Choice(["fetch"])),
            _update_lock("smartcity/jar_sets/trino-server/jars.sha256"),
        ),
    ),
)
