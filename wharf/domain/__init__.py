"""The domain: aggregates and their events, and the pure rules they keep.

Pure: no I/O, no clock, no Docker. Every change of state is an event method on an
aggregate (base.py stamps each with the command's time, actor and cause); tenant.py holds
plan limits and reservations, container.py, volume.py, secret.py, host.py, token.py the
tenants' objects, plans.py the versioned plan catalogue, leadership.py the scheduler's
terms, records.py the records of rejections. container_spec.py types a container's spec
(frozen dataclasses: ports, mounts, secrets, health check) and validates it.
"""
