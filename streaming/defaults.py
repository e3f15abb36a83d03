"""The landing job's defaults, in a module without Spark so that the CLI can show them."""

from __future__ import annotations

# "availableNow" drains what is in Kafka and stops; otherwise a processing-time interval
# such as "10 seconds" for a continuous run.
AVAILABLE_NOW = "availableNow"
# Most Kafka records one micro-batch of one source takes.
MAX_OFFSETS_PER_TRIGGER = 500_000
