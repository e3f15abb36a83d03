"""Simulated city sensors and the Kafka producer that sends their events (the contracts
themselves are in :mod:`foundation.contracts`)."""
