"""Aggregates and their events. Pure: no I/O, no clock, no Docker."""
