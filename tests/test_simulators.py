import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from foundation.contracts import validate
from ingestion.simulators.cameras import place_cameras
from ingestion.simulators.city import build_city, haversine_m
from ingestion.simulators.fleet import PARK_SECONDS, Fleet
from ingestion.simulators.ids import plate_hash
from ingestion.simulators.world import SimulationOptions, simulate
from tests.city_districts import district_of

START = datetime(2026, 3, 1, 7, 30, tzinfo=UTC)
OPTIONS = SimulationOptions(events=6_000, seed=7, vehicles=20, start_at=START)


def events(options: SimulationOptions = OPTIONS) -> list:
    return list(simulate(options))


def test_same_seed_gives_the_same_events_and_another_seed_does_not() -> None:
    first, second = events(), events()
    assert [e for _, e in first] == [e for _, e in second]
    other = events(SimulationOptions(events=6_000, seed=8, vehicles=20, start_at=START))
    assert [e["event_id"] for _, e in first] != [e["event_id"] for _, e in other]


def test_exact_count_time_order_and_contracts() -> None:
    generated = events()
    assert len(generated) == OPTIONS.events
    times = [e["event_at"] for _, e in generated]
    assert times == sorted(times)
    assert times[0] == START
    assert len({e["event_id"] for _, e in generated}) == len(generated)
    for contract, event in generated:
        validate(contract, event)
    assert set(Counter(c.source for c, _ in generated)) == {
        "vehicle_telemetry",
        "gps_fixes",
        "camera_sightings",
        "weather_readings",
        "emergency_updates",
    }


def test_vehicles_move_no_faster_than_they_report_and_stay_in_the_city() -> None:
    city = build_city()
    fixes = defaultdict(list)
    for contract, event in events():
        if contract.source == "gps_fixes":
            fixes[event["vehicle_id"]].append(event)
            assert district_of(city, event["latitude"], event["longitude"]) is not None
    max_speed_ms = 62 / 3.6
    for track in fixes.values():
        for before, after in itertools.pairwise(track):
            seconds = (after["event_at"] - before["event_at"]).total_seconds()
            moved = haversine_m(
                before["latitude"], before["longitude"], after["latitude"], after["longitude"]
            )
            # A straight line is never longer than the road driven at top speed.
            assert moved <= max_speed_ms * seconds + 1.0


def test_vehicles_park_between_trips_and_report_nothing_while_parked() -> None:
    """A fix every 5 s while a vehicle drives; a gap longer than dbt's trip gap when it
    parks, so trips end."""
    options = SimulationOptions(events=60_000, seed=7, vehicles=20, start_at=START)
    fixes = defaultdict(list)
    for contract, event in simulate(options):
        if contract.source == "gps_fixes":
            fixes[event["vehicle_id"]].append(event["event_at"])
    parked = 0
    for times in fixes.values():
        for before, after in itertools.pairwise(times):
            gap = (after - before).total_seconds()
            assert gap == 5 or gap >= PARK_SECONDS[0], gap
            parked += gap > 5
    assert parked >= len(fixes)  # every vehicle parked at least once, on average


def test_a_sparser_gps_interval_spaces_fixes_and_telemetry_alike() -> None:
    """Every 30 s a fix and every 60 s telemetry while a vehicle drives, as the demo
    sends them; still a gap longer than dbt's trip gap when it parks."""
    options = SimulationOptions(events=8_000, seed=7, vehicles=20, start_at=START, gps_every_s=30)
    times: dict[tuple[str, str], list] = defaultdict(list)
    for contract, event in simulate(options):
        if contract.source in ("gps_fixes", "vehicle_telemetry"):
            times[contract.source, event["vehicle_id"]].append(event["event_at"])
    every = {"gps_fixes": 30, "vehicle_telemetry": 60}
    for (source, _), reported in times.items():
        for before, after in itertools.pairwise(reported):
            gap = (after - before).total_seconds()
            assert gap == every[source] or gap >= PARK_SECONDS[0], (source, gap)
    assert {source for source, _ in times} == set(every)


def test_a_gps_interval_under_a_second_is_refused() -> None:
    with pytest.raises(ValueError, match="gps_every_s must be 1 second or more"):
        next(simulate(SimulationOptions(events=10, gps_every_s=0)))


def test_odometer_and_fuel_follow_the_distance_driven() -> None:
    telemetry = defaultdict(list)
    for contract, event in events():
        if contract.source == "vehicle_telemetry":
            telemetry[event["vehicle_id"]].append(event)
    for track in telemetry.values():
        for before, after in itertools.pairwise(track):
            seconds = (after["event_at"] - before["event_at"]).total_seconds()
            driven_km = after["odometer_km"] - before["odometer_km"]
            assert 0 <= driven_km <= 62 / 3600 * seconds + 1e-3
            if after["fuel_level_pct"] <= before["fuel_level_pct"]:
                assert before["fuel_level_pct"] - after["fuel_level_pct"] <= 0.2 * driven_km + 0.02


def test_cameras_report_hashed_plates_of_fleet_vehicles_at_their_own_position() -> None:
    city = build_city()
    import random

    fleet = Fleet(city, random.Random(OPTIONS.seed), OPTIONS.vehicles)
    known_hashes = {plate_hash(v.plate) for v in fleet.vehicles}
    cameras = {c.camera_id: c for c in place_cameras(city)}
    sightings = [e for c, e in events() if c.source == "camera_sightings"]
    assert sightings
    for sighting in sightings:
        assert sighting["plate_hash"] in known_hashes
        camera = cameras[sighting["camera_id"]]
        assert (sighting["latitude"], sighting["longitude"]) == (
            round(camera.latitude, 6),
            round(camera.longitude, 6),
        )


def test_incidents_follow_their_lifecycle_in_order() -> None:
    options = SimulationOptions(
        events=30_000, seed=3, vehicles=10, start_at=START, incidents_per_hour=40
    )
    order = ["reported", "dispatched", "on_scene", "resolved"]
    lifecycles = defaultdict(list)
    for contract, event in events(options):
        if contract.source == "emergency_updates":
            lifecycles[event["incident_id"]].append(event)
    assert any(len(updates) == 4 for updates in lifecycles.values())
    for updates in lifecycles.values():
        statuses = [u["status"] for u in updates]
        assert statuses == order[: len(statuses)]
        times = [u["event_at"] for u in updates]
        assert times == sorted(times)
