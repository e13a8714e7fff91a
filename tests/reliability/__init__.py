"""Reliability: crash durability of `crewscope serve` and of the in-app exporter, and an
instrumented app that telemetry never harms (destination down or slow, file locked, disk
full, span floods)."""
