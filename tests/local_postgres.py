"""A throwaway PostgreSQL server from the Debian packages, for the second-engine tests.

PostgreSQL refuses to run as root, so as root the server's own commands run as the
``postgres`` system user that the Debian package creates; as anyone else they run as
that user. The server listens on loopback only and trusts local connections: it holds
test data and lives as long as the process that started it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import psycopg2

from smartcity.local_stack.local_server import LocalServer
from smartcity.settings import PostgresSettings

INSTALL_HINT = (
    "PostgreSQL's server is not installed: run `make setup` (it installs the Debian "
    "package `postgresql`), or `apt-get install postgresql`."
)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the server would not start."""


def server_bin_dir() -> Path:
    """The newest installed server's bin directory (Debian keeps them per version)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise PostgresUnavailable(INSTALL_HINT)
    return candidates[-1].parent


class LocalPostgres(LocalServer):
    """The server run directly (not through ``pg_ctl``, which would detach it), so it
    starts, waits and stops like every local server; ready once it takes connections."""

    name = "postgres"
    title = "PostgreSQL"
    error = PostgresUnavailable
    startup_timeout_s = 60.0
    # A fast shutdown: open sessions are ended rather than waited for.
    stop_signal = signal.SIGINT
    poll_interval_s = 0.1
    host = "127.0.0.1"

    def __init__(
        self, state_dir: Path, port: int, user: str = "smartcity", database: str = "smartcity"
    ) -> None:
        super().__init__(state_dir)
        self.port = port
        self.user = user
        self.database = database

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    def _as_server_user(self) -> dict[str, Any]:
        """As root, run as the ``postgres`` user of the Debian package; otherwise as us."""
        if os.geteuid() != 0:
            return {}
        return {"user": "postgres", "group": "postgres", "extra_groups": []}

    def prepare(self) -> None:
        bin_dir = server_bin_dir()
        if os.geteuid() == 0:
            shutil.chown(self.state_dir, user="postgres", group="postgres")
            blocked = [
                parent for parent in self.state_dir.parents if not os.stat(parent).st_mode & 0o001
            ]
            if blocked:
                raise PostgresUnavailable(
                    f"the postgres user cannot reach {self.state_dir}: {blocked[0]} is closed "
                    "to others; put the server's state under a directory such as /tmp"
                )
        if (self.data_dir / "PG_VERSION").exists():
            return
        initdb = [str(bin_dir / "initdb"), "--pgdata", str(self.data_dir)]
        initdb += ["--username", self.user, "--auth", "trust"]
        initdb += ["--encoding", "UTF8", "--locale", "C"]
        result = subprocess.run(
            initdb, capture_output=True, text=True, check=False, **self._as_server_user()
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"`initdb` failed:\n{result.stdout}{result.stderr}")

    def command(self) -> list[str]:
        return [
            str(server_bin_dir() / "postgres"),
            *("-D", str(self.data_dir), "-p", str(self.port), "-k", str(self.state_dir)),
            *("-c", "listen_addresses=127.0.0.1"),
            # Test data only: durability is not needed, speed is.
            *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
        ]

    def popen_options(self) -> dict[str, Any]:
        return self._as_server_user()

    def _connect(self, database: str) -> Any:
        return psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=database)

    def is_ready(self) -> bool:
        try:
            self._connect("postgres").close()
        except psycopg2.OperationalError:
            return False
        return True

    def start(self, timeout_s: float | None = None) -> LocalPostgres:
        super().start(timeout_s)
        try:
            self._create_database()
        except BaseException:
            self.stop()
            raise
        return self

    def _create_database(self) -> None:
        connection = self._connect("postgres")
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("select 1 from pg_database where datname = %s", (self.database,))
                if cursor.fetchone() is None:
                    cursor.execute(f'create database "{self.database}"')
        finally:
            connection.close()

    @property
    def settings(self) -> PostgresSettings:
        """How the `postgres` dbt target and the loader reach this server."""
        return PostgresSettings(
            host=self.host, port=self.port, user=self.user, password="", database=self.database
        )
