"""Command line and local stack of the Smart City data platform."""
