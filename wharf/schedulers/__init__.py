"""The scheduler: the log projected onto Docker hosts, and the timer jobs.

scheduler.py is a thin loop over controllers: containers.py and volumes.py each plan
(reconcile.py: pure `plan(desired, observed)`, placement.py: filters and scorers over an
index of hosts) and carry out their own actions through one ActionQueue (actions.py: the
busy set, backoff, one action per key). fleet.py keeps the engines and their event
watchers, host_health.py loses and recovers hosts, leading.py holds the term. ports.py is
the Engine port (infra/docker_driver.py on Docker, memory_engine.py in memory for
tests). Timer jobs (timers.py runs them): metrics.py, disk.py, networks.py, purge.py,
retention.py; logs.py collects container output.
"""
