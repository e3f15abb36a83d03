"""The simulated city: districts (from the dbt seed) and a grid of roads over them."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

DISTRICTS_SEED = Path(__file__).resolve().parents[2] / "seeds" / "districts.csv"
EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class District:
    district_id: str
    name: str
    min_latitude: float
    max_latitude: float
    min_longitude: float
    max_longitude: float

    @property
    def centroid(self) -> tuple[float, float]:
        return (
            (self.min_latitude + self.max_latitude) / 2,
            (self.min_longitude + self.max_longitude) / 2,
        )

    def contains(self, latitude: float, longitude: float) -> bool:
        # Half-open boxes, so that a point on a shared edge has exactly one district.
        return (
            self.min_latitude <= latitude < self.max_latitude
            and self.min_longitude <= longitude < self.max_longitude
        )


def load_districts(path: Path = DISTRICTS_SEED) -> tuple[District, ...]:
    """Districts from the same seed file that dbt loads, so both agree on geography."""
    with path.open(newline="") as handle:
        return tuple(
            District(
                district_id=row["district_id"],
                name=row["district_name"],
                min_latitude=float(row["min_latitude"]),
                max_latitude=float(row["max_latitude"]),
                min_longitude=float(row["min_longitude"]),
                max_longitude=float(row["max_longitude"]),
            )
            for row in csv.DictReader(handle)
        )


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


Node = tuple[int, int]  # (row, column) of an intersection


@dataclass(frozen=True)
class RoadGrid:
    """Streets on a regular grid; intersections are (row, column) nodes."""

    min_latitude: float
    min_longitude: float
    lat_step: float
    lon_step: float
    rows: int
    columns: int

    def position(self, node: Node) -> tuple[float, float]:
        return (
            self.min_latitude + node[0] * self.lat_step,
            self.min_longitude + node[1] * self.lon_step,
        )

    def neighbours(self, node: Node) -> list[Node]:
        row, column = node
        candidates = [(row + 1, column), (row, column + 1), (row - 1, column), (row, column - 1)]
        return [(r, c) for r, c in candidates if 0 <= r < self.rows and 0 <= c < self.columns]

    def nodes(self) -> list[Node]:
        return [(r, c) for r in range(self.rows) for c in range(self.columns)]


@dataclass(frozen=True)
class City:
    districts: tuple[District, ...]
    roads: RoadGrid


def build_city(districts: tuple[District, ...] | None = None) -> City:
    """The city over the seed's districts, with a street every ~500 m."""
    districts = districts or load_districts()
    min_lat = min(d.min_latitude for d in districts)
    max_lat = max(d.max_latitude for d in districts)
    min_lon = min(d.min_longitude for d in districts)
    max_lon = max(d.max_longitude for d in districts)
    lat_step, lon_step = 0.0045, 0.0072
    # Streets stay strictly inside the city so every position has a district.
    margin_lat, margin_lon = lat_step / 2, lon_step / 2
    rows = int((max_lat - min_lat - 2 * margin_lat) / lat_step) + 1
    columns = int((max_lon - min_lon - 2 * margin_lon) / lon_step) + 1
    grid = RoadGrid(min_lat + margin_lat, min_lon + margin_lon, lat_step, lon_step, rows, columns)
    return City(districts=districts, roads=grid)
