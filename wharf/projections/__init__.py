"""The read side: read models folded from the log, each at its own position.

One module per read model group (tenants.py, workloads.py, hosts.py, audit.py), over
views.py (SQLite or PostgreSQL tables, written with their tracking records in one
transaction). runner.py's Projector applies batches for a set of read models;
consumers.py runs one projector per consumer (catalog.CONSUMERS: "workloads", which
mutations answer from, and "records"), each at its own pace, so a slow consumer delays
only the readers that wait for it. reads/ holds the typed queries every other layer
reads through; no other package names a read-model table.
"""
