"""Wharf: an event-sourced container cloud."""
