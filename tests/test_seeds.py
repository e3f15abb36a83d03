"""The reference seeds agree with what the simulators generate."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from foundation.contracts import EMERGENCY_UPDATES, VEHICLE_TELEMETRY
from ingestion.simulators.cameras import place_cameras
from ingestion.simulators.city import build_city
from ingestion.simulators.fleet import MODELS
from tests.city_districts import district_of

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def rows(name: str) -> list[dict[str, str]]:
    with (SEEDS / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_camera_registry_is_where_the_simulated_cameras_stand() -> None:
    city = build_city()
    expected = {
        camera.camera_id: (
            round(camera.latitude, 6),
            round(camera.longitude, 6),
            district_of(city, camera.latitude, camera.longitude).district_id,
        )
        for camera in place_cameras(city)
    }
    found = {
        row["camera_id"]: (float(row["latitude"]), float(row["longitude"]), row["district_id"])
        for row in rows("camera_registry")
    }
    assert found == expected


def test_every_simulated_vehicle_model_has_a_vehicle_type() -> None:
    types = {(r["vehicle_make"], r["vehicle_model"]): r["fuel_type"] for r in rows("vehicle_types")}
    assert types == {(make, model): fuel for make, model, fuel in MODELS}
    fuels = next(f for f in VEHICLE_TELEMETRY.fields if f.name == "fuel_type").allowed
    assert set(types.values()) <= set(fuels)


def test_incident_types_are_the_contract_enumeration() -> None:
    allowed = next(f for f in EMERGENCY_UPDATES.fields if f.name == "incident_type").allowed
    types = rows("incident_types")
    assert [r["incident_type"] for r in types] == list(allowed)
    for row in types:
        assert 0 < int(row["target_dispatch_minutes"]) < int(row["target_response_minutes"])


@pytest.mark.parametrize(
    "name", ["districts", "vehicle_types", "incident_types", "camera_registry"]
)
def test_every_seed_is_declared_and_typed_in_the_project(name: str) -> None:
    project = (SEEDS.parent / "dbt_project.yml").read_text()
    declared = (SEEDS / "_seeds.yml").read_text()
    assert f"    {name}:\n      +column_types:" in project
    assert f"- name: {name}\n" in declared
    for column in rows(name)[0]:
        assert f"{column}:" in project.split(f"    {name}:")[1], (name, column)
