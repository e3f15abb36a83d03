"""All simulators on one clock: the stream of city events for a seed and a start time."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from foundation.contracts import Contract
from ingestion.simulators.cameras import CameraNetwork
from ingestion.simulators.city import build_city
from ingestion.simulators.emergency import EmergencyService
from ingestion.simulators.fleet import Fleet
from ingestion.simulators.weather import WeatherNetwork


@dataclass(frozen=True)
class SimulationOptions:
    events: int = 20_000
    seed: int = 42
    vehicles: int = 25
    start_at: datetime = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    incidents_per_hour: float = 12.0
    # Seconds between two GPS fixes of a driving vehicle; its telemetry comes with every
    # other fix. Sparser reports cover more hours of the city in the same number of events.
    gps_every_s: int = 5


def simulate(options: SimulationOptions) -> Iterator[tuple[Contract, dict]]:
    """Yield exactly ``options.events`` events, in event-time order.

    The same options give the same events, identifiers included: every random choice
    comes from one generator seeded with ``options.seed``.
    """
    if options.start_at.tzinfo is None:
        raise ValueError("start_at must be timezone-aware (UTC)")
    if options.gps_every_s < 1:
        raise ValueError(f"gps_every_s must be 1 second or more, not {options.gps_every_s}")
    rng = random.Random(options.seed)
    city = build_city()
    fleet = Fleet(
        city,
        rng,
        options.vehicles,
        gps_every_s=options.gps_every_s,
        telemetry_every_s=2 * options.gps_every_s,
    )
    cameras = CameraNetwork(city, rng)
    weather = WeatherNetwork(city, rng)
    emergency = EmergencyService(city, rng, options.incidents_per_hour)
    emitted = 0
    second = 0
    while emitted < options.events:
        at = options.start_at + timedelta(seconds=second)
        batch = (
            fleet.events(second, at)
            + cameras.events(fleet, at)
            + weather.events(second, at)
            + emergency.events(second, at)
        )
        yield from batch[: options.events - emitted]
        emitted += min(len(batch), options.events - emitted)
        fleet.advance()
        second += 1
