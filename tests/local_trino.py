"""A single-node Trino server run as a plain Java process for the tests of the `trino`
dbt target. Two catalogs read and write the local file system through a file metastore,
as Athena does S3 through Glue: ``hive`` (external tables over the Parquet lake) and
``iceberg``. A third, ``lake``, reads the Iceberg lake's own catalog: Iceberg's JDBC
catalog on the SQLite file that pyiceberg writes (:func:`streaming.iceberg_catalogs.local_catalog`)
in :attr:`LocalTrino.iceberg_lake_dir`. The server and its Java come from
:mod:`smartcity.local_stack.trino_server`.
"""

from __future__ import annotations

import json
import resource
import shutil
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartcity.jars import SQLITE_JDBC, ensure_jars
from smartcity.local_stack.kafka_broker import free_port
from smartcity.local_stack.local_server import LocalServer
from smartcity.local_stack.trino_server import find_java, server_home
from streaming.iceberg_catalogs import LOCAL_CATALOG_FILE, LOCAL_CATALOG_NAME


class TrinoError(RuntimeError):
    """The local Trino server would not start, stop or answer."""


if TYPE_CHECKING:
    from trino.dbapi import Connection


# Only the connectors the catalogs use: every plugin loaded costs start-up time and heap.
PLUGINS = ("hive", "iceberg")
USER = "smartcity"
# Created and dropped again while starting, to see the server scan a table.
PROBE_SCHEMA = "smartcity_ready_probe"


# Athena's own limit: a CTAS or INSERT writes at most 100 partitions.
ATHENA_MAX_PARTITIONS_PER_WRITE = 100
# Catalog names the local Athena uses: Athena's Glue catalog, and the Iceberg catalog
# its Iceberg tables are redirected to (Athena has one catalog for both).
GLUE_CATALOG, GLUE_ICEBERG_CATALOG = "awsdatacatalog", "awsdatacatalog_iceberg"
# The catalog over the Iceberg lake's own (JDBC on SQLite) catalog.
LAKE_CATALOG = "lake"


@dataclass(frozen=True)
class GlueAccount:
    """Where the Glue-backed catalogs find Glue and S3 (a moto server), and the keys of
    the principal that Athena's engine acts as."""

    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str


def _properties(values: Mapping[str, object]) -> str:
    return "".join(f"{key}={value}\n" for key, value in values.items())


def _raise_file_limit() -> None:
    # Trino refuses to start below 4096 open files; take the most the machine allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class LocalTrino(LocalServer):
    """A coordinator that also runs the tasks, listening on 127.0.0.1 only.

    Everything it writes (configuration, metastores, Iceberg tables, logs) lives under
    ``state_dir``; the unpacked server in the cache is only read.
    """

    name = "trino"
    title = "Trino"
    error = TrinoError
    startup_timeout_s = 180.0
    poll_interval_s = 0.5
    host = "127.0.0.1"
    # Found while preparing: the Java 24+ runtime and the unpacked server.
    _java: Path
    _home: Path

    def __init__(
        self,
        state_dir: Path,
        cache_dir: Path,
        port: int | None = None,
        heap: str = "2G",
        plugins: tuple[str, ...] = PLUGINS,
        glue: GlueAccount | None = None,
    ) -> None:
        super().__init__(state_dir)
        self.cache_dir = cache_dir
        self.port = port or free_port()
        self.heap = heap
        self.plugins = plugins
        self.glue = glue
        # Why the last readiness probe failed, for the error if it never succeeds.
        self._probe_error: Exception | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def etc_dir(self) -> Path:
        return self.state_dir / "etc"

    @property
    def hive_metastore_dir(self) -> Path:
        return self.state_dir / "hive-metastore"

    @property
    def iceberg_metastore_dir(self) -> Path:
        """Also where Iceberg tables live, under <schema>/<table>, unless given a location."""
        return self.state_dir / "iceberg-metastore"

    @property
    def iceberg_lake_dir(self) -> Path:
        """The Iceberg lake the ``lake`` catalog reads: its catalog file and its tables."""
        return self.state_dir / "iceberg-lake"

    @staticmethod
    def location(path: Path) -> str:
        """The URI by which both catalogs name a local folder, e.g. an external location."""
        return f"local://{path.resolve()}"

    def _node_properties(self) -> dict[str, object]:
        return {
            "node.environment": "smartcity_local",
            "node.id": "smartcity-local",
            "node.data-dir": self.state_dir / "data",
            # Loopback only: the HTTP server binds here and announces itself here.
            "node.bind-ip": self.host,
            "node.internal-address": self.host,
        }

    def _jvm_options(self) -> list[str]:
        # Sized for a 2-core machine and test data of a few MB: the heap leaves room for
        # Spark, Kafka and PostgreSQL running beside it in the same test session.
        return [
            f"-Xmx{self.heap}",
            # A test server answers many small queries for a few minutes: the optimising
            # C2 compiler and G1's concurrent marking took two thirds of its CPU (measured
            # per thread), for code that runs over a few MB. C1 alone and the throughput
            # collector do the same work for a fraction of it.
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseParallelGC",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:-OmitStackTraceInFastThrow",
            "-XX:ReservedCodeCacheSize=256M",
            "-XX:PerMethodRecompilationCutoff=10000",
            "-XX:PerBytecodeRecompilationCutoff=10000",
            "-Djdk.attach.allowAttachSelf=true",
            "-Djdk.nio.maxCachedBufferSize=2000000",
            "-Dfile.encoding=UTF-8",
            # The session time zone Athena uses; results must not depend on the machine.
            "-Duser.timezone=UTC",
            "-XX:+EnableDynamicAgentLoading",
            # Trino's libraries use native access and sun.misc.Unsafe on purpose: keep
            # Java's warnings about both out of the log.
            "--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow",
        ]

    def _config_properties(self) -> dict[str, object]:
        return {
            "coordinator": "true",
            "node-scheduler.include-coordinator": "true",
            "http-server.http.port": self.port,
            "discovery.uri": self.url,
            # CREATE CATALOG for each test lake (attach_lake), beside the catalogs in
            # files; the file store's own settings are in catalog-store.properties.
            "catalog.management": "dynamic",
            "catalog.store": "file",
            "plugin.dir": self.state_dir / "plugin",
            # Small limits for small data; they must fit the heap with its headroom.
            "query.max-memory": "1GB",
            "query.max-memory-per-node": "1GB",
            "memory.heap-headroom-per-node": "512MB",
            # Two cores: fewer drivers and writers than Trino's defaults for a server.
            "task.concurrency": "2",
            "task.max-writer-count": "2",
        }

    def _local_file_system(self) -> dict[str, object]:
        # Trino's own local file system: local:///abs/path means /abs/path.
        return {"fs.native-local.enabled": "true", "local.location": "/"}

    def _hive_properties(self) -> dict[str, object]:
        return {
            "connector.name": "hive",
            "hive.metastore": "file",
            "hive.metastore.catalog.dir": self.location(self.hive_metastore_dir),
            **self._local_file_system(),
            # External tables over the lake: created, written and their partitions
            # registered by sync_partition_metadata.
            "hive.non-managed-table-writes-enabled": "true",
            "hive.allow-register-partition-procedure": "true",
        }

    def _iceberg_properties(self) -> dict[str, object]:
        return {
            "connector.name": "iceberg",
            "iceberg.catalog.type": "TESTING_FILE_METASTORE",
            "hive.metastore.catalog.dir": self.location(self.iceberg_metastore_dir),
            **self._local_file_system(),
        }

    def _lake_properties(self, lake: Path) -> dict[str, object]:
        """An Iceberg catalog over a local lake's own catalog: the SQLite file that
        pyiceberg (and so the landing job) commits to, at the lake's root."""
        lake = lake.resolve()
        return {
            "connector.name": "iceberg",
            "iceberg.catalog.type": "jdbc",
            "iceberg.jdbc-catalog.driver-class": "org.sqlite.JDBC",
            "iceberg.jdbc-catalog.connection-url": f"jdbc:sqlite:{lake / LOCAL_CATALOG_FILE}",
            # The name pyiceberg records its tables under, and the layout it uses.
            "iceberg.jdbc-catalog.catalog-name": LOCAL_CATALOG_NAME,
            "iceberg.jdbc-catalog.schema-version": "V1",
            "iceberg.jdbc-catalog.default-warehouse-dir": f"file://{lake}",
            **self._local_file_system(),
        }

    def attach_lake(self, catalog: str, lake: Path) -> str:
        """Adds a catalog named ``catalog`` over the local lake at ``lake`` while the
        server runs (Trino's dynamic catalogs), and returns its name. Trino then reads
        the lake's tables as the landing job last committed them, with no registration
        step: each query loads the current metadata from the lake's catalog."""
        values = self._lake_properties(lake)
        connector = values.pop("connector.name")
        properties = ", ".join(f"\"{key}\" = '{value}'" for key, value in values.items())
        self.execute(f"create catalog {catalog} using {connector} with ({properties})")
        return catalog

    def _aws_properties(self, glue: GlueAccount) -> dict[str, object]:
        return {
            "hive.metastore.glue.region": glue.region,
            "hive.metastore.glue.endpoint-url": glue.endpoint,
            "hive.metastore.glue.aws-access-key": glue.access_key_id,
            "hive.metastore.glue.aws-secret-key": glue.secret_access_key,
            "fs.native-s3.enabled": "true",
            "s3.endpoint": glue.endpoint,
            "s3.region": glue.region,
            "s3.path-style-access": "true",
            "s3.aws-access-key": glue.access_key_id,
            "s3.aws-secret-key": glue.secret_access_key,
        }

    def _glue_catalogs(self, glue: GlueAccount) -> dict[str, dict[str, object]]:
        """Athena's catalog as Trino can serve it: Hive tables in Glue, with Iceberg
        tables redirected to an Iceberg catalog over the same Glue (and back)."""
        return {
            GLUE_CATALOG: {
                "connector.name": "hive",
                "hive.metastore": "glue",
                **self._aws_properties(glue),
                "hive.iceberg-catalog-name": GLUE_ICEBERG_CATALOG,
                # dbt-athena's Hive CTAS always names its location.
                "hive.non-managed-table-writes-enabled": "true",
                "hive.max-partitions-per-writers": ATHENA_MAX_PARTITIONS_PER_WRITE,
            },
            GLUE_ICEBERG_CATALOG: {
                "connector.name": "iceberg",
                "iceberg.catalog.type": "glue",
                **self._aws_properties(glue),
                "iceberg.hive-catalog-name": GLUE_CATALOG,
                # VACUUM keeps what the table's vacuum_max_snapshot_age_seconds says,
                # which may be under Trino's default floor of 7 days.
                "iceberg.expire-snapshots.min-retention": "0s",
                "iceberg.remove-orphan-files.min-retention": "0s",
                "iceberg.max-partitions-per-writer": ATHENA_MAX_PARTITIONS_PER_WRITE,
            },
        }

    def prepare(self) -> None:
        self._java, self._home = find_java(), server_home(self.cache_dir)
        self._probe_error = None
        self._write_config(self._home)

    def popen_options(self) -> dict[str, Any]:
        return {"cwd": self.state_dir, "preexec_fn": _raise_file_limit}

    def _write_config(self, home: Path) -> None:
        catalog_dir = self.etc_dir / "catalog"
        catalog_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        for folder in (self.hive_metastore_dir, self.iceberg_metastore_dir, self.iceberg_lake_dir):
            folder.mkdir(parents=True, exist_ok=True)
        (self.etc_dir / "node.properties").write_text(_properties(self._node_properties()))
        # Not read by the JVM started here (its command line carries the same options),
        # but it makes etc/ complete for the tarball's own bin/launcher.
        (self.etc_dir / "jvm.config").write_text("\n".join(self._jvm_options()) + "\n")
        (self.etc_dir / "config.properties").write_text(_properties(self._config_properties()))
        (self.etc_dir / "log.properties").write_text("io.trino=INFO\n")
        (self.etc_dir / "catalog-store.properties").write_text(
            _properties({"catalog.config-dir": catalog_dir})
        )
        (catalog_dir / "hive.properties").write_text(_properties(self._hive_properties()))
        (catalog_dir / "iceberg.properties").write_text(_properties(self._iceberg_properties()))
        if "iceberg" in self.plugins:
            lake = _properties(self._lake_properties(self.iceberg_lake_dir))
            (catalog_dir / f"{LAKE_CATALOG}.properties").write_text(lake)
        if self.glue is not None:
            for name, values in self._glue_catalogs(self.glue).items():
                (catalog_dir / f"{name}.properties").write_text(_properties(values))
        # A plugin folder of links to the chosen plugins of the unpacked server.
        plugin_dir = self.state_dir / "plugin"
        shutil.rmtree(plugin_dir, ignore_errors=True)
        plugin_dir.mkdir()
        for name in self.plugins:
            if name != "iceberg":
                (plugin_dir / name).symlink_to(home / "plugin" / name, target_is_directory=True)
                continue
            # The Iceberg plugin with SQLite's driver beside its jars: a folder of links.
            (plugin_dir / name).mkdir()
            for jar in [
                *(home / "plugin" / name).iterdir(),
                *ensure_jars(SQLITE_JDBC, self.cache_dir),
            ]:
                (plugin_dir / name / jar.name).symlink_to(jar)

    def command(self) -> list[str]:
        """The server's JVM started directly, as the tarball's launcher would start it."""
        java, home = self._java, self._home
        system_properties = [f"-D{key}={value}" for key, value in self._node_properties().items()]
        return [
            str(java),
            *self._jvm_options(),
            *system_properties,
            f"-Dconfig={self.etc_dir / 'config.properties'}",
            f"-Dlog.levels-file={self.etc_dir / 'log.properties'}",
            "-cp",
            str(home / "lib" / "*"),
            "io.trino.server.TrinoServer",
        ]

    def _starting(self) -> bool:
        """True until /v1/info answers that the server has finished starting."""
        try:
            with urllib.request.urlopen(f"{self.url}/v1/info", timeout=2) as response:
                return bool(json.load(response).get("starting", True))
        except (OSError, ValueError):
            return True

    def failure(self, reason: str) -> Exception:
        detail = f" (last query error: {self._probe_error})" if self._probe_error else ""
        lines = self.log_file.read_text(errors="replace").splitlines()[-40:]
        tail = "\n".join(f"    {line}" for line in lines)
        return TrinoError(f"{reason}{detail}; the last lines of {self.log_file}:\n{tail}")

    def _probe(self) -> None:
        """Scan a one-row table of the hive catalog; raises until the server can.

        /v1/info stops saying "starting", and ``select 1`` and system tables answer,
        seconds before the coordinator lists this node as one that serves the
        connector catalogs: until then a scan with a split fails with "No nodes
        available to run query". Both catalogs arrive in the same node announcement,
        so one catalog's scan stands for both.
        """
        folder = self.state_dir / "ready-probe"
        folder.mkdir(exist_ok=True)
        (folder / "row.txt").write_text("ready\n")
        table = f"hive.{PROBE_SCHEMA}.ready"
        self.execute(f"create schema if not exists hive.{PROBE_SCHEMA}")
        self.execute(
            f"create table if not exists {table} (line varchar) "
            f"with (format = 'TEXTFILE', external_location = '{self.location(folder)}')"
        )
        rows = self.execute(f"select count(*) from {table}")
        if rows != [[1]]:
            raise TrinoError(f"the readiness probe table {table} returned {rows}, not one row")
        # Leave the catalogs as empty as they started (dropping an external table
        # leaves its folder alone).
        self.execute(f"drop table {table}")
        self.execute(f"drop schema hive.{PROBE_SCHEMA}")
        shutil.rmtree(folder)

    def is_ready(self) -> bool:
        if self._starting():
            return False
        try:
            self._probe()
        except Exception as error:  # any failure: not ready yet, try again
            self._probe_error = error
            return False
        return True

    def connect(
        self,
        catalog: str | None = None,
        schema: str | None = None,
        session: Mapping[str, str] | None = None,
    ) -> Connection:
        """A DB-API connection; ``session`` sets session properties, e.g.
        ``{"hive.timestamp_precision": "MICROSECONDS"}``."""
        import trino.dbapi

        return trino.dbapi.connect(
            host=self.host,
            port=self.port,
            user=USER,
            catalog=catalog,
            schema=schema,
            session_properties=dict(session or {}),
            request_timeout=120,
        )

    def execute(
        self,
        sql: str,
        catalog: str | None = None,
        schema: str | None = None,
        session: Mapping[str, str] | None = None,
    ) -> list[list[Any]]:
        """Run one statement and return its rows (none for DDL and CALL, the row count
        for INSERT)."""
        connection = self.connect(catalog, schema, session)
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            return [list(row) for row in cursor.fetchall()]
        finally:
            connection.close()
