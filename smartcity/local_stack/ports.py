"""A local server's port, claimed or checked before anything is announced on it.

A server that announces its URL and then fails to bind leaves the user at a page that
is someone else's, or at nothing. Every local web server of the project (the docs, the
dashboard) checks its port first and, when it is taken, says so in one line that
names how to choose another.
"""

from __future__ import annotations

import errno
import socket


class PortUnavailable(RuntimeError):
    pass


def unavailable(host: str, port: int, error: OSError, advice: str) -> PortUnavailable:
    """The one-line error for a port that could not be bound, ending with ``advice``."""
    if error.errno == errno.EADDRINUSE:
        return PortUnavailable(
            f"port {port} on {host} is already in use by another program: {advice}"
        )
    return PortUnavailable(f"cannot serve on {host}:{port} ({error.strerror or error}): {advice}")


def check_free(host: str, port: int, advice: str) -> None:
    """Raise PortUnavailable unless a server could bind ``host:port`` now; for a server
    that binds in another process (Streamlit), so the check cannot hold the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers bind: a port left in TIME_WAIT by a stopped server is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise unavailable(host, port, error, advice) from None
