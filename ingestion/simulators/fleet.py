"""Vehicles driving along the road grid, reporting GPS fixes and telemetry.

Each vehicle drives from intersection to intersection at a speed chosen per street
segment, sometimes idling at a junction. Its GPS positions, speeds, odometer and fuel
level all follow from that one movement, so they agree with each other. Between trips
it parks with the ignition off, and its on-board unit sends nothing until it drives
again: trips end, as real ones do.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime

from foundation import contracts
from ingestion.simulators.city import City, Node, haversine_m
from ingestion.simulators.ids import event_id

MODELS: tuple[tuple[str, str, str], ...] = (
    ("Volvo", "XC40", "hybrid"),
    ("Toyota", "Corolla", "hybrid"),
    ("Volkswagen", "Golf", "petrol"),
    ("Ford", "Transit", "diesel"),
    ("Tesla", "Model 3", "electric"),
    ("Renault", "Zoe", "electric"),
    ("Mercedes-Benz", "Sprinter", "diesel"),
)
# Litres (or kWh-equivalent percent of a tank) per km, as percent of a full tank.
FUEL_PCT_PER_KM = {"petrol": 0.14, "diesel": 0.11, "hybrid": 0.09, "electric": 0.2}
DIRECTIONS = {(1, 0): "north", (0, 1): "east", (-1, 0): "south", (0, -1): "west"}
# How long a vehicle drives before it parks, and how long it stays parked, in seconds.
# Every stay is longer than dbt's `trip_gap_seconds` (300), so each ends a trip.
DRIVE_SECONDS = (15 * 60, 75 * 60)
PARK_SECONDS = (10 * 60, 50 * 60)


def driving_share() -> float:
    """The share of the time a vehicle drives (and reports), on average."""
    drive, park = sum(DRIVE_SECONDS) / 2, sum(PARK_SECONDS) / 2
    return drive / (drive + park)


@dataclass
class Vehicle:
    vehicle_id: str
    plate: str
    make: str
    model: str
    model_year: int
    fuel_type: str
    origin: Node
    target: Node
    speed_kmh: float
    progress_m: float = 0.0
    odometer_km: float = 0.0
    fuel_level_pct: float = 100.0
    idle_seconds: int = 0
    drive_seconds_left: int = 0
    parked_seconds: int = 0
    arrivals: list[tuple[Node, str]] = field(default_factory=list)


def gps_version(vehicle: Vehicle) -> int:
    """The GPS contract version a vehicle's unit sends: even-numbered vehicles have
    the newer firmware, so both versions arrive side by side."""
    return 2 if int(vehicle.vehicle_id.rsplit("-", 1)[-1]) % 2 == 0 else 1


class Fleet:
    """Moves vehicles one simulated second at a time."""

    def __init__(
        self,
        city: City,
        rng: random.Random,
        vehicles: int,
        gps_every_s: int = 5,
        telemetry_every_s: int = 10,
    ) -> None:
        self.city = city
        self.rng = rng
        self.gps_every_s = gps_every_s
        self.telemetry_every_s = telemetry_every_s
        nodes = city.roads.nodes()
        self.vehicles: list[Vehicle] = []
        for number in range(1, vehicles + 1):
            make, model, fuel_type = rng.choice(MODELS)
            origin = rng.choice(nodes)
            self.vehicles.append(
                Vehicle(
                    vehicle_id=f"veh-{number:04d}",
                    plate=f"SC-{rng.randrange(100, 999)}-{number:04d}",
                    make=make,
                    model=model,
                    model_year=rng.randrange(2012, 2027),
                    fuel_type=fuel_type,
                    origin=origin,
                    target=rng.choice(city.roads.neighbours(origin)),
                    speed_kmh=self._segment_speed(),
                    odometer_km=round(rng.uniform(5_000, 150_000), 1),
                    fuel_level_pct=round(rng.uniform(35, 100), 1),
                    # Staggered: the fleet does not park all at once.
                    drive_seconds_left=rng.randrange(60, DRIVE_SECONDS[1]),
                )
            )

    def _segment_speed(self) -> float:
        return round(self.rng.uniform(18, 62), 1)

    def _segment_length_m(self, vehicle: Vehicle) -> float:
        roads = self.city.roads
        return haversine_m(*roads.position(vehicle.origin), *roads.position(vehicle.target))

    def position(self, vehicle: Vehicle) -> tuple[float, float]:
        roads = self.city.roads
        (lat1, lon1), (lat2, lon2) = roads.position(vehicle.origin), roads.position(vehicle.target)
        share = min(vehicle.progress_m / self._segment_length_m(vehicle), 1.0)
        return lat1 + (lat2 - lat1) * share, lon1 + (lon2 - lon1) * share

    def heading_deg(self, vehicle: Vehicle) -> float:
        d_row = vehicle.target[0] - vehicle.origin[0]
        d_col = vehicle.target[1] - vehicle.origin[1]
        return (math.degrees(math.atan2(d_col, d_row)) + 360) % 360

    def current_speed(self, vehicle: Vehicle) -> float:
        return 0.0 if vehicle.idle_seconds > 0 else vehicle.speed_kmh

    def advance(self) -> None:
        """One second of driving for every vehicle; records intersection arrivals."""
        for vehicle in self.vehicles:
            vehicle.arrivals.clear()
            if vehicle.parked_seconds > 0:
                vehicle.parked_seconds -= 1
                if vehicle.parked_seconds == 0:
                    vehicle.drive_seconds_left = self.rng.randrange(*DRIVE_SECONDS)
                continue
            vehicle.drive_seconds_left -= 1
            if vehicle.drive_seconds_left <= 0:
                vehicle.parked_seconds = self.rng.randrange(*PARK_SECONDS)
                continue
            if vehicle.idle_seconds > 0:
                vehicle.idle_seconds -= 1
                continue
            step_m = vehicle.speed_kmh / 3.6
            vehicle.odometer_km += step_m / 1000
            burn = FUEL_PCT_PER_KM[vehicle.fuel_type] * step_m / 1000
            vehicle.fuel_level_pct = max(vehicle.fuel_level_pct - burn, 0.0)
            if vehicle.fuel_level_pct < 5:  # refuelled at the next station
                vehicle.fuel_level_pct = 100.0
            vehicle.progress_m += step_m
            while vehicle.progress_m >= self._segment_length_m(vehicle):
                vehicle.progress_m -= self._segment_length_m(vehicle)
                direction = (
                    vehicle.target[0] - vehicle.origin[0],
                    vehicle.target[1] - vehicle.origin[1],
                )
                vehicle.arrivals.append((vehicle.target, DIRECTIONS[direction]))
                self._turn(vehicle)

    def _turn(self, vehicle: Vehicle) -> None:
        arrived = vehicle.target
        choices = [n for n in self.city.roads.neighbours(arrived) if n != vehicle.origin]
        vehicle.origin = arrived
        vehicle.target = self.rng.choice(choices or self.city.roads.neighbours(arrived))
        vehicle.speed_kmh = self._segment_speed()
        if self.rng.random() < 0.15:  # a red light or a delivery stop
            vehicle.idle_seconds = self.rng.randrange(10, 60)
            vehicle.progress_m = 0.0

    def events(self, second: int, at: datetime) -> list[tuple[contracts.Contract, dict]]:
        out: list[tuple[contracts.Contract, dict]] = []
        for index, vehicle in enumerate(self.vehicles):
            if vehicle.parked_seconds > 0:
                continue  # ignition off: the on-board unit sleeps
            # Stagger reports so the fleet does not all report in the same second.
            if (second + index) % self.gps_every_s == 0:
                out.append((contracts.GPS_FIXES, self._gps_fix(vehicle, at)))
            if (second + index) % self.telemetry_every_s == 0:
                out.append((contracts.VEHICLE_TELEMETRY, self._telemetry(vehicle, at)))
        return out

    def _gps_fix(self, vehicle: Vehicle, at: datetime) -> dict:
        latitude, longitude = self.position(vehicle)
        accuracy = round(self.rng.uniform(2.0, 9.0), 1)
        fix = {
            "event_id": event_id(self.rng),
            "event_type": contracts.GPS_FIXES.event_type,
            "schema_version": gps_version(vehicle),
            "source_id": f"gps-{vehicle.vehicle_id}",
            "event_at": at,
            "vehicle_id": vehicle.vehicle_id,
            "latitude": round(latitude, 6),
            "longitude": round(longitude, 6),
            "altitude_m": round(2.0 + self.rng.uniform(-1.5, 1.5), 1),
            "accuracy_m": accuracy,
            "speed_over_ground_kmh": self.current_speed(vehicle),
        }
        if fix["schema_version"] >= 2:
            fix["heading_deg"] = round(self.heading_deg(vehicle), 1)
        return fix

    def _telemetry(self, vehicle: Vehicle, at: datetime) -> dict:
        speed = self.current_speed(vehicle)
        return {
            "event_id": event_id(self.rng),
            "event_type": contracts.VEHICLE_TELEMETRY.event_type,
            "schema_version": contracts.VEHICLE_TELEMETRY.schema_version,
            "source_id": f"obu-{vehicle.vehicle_id}",
            "event_at": at,
            "vehicle_id": vehicle.vehicle_id,
            "speed_kmh": speed,
            "heading_deg": round(self.heading_deg(vehicle), 1),
            "fuel_level_pct": round(vehicle.fuel_level_pct, 2),
            "odometer_km": round(vehicle.odometer_km, 3),
            "engine_status": "running" if speed > 0 else "idle",
            "make": vehicle.make,
            "model": vehicle.model,
            "model_year": vehicle.model_year,
            "fuel_type": vehicle.fuel_type,
        }
