"""Progress output for long commands: numbered steps and elapsed time on stderr-free stdout."""

from __future__ import annotations

import sys
import time


class Steps:
    def __init__(self, total: int) -> None:
        self.total = total
        self.number = 0
        self.started = time.monotonic()

    def start(self, title: str) -> None:
        self.number += 1
        elapsed = time.monotonic() - self.started
        say(f"\n[{self.number}/{self.total}] {title}  (t+{elapsed:.0f}s)")


def say(message: str) -> None:
    print(message, flush=True)


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
