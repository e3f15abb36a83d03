"""Simulated city sensors, their event contracts, and the Kafka producer."""
