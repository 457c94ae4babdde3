"""The commands that run Wharf's processes: `up` (everything in one), `api`, `scheduler`
and `projector`. Each builds its parts in the composition root (bootstrap.py) and closes
them on the way out, also when interrupted."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from wharf.infra.bootstrap import RuntimeMismatch, Wiring, build
from wharf.infra.cli.output import Progress
from wharf.infra.relay import BATCH
from wharf.infra.scheduling import register_engines
from wharf.infra.settings import Settings
from wharf.schedulers.leading import holder
from wharf.schedulers.scheduler import Scheduler
from wharf.schedulers.swarm_runtime import SwarmRuntime

STOP_WAIT_SECONDS = 30  # for the scheduler to end its pass when `wharf up` stops


def add_commands(sub: Any) -> None:
    up = sub.add_parser("up", help="set up the store and run Wharf in one process",
                        description="Creates the store on first start, seeds the plans, "
                                    "issues the operator's token, and runs the GraphQL API, "
                                    "the projector, the scheduler and the timers until "
                                    "interrupted (WHARF_LISTEN, default 127.0.0.1:8080).")
    up.set_defaults(run=cmd_up)
    api = sub.add_parser("api", help="serve the GraphQL API (stateless; run many)",
                         description="Serves the API over the read side that `wharf "
                                     "projector` keeps (in another process).")
    api.set_defaults(run=cmd_api)

    sched = sub.add_parser(
        "scheduler", help="run containers on the Docker hosts as the log says (one leader)",
        description="Reconciles the desired state (the read side) with every host's Docker "
                    "engine: places, creates, starts, stops and removes containers, and "
                    "records what the engines report; the leader also runs the timer jobs "
                    "(metrics, disk limits, log retention, purges). One leader at a time; "
                    "others wait.")
    sched.add_argument("--once", action="store_true", help="one pass, print its actions, exit")
    sched.add_argument("--register-local", action="store_true",
                       help="register WHARF_DOCKER_HOSTS (default: the local engine) first")
    sched.set_defaults(run=cmd_scheduler)

    relay = sub.add_parser(
        "relay", help="publish every event of the log to Kafka (one leader)",
        description="Follows the log in its order and publishes each event to topic "
                    "wharf.events (key: the aggregate's id) and each closed bill also to "
                    "wharf.bills, at least once, with stable event ids, resuming from the "
                    "position the broker last acknowledged. Needs WHARF_KAFKA_BOOTSTRAP. "
                    "One relay leads at a time (beside the scheduler's leader); others "
                    "wait. `wharf up` runs one itself when WHARF_KAFKA_BOOTSTRAP is set.")
    relay.add_argument("--batch-size", type=int, default=BATCH,
                       help=f"events sent and acknowledged as one step (default {BATCH})")
    relay.add_argument("--until-caught-up", action="store_true",
                       help="exit once every event of the log has been acknowledged")
    relay.set_defaults(run=cmd_relay)

    proj = sub.add_parser("projector", help="keep every read model up to date with the log",
                          description="Runs every consumer of the log (each read model "
                                      "group at its own pace) until interrupted.")
    proj.add_argument("--once", action="store_true", help="catch up, then exit")
    proj.add_argument("--batch-size", type=int, default=2000,
                      help="events per transaction (default 2000)")
    proj.set_defaults(run=cmd_projector)


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra.serve import ensure_operator_token, listen_address, serve, token_file

    with build(settings) as wiring:
        print(f"Wharf store: {settings.database_url}", flush=True)
        progress = Progress("catching up read models")
        wiring.projector.catch_up(progress=progress)
        progress.done(wiring.projector.position)
        token = ensure_operator_token(wiring, settings)
        host, port = listen_address(settings)
        print(f"Wharf API: http://{host}:{port}/graphql")
        # The token itself is never printed: output ends up in logs and journals.
        made = "made on this first start, " if token is not None else ""
        print(f"operator token: {made}in {token_file(settings)} (readable by you only)")
        if settings.registry:
            wiring.registry(f"http://{host}:{port}")
            print(f"Image registry: {settings.registry} (docker login {settings.registry} "
                  "with any user name and a Wharf token as the password)", flush=True)
        if settings.scheduler:
            engines = register_engines(wiring.app, settings.docker_hosts)
            print(f"Docker hosts: {', '.join(engines) or 'none answering (containers wait)'}")
            try:
                scheduler = wiring.runtime(in_process=True)
            except RuntimeMismatch as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            if settings.runtime == "swarm":
                manager = settings.swarm_manager or "(unset: set WHARF_SWARM_MANAGER)"
                print(f"Runtime: Docker Swarm, its manager the host {manager}")
            if scheduler.routes is not None:
                print("Ingress: Caddy (state in WHARF_HOME/caddy); services' balanced ports "
                      "listen on 127.0.0.1")
            leader = threading.Thread(target=lead, args=(wiring, scheduler), name="scheduler",
                                      daemon=True)
            leader.start()
            print("Running the API, the projector, the scheduler and the timers. Ctrl-C "
                  "stops.", flush=True)
            try:
                with relaying(wiring):
                    serve(wiring, settings, embedded=True)
            finally:
                # Let the scheduler finish its pass and tidy up (its `lead` does).
                scheduler.stop()
                leader.join(STOP_WAIT_SECONDS)
        else:
            print("Running the API and the projector (WHARF_SCHEDULER=off: no containers "
                  "are run, no timers). Ctrl-C stops.", flush=True)
            with relaying(wiring):
                serve(wiring, settings, embedded=True)
    return 0


@contextlib.contextmanager
def relaying(wiring: Wiring) -> Iterator[None]:
    """The Kafka relay in a thread of its own while the block runs (when
    WHARF_KAFKA_BOOTSTRAP is set): a broker that is down delays it and nothing else."""
    settings = wiring.settings
    if not settings.kafka_bootstrap:
        yield
        return
    from wharf.infra.relay import Relay, relay_forever

    relays: list[Relay] = []
    thread = threading.Thread(target=relay_forever, name="relay", daemon=True,
                              args=(wiring.app, wiring.view, settings, holder()),
                              kwargs={"ready": relays.append})
    thread.start()
    print(f"Relay: every event to Kafka at {settings.kafka_bootstrap} (topics "
          "wharf.events and wharf.bills)", flush=True)
    try:
        yield
    finally:
        for relay in relays:
            relay.stop()
        thread.join(STOP_WAIT_SECONDS)


def lead(wiring: Wiring, scheduler: Scheduler | SwarmRuntime) -> None:
    """Waits to lead, then reconciles and runs the timer jobs until stopped: timers run
    in the leader only, so that two schedulers never sample or purge twice."""
    from wharf.infra.leader import leadership
    from wharf.schedulers.timers import run_timers

    with leadership(wiring.settings):
        jobs = wiring.timers()
        timers = run_timers(jobs)
        # The builder too runs in the leader only: one place decides whose builds run.
        building = threading.Event()
        builder = threading.Thread(target=wiring.builder().run_forever, args=(building,),
                                   name="builder", daemon=True) \
            if wiring.settings.registry else None
        mirrors = threading.Thread(target=wiring.mirrors().run_forever, args=(building,),
                                   name="mirrors", daemon=True) \
            if wiring.settings.registry else None
        for thread in (builder, mirrors):
            if thread is not None:
                thread.start()
        try:
            scheduler.run_forever(wiring.settings.scheduler_interval)
        finally:
            building.set()
            for thread in (builder, mirrors):
                if thread is not None:
                    thread.join(STOP_WAIT_SECONDS)
            timers.shutdown(wait=True)
            # On the way out, no tenant network that no container needs stays behind.
            for job in jobs:
                if job.id == "prune-networks":
                    job.job(*job.args)


def cmd_scheduler(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        if args.register_local:
            register_engines(wiring.app, settings.docker_hosts)
        try:
            scheduler = wiring.runtime(in_process=False)
        except RuntimeMismatch as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if args.once:
            result = scheduler.run_pass()
            for action in result.actions:
                print(f"{action.kind:16} {action.container_id} {action.host_id or ''}")
            print(f"{len(result.actions)} actions, {result.failed} failed")
            return 1 if result.failed else 0
        signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
        print("scheduler: waiting to lead, then reconciling (Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            lead(wiring, scheduler)
    return 0


def cmd_relay(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra.relay import Relay, relay_forever

    if not settings.kafka_bootstrap:
        print("wharf relay: set WHARF_KAFKA_BOOTSTRAP to the Kafka brokers (HOST:PORT,...)",
              file=sys.stderr)
        return 2
    if not 1 <= args.batch_size <= 100_000:
        print("wharf relay: --batch-size is from 1 to 100000", file=sys.stderr)
        return 2
    progress = Progress("relayed up to position")

    def ready(relay: Relay) -> None:
        signal.signal(signal.SIGTERM, lambda *_: relay.stop())
        print(f"relay: waiting to lead, then publishing to {settings.kafka_bootstrap} "
              "(Ctrl-C stops)", flush=True)

    with build(settings) as wiring, contextlib.suppress(KeyboardInterrupt):
        relay_forever(wiring.app, wiring.view, settings, holder(), ready=ready,
                      progress=lambda position, _: progress(position),
                      batch=args.batch_size, until_caught_up=args.until_caught_up)
    return 0


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra.serve import listen_address, serve

    with build(settings) as wiring:
        host, port = listen_address(settings)
        print(f"Wharf API: http://{host}:{port}/graphql (read side from `wharf projector`)",
              flush=True)
        serve(wiring, settings, embedded=False)
    return 0


def cmd_projector(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        wiring.projector.batch_size = args.batch_size
        if args.once:
            progress = Progress("projected up to position")
            wiring.projector.catch_up(progress=progress)
            progress.done(wiring.projector.position)
            return 0
        signal.signal(signal.SIGTERM, lambda *_: wiring.projector.stop())
        print(f"projector: following the log from position {wiring.projector.position}",
              flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            wiring.projector.run_forever()
    return 0
