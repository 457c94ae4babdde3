"""Adapters to the outside world, and the composition root.

bootstrap.py builds each process's parts from the settings (a `Wiring`, a context manager
that closes what it opened): the store (store.py), data keys (keystore.py), the
projectors, the scheduler and the timer jobs. api.py and serve.py serve the GraphQL API
(gate.py, ratelimit.py, sessions.py, http_guard.py guard it); backend.py implements the
API's ports; docker_*.py drive Docker Engines; logstore.py and metrics_store.py keep
container output and samples; replay.py and copy.py rebuild and copy the log; leader.py
elects the scheduler; cli/ is the `wharf` command; settings.py every setting.
"""
