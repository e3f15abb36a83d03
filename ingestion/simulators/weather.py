"""One weather station per district, reading every minute with slowly drifting values."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from foundation import contracts
from ingestion.simulators.city import City
from ingestion.simulators.ids import event_id


@dataclass
class Station:
    station_id: str
    latitude: float
    longitude: float
    temperature_c: float
    humidity_pct: float
    raining: bool = False


class WeatherNetwork:
    def __init__(self, city: City, rng: random.Random, every_s: int = 60) -> None:
        self.rng = rng
        self.every_s = every_s
        base_temperature = rng.uniform(2, 24)
        self.stations = [
            Station(
                station_id=f"wx-{district.district_id}",
                latitude=round(district.centroid[0], 6),
                longitude=round(district.centroid[1], 6),
                temperature_c=base_temperature + rng.uniform(-1.0, 1.0),
                humidity_pct=rng.uniform(55, 85),
            )
            for district in city.districts
        ]

    def events(self, second: int, at: datetime) -> list[tuple[contracts.Contract, dict]]:
        if second % self.every_s:
            return []
        return [(contracts.WEATHER_READINGS, self._reading(s, at)) for s in self.stations]

    def _reading(self, station: Station, at: datetime) -> dict:
        rng = self.rng
        station.temperature_c += rng.uniform(-0.2, 0.2)
        station.humidity_pct = min(max(station.humidity_pct + rng.uniform(-1, 1), 20), 100)
        if rng.random() < 0.05:
            station.raining = not station.raining
        precipitation = round(rng.uniform(0.1, 1.5), 2) if station.raining else 0.0
        return {
            "event_id": event_id(rng),
            "event_type": contracts.WEATHER_READINGS.event_type,
            "schema_version": contracts.WEATHER_READINGS.schema_version,
            "source_id": station.station_id,
            "event_at": at,
            "station_id": station.station_id,
            "latitude": station.latitude,
            "longitude": station.longitude,
            "temperature_c": round(station.temperature_c, 2),
            "precipitation_mm": precipitation,
            "wind_speed_kmh": round(rng.uniform(0, 45), 1),
            "wind_direction_deg": round(rng.uniform(0, 360), 1),
            "humidity_pct": round(station.humidity_pct, 1),
            "visibility_m": round(rng.uniform(2_000, 10_000) / (3 if station.raining else 1), 0),
            "air_quality_index": rng.randrange(15, 120),
        }
