"""The docs site: dbt's target folder served as it is, the column lineage in a subfolder.

`dbt docs generate` writes a static site into the target folder (index.html beside the
manifest and catalog it reads), and the lineage report is one static page: both are
served from one folder by Python's own file server, so no server of dbt's or of the
lineage tool runs.
"""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from smartcity.local_stack import ports

# The lineage report's folder inside the target folder, and so its URL path.
LINEAGE = "lineage"


class _QuietHandler(SimpleHTTPRequestHandler):
    # A line on stderr per file fetched would bury the one line that says where to look.
    def log_message(self, format: str, *args: Any) -> None:
        pass


def bind(folder: Path, host: str, port: int, advice: str) -> ThreadingHTTPServer:
    """A server for ``folder`` bound to ``host:port`` (not serving until
    ``serve_forever``): bound first, so that a taken port fails before anything else
    runs. PortUnavailable ends with ``advice``."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as error:
        raise ports.unavailable(host, port, error, advice) from None


def urls(host: str, port: int) -> tuple[str, str]:
    """The dbt docs' URL and the lineage report's."""
    root = f"http://{host}:{port}/"
    return root, f"{root}{LINEAGE}/"
