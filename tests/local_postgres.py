"""A throwaway PostgreSQL server from the Debian packages, for the second-engine tests.

PostgreSQL refuses to run as root, so as root the server's own commands run as the
``postgres`` system user that the Debian package creates; as anyone else they run as
that user. The server listens on loopback only and trusts local connections: it holds
test data and lives as long as the process that started it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg2

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


@dataclass
class LocalPostgres:
    state_dir: Path
    port: int
    user: str = "smartcity"
    database: str = "smartcity"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "server.log"

    def _as_server_user(self, *command: str) -> list[str]:
        if os.geteuid() != 0:
            return list(command)
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PostgresUnavailable("running as root needs `runuser` to start PostgreSQL")
        return [runuser, "-u", "postgres", "--", *command]

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            self._as_server_user(*command), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise PostgresUnavailable(
                f"`{' '.join(command)}` failed:\n{result.stdout}{result.stderr}\n{log[-2000:]}"
            )

    def start(self) -> None:
        bin_dir = server_bin_dir()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.state_dir, user="postgres", group="postgres")
            blocked = [
                parent
                for parent in self.state_dir.resolve().parents
                if not os.stat(parent).st_mode & 0o001
            ]
            if blocked:
                raise PostgresUnavailable(
                    f"the postgres user cannot reach {self.state_dir}: {blocked[0]} is closed "
                    "to others; put the server's state under a directory such as /tmp"
                )
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                str(bin_dir / "initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                self.user,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
            )
        options = (
            f"-p {self.port} -k {self.state_dir} -c listen_addresses=127.0.0.1"
            # Test data only: durability is not needed, speed is.
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(bin_dir / "pg_ctl"),
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_file),
            "--options",
            options,
            "--wait",
            "--timeout",
            "60",
            "start",
        )
        try:
            self._create_database()
        except BaseException:
            self.stop()
            raise

    def _create_database(self) -> None:
        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres"
        )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("select 1 from pg_database where datname = %s", (self.database,))
                if cursor.fetchone() is None:
                    cursor.execute(f'create database "{self.database}"')
        finally:
            connection.close()

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run(
                str(server_bin_dir() / "pg_ctl"),
                "--pgdata",
                str(self.data_dir),
                "--mode",
                "fast",
                "--wait",
                "stop",
            )

    @property
    def settings(self) -> PostgresSettings:
        """How the `postgres` dbt target and the loader reach this server."""
        return PostgresSettings(
            host="127.0.0.1", port=self.port, user=self.user, password="", database=self.database
        )
