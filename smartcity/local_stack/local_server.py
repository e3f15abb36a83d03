"""One local server process, started and stopped one safe way.

Every server the project or its tests run on this machine (the Kafka broker, Trino, the
Spark master and workers, PostgreSQL, moto, the dashboard, the docs site) is a
:class:`LocalServer`: a subclass says how to prepare its state, what to run and how to
tell it is ready; this class starts it, writes its pid file, waits for it, and stops it.

The server runs in a session of its own, so Ctrl-C in the terminal reaches us and not
it; then nobody else would stop it either, so a failure while starting stops it before
the error goes up, and stopping takes its whole process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self


class ServerError(RuntimeError):
    """A local server would not start or stop."""


class LocalServer:
    """A server process under ``state_dir``: its output in :attr:`log_file`, its pid in
    :attr:`pid_file`, ready when :meth:`is_ready` says so.

    Subclasses set :attr:`name` and implement :meth:`command` and :meth:`is_ready`;
    :meth:`prepare` (configuration, storage) and :meth:`popen_options` are optional.
    """

    name: ClassVar[str]
    # What the error says the server is ("the Kafka broker"); the name by default.
    title: ClassVar[str] = ""
    error: ClassVar[type[Exception]] = ServerError
    startup_timeout_s: ClassVar[float] = 90.0
    shutdown_timeout_s: ClassVar[float] = 30.0
    # The signal that asks it to stop; SIGKILL follows after the shutdown timeout.
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM
    poll_interval_s: ClassVar[float] = 0.2

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir.resolve()
        self.process: subprocess.Popen[bytes] | None = None

    # --- what a subclass says -------------------------------------------------------

    def prepare(self) -> None:
        """Write what the server reads before it starts (configuration, storage)."""

    def command(self) -> list[str]:
        raise NotImplementedError

    def popen_options(self) -> dict[str, Any]:
        """More keywords for :class:`subprocess.Popen` (env, cwd, user, ...)."""
        return {}

    def is_ready(self) -> bool:
        """True once the server answers; raise ``self.error`` for a fault that waiting
        will not mend."""
        raise NotImplementedError

    def failure(self, reason: str) -> Exception:
        """The error for a server that would not start, pointing at its log."""
        return self.error(f"{reason}; see {self.log_file}")

    # --- what every server has ------------------------------------------------------

    @property
    def log_file(self) -> Path:
        return self.state_dir / "logs" / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout_s: float | None = None) -> Self:
        """Prepare, start, and return once ready; on any failure (Ctrl-C included) the
        process is stopped before the error goes up."""
        if self.running:
            return self
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.prepare()
        with self.log_file.open("ab") as output:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self.popen_options(),
            )
        self.pid_file.write_text(f"{self.process.pid}\n")
        try:
            self._wait_until_ready(self.process, timeout_s or self.startup_timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, process: subprocess.Popen[bytes], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        what = self.title or self.name
        while True:
            if process.poll() is not None:
                raise self.failure(f"{what} exited with code {process.returncode} while starting")
            if self.is_ready():
                return
            if time.monotonic() > deadline:
                raise self.failure(
                    f"{what} was not ready within {timeout_s:.0f} s (the process is running)"
                )
            time.sleep(self.poll_interval_s)

    def stop(self) -> None:
        """Stop the whole process group: the stop signal, then SIGKILL after the
        shutdown timeout. Safe to call twice, and on a server that never started."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, self.stop_signal)
                try:
                    process.wait(timeout=self.shutdown_timeout_s)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it ended on its own between the check and the signal
            process.wait()
        self.pid_file.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
