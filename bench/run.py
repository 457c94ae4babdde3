"""Runs every benchmark and prints its figures with the baseline beside them."""

from __future__ import annotations

import platform
import sys

from bench import (
    api,
    attack,
    billing,
    builds,
    commands,
    dashboard,
    logs,
    placement,
    placement_scale,
    projection,
    relay,
    replay,
    scheduler,
    services,
    swarm_scale,
)


def main() -> int:
    print(f"Wharf benchmarks on {platform.node()}, Python {platform.python_version()}",
          flush=True)
    lines = []
    lines += commands.run(3000)
    lines += projection.run(100_000)
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    lines += replay.run(events)
    lines += api.run()
    lines += attack.run()
    lines += scheduler.run()
    lines += placement.run()
    lines += placement_scale.run()
    lines += logs.run()
    lines += services.run()
    lines += swarm_scale.run()
    lines += billing.run()
    lines += relay.run()
    lines += builds.run()
    lines += dashboard.run()
    print("\nsummary:")
    for line in lines:
        print(" ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
