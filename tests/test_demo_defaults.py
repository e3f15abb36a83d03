"""What `smartcity demo` simulates when given no options: several hours of event time
across midnight UTC, all of it before the clock, with malformed records among them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
import pytest

from ingestion.simulators.world import SimulationOptions, simulate
from smartcity.cli import parse
from smartcity.cli.pipeline_commands import demo_simulation

# The clock at moments that matter to the choice of start: just after midnight, either
# side of 06:00 UTC (the end of the night before plus its margin), mid-afternoon, and
# the first hours of a year.
NOWS = [
    datetime(2026, 6, 10, 0, 30, tzinfo=UTC),
    datetime(2026, 6, 10, 5, 59, tzinfo=UTC),
    datetime(2026, 6, 10, 6, 0, tzinfo=UTC),
    datetime(2026, 6, 10, 15, 45, 12, 5, tzinfo=UTC),
    datetime(2027, 1, 1, 2, 0, tzinfo=UTC),
]


def _span(options: SimulationOptions) -> timedelta:
    first = last = None
    for _, event in simulate(options):
        first = first or event["event_at"]
        last = event["event_at"]
    assert first == options.start_at and last is not None
    return last - first


@pytest.fixture(scope="module")
def default_span() -> timedelta:
    """How long the default run lasts in event time; the simulation's pace does not
    depend on the hour it starts at, so one run measures it for every start."""
    return _span(demo_simulation(parse(["demo"]), NOWS[0]))


def test_the_default_run_lasts_more_than_four_hours(default_span: timedelta) -> None:
    assert default_span > timedelta(hours=4)


def test_the_default_run_sends_a_small_share_of_malformed_records() -> None:
    assert 0.001 <= parse(["demo"]).malformed_share <= 0.01


@pytest.mark.parametrize("now", NOWS, ids=lambda now: now.isoformat())
def test_the_default_run_crosses_midnight_and_ends_before_now(
    now: datetime, default_span: timedelta
) -> None:
    options = demo_simulation(parse(["demo"]), now)
    end = options.start_at + default_span
    assert options.start_at.date() < end.date()
    assert end <= now
    # Last night's, or the one before while last night is still recent: a day at most
    # and the margin (two hours) before now.
    assert now - end < timedelta(days=1, hours=2)


def test_the_options_given_replace_the_defaults() -> None:
    args = parse(
        ["demo", "--events", "500", "--start-at", "2026-02-01T09:30:00Z", "--gps-every", "5"]
    )
    options = demo_simulation(args, NOWS[0])
    assert options.start_at == datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
    assert (options.events, options.gps_every_s) == (500, 5)
    assert parse(["demo", "--malformed-share", "0"]).malformed_share == 0


def test_produce_keeps_the_simulations_own_reporting_and_sends_no_malformed_records() -> None:
    args = parse(["produce"])
    assert args.gps_every == SimulationOptions.gps_every_s
    assert args.malformed_share == 0


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--malformed-share", "1.5", "not a share from 0 to below 1"),
        ("--malformed-share", "-0.01", "not a share from 0 to below 1"),
        ("--gps-every", "0", "1 or more"),
    ],
)
def test_a_value_out_of_bounds_is_refused_with_what_is_allowed(
    option: str, value: str, says: str
) -> None:
    with pytest.raises(click.BadParameter) as refused:
        parse(["demo", option, value])
    message = refused.value.format_message()
    assert message.startswith(f"Invalid value for '{option}': {value} ") and says in message
