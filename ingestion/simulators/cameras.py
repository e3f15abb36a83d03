"""Traffic cameras at fixed intersections that report the vehicles passing them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from foundation import contracts
from ingestion.simulators.city import City, Node
from ingestion.simulators.fleet import Fleet
from ingestion.simulators.ids import event_id, plate_hash


@dataclass(frozen=True)
class Camera:
    camera_id: str
    node: Node
    latitude: float
    longitude: float


def place_cameras(city: City, every_nth_intersection: int = 4) -> tuple[Camera, ...]:
    """Cameras on a fixed pattern of intersections: the same city gives the same cameras."""
    cameras = []
    for index, node in enumerate(city.roads.nodes()):
        if index % every_nth_intersection == 0:
            latitude, longitude = city.roads.position(node)
            number = len(cameras) + 1
            cameras.append(Camera(f"cam-{number:03d}", node, latitude, longitude))
    return tuple(cameras)


class CameraNetwork:
    def __init__(self, city: City, rng: random.Random) -> None:
        self.rng = rng
        self.cameras = {camera.node: camera for camera in place_cameras(city)}

    def events(self, fleet: Fleet, at: datetime) -> list[tuple[contracts.Contract, dict]]:
        out: list[tuple[contracts.Contract, dict]] = []
        for vehicle in fleet.vehicles:
            for node, direction in vehicle.arrivals:
                camera = self.cameras.get(node)
                if camera is None:
                    continue
                identifier = event_id(self.rng)
                out.append(
                    (
                        contracts.CAMERA_SIGHTINGS,
                        {
                            "event_id": identifier,
                            "event_type": contracts.CAMERA_SIGHTINGS.event_type,
                            "schema_version": contracts.CAMERA_SIGHTINGS.schema_version,
                            "source_id": camera.camera_id,
                            "event_at": at,
                            "camera_id": camera.camera_id,
                            "latitude": round(camera.latitude, 6),
                            "longitude": round(camera.longitude, 6),
                            "plate_hash": plate_hash(vehicle.plate),
                            "snapshot_ref": f"snapshots/{camera.camera_id}/{identifier}.jpg",
                            "direction": direction,
                        },
                    )
                )
        return out
