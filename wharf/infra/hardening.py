"""What Wharf sets on every container it runs, whichever back end runs it."""

from __future__ import annotations

# Everything else is dropped: enough for common images to switch users and bind low ports.
CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID", "NET_BIND_SERVICE",
                "KILL"]
PIDS_LIMIT = 512
LOG_ROTATION = {"max-size": "10m", "max-file": "3"}
