"""Identifiers drawn from the simulation's seeded generator, so a seed replays exactly."""

from __future__ import annotations

import hashlib
import random
import uuid


def event_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def plate_hash(plate: str) -> str:
    """What a camera reports instead of the plate itself."""
    return hashlib.sha256(plate.encode()).hexdigest()
