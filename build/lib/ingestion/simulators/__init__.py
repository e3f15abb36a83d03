"""Deterministic simulators of the city's sensors.

:func:`ingestion.simulators.world.simulate` is the entry point: it yields events of
all five sources in event-time order from one seeded random generator.
"""
