"""One handler per command: load, decide, and say what to save."""
