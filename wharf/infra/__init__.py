"""Adapters to the outside world, settings, and the entry points."""
