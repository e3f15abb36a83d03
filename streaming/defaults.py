"""The landing job's defaults, in a module without Spark so that the CLI can show them."""

from __future__ import annotations

from foundation.environment import setting

# "availableNow" drains what is in Kafka and stops; otherwise a processing-time interval
# such as "10 seconds" for a continuous run (Spark's own names).
AVAILABLE_NOW = "availableNow"
# Declared with its reason in foundation/environment.py (SMARTCITY_LANDING_MAX_OFFSETS).
MAX_OFFSETS_PER_TRIGGER: int = setting({}, "SMARTCITY_LANDING_MAX_OFFSETS")
