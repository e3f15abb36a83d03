"""What `smartcity demo` simulates by default: a night of the city, with some bad records.

About six hours of event time from 22:00 UTC, across midnight, so that the dashboard's
hourly trends have points to draw over two days; a small share of malformed records, so
that its data-quality page has dead letters to show. Vehicles report every 30 s rather
than the simulation's 5 s, so six hours take about as many events, and as much time, as
one hour at 5 s.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# Enough events for about six hours at DEMO_GPS_EVERY_S with the default fleet (25
# vehicles): measured, 21,476 events reach the sixth hour.
DEMO_EVENTS = 22_000
DEMO_GPS_EVERY_S = 30
# One record in two hundred: about a hundred dead letters, of every kind.
DEMO_MALFORMED_SHARE = 0.005

NIGHT_STARTS_AT_HOUR = 22
# How far before now the night must have begun: its six hours and a margin, so that
# the whole run lies in the past.
NIGHT_OVER_AFTER = timedelta(hours=8)


def demo_start(now: datetime) -> datetime:
    """22:00 UTC of the latest night that is over: the latest 22:00 at least eight hours
    before ``now``. Yesterday's, unless it is not yet 06:00 UTC."""
    latest = now - NIGHT_OVER_AFTER
    start = latest.replace(hour=NIGHT_STARTS_AT_HOUR, minute=0, second=0, microsecond=0)
    return start if start <= latest else start - timedelta(days=1)
