"""Emergency incidents that move through reported -> dispatched -> on scene -> resolved."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from foundation import contracts
from ingestion.simulators.city import City
from ingestion.simulators.ids import event_id

INCIDENT_TYPES = ("fire", "medical", "traffic_collision", "crime", "hazmat")
UNIT_PREFIX = {
    "fire": "engine",
    "medical": "ambulance",
    "traffic_collision": "patrol",
    "crime": "patrol",
    "hazmat": "hazmat",
}


@dataclass
class Incident:
    incident_id: str
    incident_type: str
    severity: int
    latitude: float
    longitude: float
    # Second of the simulation at which each later status is reached.
    schedule: list[tuple[int, str]]
    units: list[str] = field(default_factory=list)


class EmergencyService:
    def __init__(self, city: City, rng: random.Random, incidents_per_hour: float = 12.0) -> None:
        self.city = city
        self.rng = rng
        self.chance_per_second = incidents_per_hour / 3600
        self.open: list[Incident] = []
        self.count = 0

    def events(self, second: int, at: datetime) -> list[tuple[contracts.Contract, dict]]:
        out = []
        if self.rng.random() < self.chance_per_second:
            incident = self._new_incident(second)
            self.open.append(incident)
            out.append(self._update(incident, "reported", at))
        for incident in list(self.open):
            while incident.schedule and incident.schedule[0][0] <= second:
                _, status = incident.schedule.pop(0)
                if status == "dispatched":
                    prefix = UNIT_PREFIX[incident.incident_type]
                    crews = 1 + incident.severity // 2
                    incident.units = [
                        f"{prefix}-{self.rng.randrange(1, 40):02d}" for _ in range(crews)
                    ]
                out.append(self._update(incident, status, at))
            if not incident.schedule:
                self.open.remove(incident)
        return out

    def _new_incident(self, second: int) -> Incident:
        rng = self.rng
        self.count += 1
        district = rng.choice(self.city.districts)
        dispatched = second + rng.randrange(30, 180)
        on_scene = dispatched + rng.randrange(120, 600)
        resolved = on_scene + rng.randrange(300, 1800)
        return Incident(
            incident_id=f"inc-{self.count:05d}",
            incident_type=rng.choice(INCIDENT_TYPES),
            severity=rng.randrange(1, 6),
            latitude=round(rng.uniform(district.min_latitude, district.max_latitude), 6),
            longitude=round(rng.uniform(district.min_longitude, district.max_longitude), 6),
            schedule=[(dispatched, "dispatched"), (on_scene, "on_scene"), (resolved, "resolved")],
        )

    def _update(
        self, incident: Incident, status: str, at: datetime
    ) -> tuple[contracts.Contract, dict]:
        return (
            contracts.EMERGENCY_UPDATES,
            {
                "event_id": event_id(self.rng),
                "event_type": contracts.EMERGENCY_UPDATES.event_type,
                "schema_version": contracts.EMERGENCY_UPDATES.schema_version,
                "source_id": "dispatch-centre",
                "event_at": at,
                "incident_id": incident.incident_id,
                "incident_type": incident.incident_type,
                "severity": incident.severity,
                "status": status,
                "latitude": incident.latitude,
                "longitude": incident.longitude,
                "units": list(incident.units),
            },
        )
