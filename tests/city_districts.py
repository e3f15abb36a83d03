"""Which district of the simulated city a position lies in (the tests' check of the
simulators and the seeds)."""

from __future__ import annotations

from ingestion.simulators.city import City, District


def district_of(city: City, latitude: float, longitude: float) -> District | None:
    return next((d for d in city.districts if d.contains(latitude, longitude)), None)
