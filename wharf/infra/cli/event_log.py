"""The commands that read the log itself: `events`, `history`, `replay` and
`store copy`, for operators who debug, audit or move a store."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from wharf.domain.base import event_id
from wharf.infra.bootstrap import Wiring, build
from wharf.infra.cli.output import Progress, tenant_id
from wharf.infra.settings import Settings
from wharf.projections.reads import audit as audit_reads
from wharf.projections.summaries import event_type, summarize


def add_commands(sub: Any) -> None:
    p = sub.add_parser("events", help="print the log, one line per event")
    p.add_argument("--tenant", help="only this tenant's events (name or id)")
    p.add_argument("--after", type=int, default=0, help="start after this position")
    p.add_argument("--limit", type=int, default=None, help="stop after this many")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    p.set_defaults(run=cmd_events)

    p = sub.add_parser("history", help="every event of one object: actor, cause, and the "
                                       "correlation and causation ids that chain them")
    p.add_argument("id")
    p.add_argument("--full", action="store_true", help="whole ids, not their first 8 digits")
    p.set_defaults(run=cmd_history)

    p = sub.add_parser("replay", help="rebuild read models from the log",
                       description="Either rebuild every read model as of a position or a "
                                   "time into an empty database of the same kind (--into), "
                                   "or rebuild at the live position in a scratch database "
                                   "and compare table by table (--verify).")
    p.add_argument("--until", help="a log position or an ISO time (default: head)")
    p.add_argument("--into", help="target: a file, sqlite:///FILE or postgresql://.../DB")
    p.add_argument("--verify", action="store_true",
                   help="compare a fresh rebuild with the live read models; exit 1 on any "
                        "difference")
    p.set_defaults(run=cmd_replay)

    audit = sub.add_parser("audit", help="check the hash-chained audit trail").add_subparsers(
        metavar="ACTION")
    p = audit.add_parser(
        "verify", help="check a tenant's audit trail: exit 1 naming the first bad entry",
        description="Each tenant's audit entries are hash-chained in log order; this walks "
                    "the chain and finds any entry altered, removed or reordered since it "
                    "was written, and says which (exit 1), or that it holds (exit 0).")
    whose = p.add_mutually_exclusive_group(required=True)
    whose.add_argument("--tenant", help="the tenant (name or id)")
    whose.add_argument("--operators", action="store_true",
                       help="the entries of no tenant (plans, hosts, domains)")
    p.set_defaults(run=cmd_audit_verify)

    store = sub.add_parser("store", help="work on the store itself").add_subparsers(
        metavar="ACTION")
    p = store.add_parser("copy", help="copy the whole log and the data keys to another store")
    p.add_argument("--to", required=True,
                   help="a backup file, sqlite:///FILE or postgresql://.../DB")
    p.set_defaults(run=cmd_store_copy)


def as_url(target: str) -> str:
    """A database URL, or a plain file path taken as a SQLite file."""
    if "://" in target:
        return target
    return f"sqlite:///{Path(target).resolve()}"


def _event_line(position: int, event: Any) -> str:
    return (f"{position:>8}  {event.timestamp.isoformat(timespec='seconds')}  "
            f"{event_type(event):<28} {str(event.originator_id)[:8]}  {event.actor:<24} "
            f"{event.cause:<24} {summarize(event)}")


def cmd_events(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        return _print_events(wiring, args)


def _print_events(wiring: Wiring, args: argparse.Namespace) -> int:
    after = args.after
    printed = 0
    fetch: Callable[[int], list[tuple[int, str]]]
    if args.tenant:
        tenant = str(tenant_id(args.tenant))

        def fetch(start: int) -> list[tuple[int, str]]:
            wiring.projector.catch_up()
            rows = audit_reads.after(wiring.view, tenant, start, 1000)
            return [(r.position, f"{r.position:>8}  {r.occurred_at[:19]}  "
                     f"{r.type:<28} {r.object_id[:8]}  {r.actor:<24} "
                     f"{r.cause:<24} {r.summary}") for r in rows]
    else:
        def fetch(start: int) -> list[tuple[int, str]]:
            notes = wiring.app.recorder.select_notifications(start, 1000,
                                                             inclusive_of_start=False)
            return [(n.id, _event_line(n.id, wiring.app.mapper.to_domain_event(n)))
                    for n in notes]
    while True:
        batch = fetch(after)
        for position, line in batch:
            print(line)
            printed += 1
            after = position
            if args.limit is not None and printed >= args.limit:
                return 0
        if not batch:
            if not args.follow:
                return 0
            sys.stdout.flush()
            time.sleep(0.5)


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.projections.audit_chain import verify

    tenant = None if args.operators else str(tenant_id(args.tenant))
    with build(settings) as wiring:
        wiring.projector.catch_up()
        name = "the operators" if tenant is None else args.tenant
        try:
            head = audit_reads.chain_head(wiring.view, tenant)
        except (TypeError, ValueError):
            print(f"audit trail of {name}: BROKEN: its head cannot be read as it was "
                  "written: it was altered")
            return 1
        known = tenant is None or wiring.app.recorder.select_events(UUID(tenant), lte=1)

        def entries() -> Iterator[tuple[tuple[Any, ...], str]]:
            position = 0
            while page := audit_reads.chain_after(wiring.view, tenant, position, 1000):
                yield from page
                position = int(page[-1][0][0])

        checked, broken = verify(entries(), head)
        shown: list[tuple[tuple[Any, ...], str]] = []
        if broken is not None and broken.position is not None:
            shown = audit_reads.chain_after(wiring.view, tenant, broken.position - 1, 1)
    if checked == 0 and head is None and broken is None:
        if known:  # the tenant is in the log, its trail is not: removed
            print(f"audit trail of {name}: BROKEN: the tenant exists in the log but its "
                  "trail has no entries and no head: they were removed")
        else:
            print(f"error: no tenant {name} in the log", file=sys.stderr)
        return 1
    if broken is None:
        assert head is not None
        print(f"audit trail of {name}: {checked} entries, the chain holds (last entry "
              f"{head[0]}, link {head[1][:16]}...)")
        return 0
    print(f"audit trail of {name}: BROKEN after {checked} good entries: {broken.what}")
    if shown and int(shown[0][0][0]) == broken.position:
        entry = dict(zip(audit_reads.CHAINED, shown[0][0], strict=True))
        print(f"  entry {entry['position']}: {entry['occurred_at']} {entry['type']} "
              f"{entry['kind']} {entry['object_id']} v{entry['version']} by {entry['actor']}: "
              f"{entry['summary']}")
    return 1


def cmd_history(settings: Settings, args: argparse.Namespace) -> int:
    object_id = UUID(args.id)
    with build(settings) as wiring:
        events = list(wiring.app.repository.event_store.get(object_id))
    if not events:
        print(f"error: no object {object_id}", file=sys.stderr)
        return 1
    cut, width = (64, 36) if args.full else (8, 11)
    print(f"{'VER':>4}  {'TIME':<25}  {'TYPE':<28} {'ACTOR':<24} {'CAUSE':<24} "
          f"{'EVENT':<{width}}  {'CORRELATION':<{width}}  {'CAUSATION':<{width}}  SUMMARY")
    for event in events:
        e: Any = event
        ids = (event_id(e.originator_id, e.originator_version), e.correlation or "-",
               e.causation or "-")
        print(f"{e.originator_version:>4}  {e.timestamp.isoformat(timespec='seconds'):<25}  "
              f"{event_type(e):<28} {e.actor:<24} {e.cause:<24} "
              + "".join(f"{i[:cut]:<{width}}  " for i in ids) + summarize(e))
    if not args.full:
        print("(EVENT: each event's id; CORRELATION: the request its chain of work began "
              "with; CAUSATION: the command, or the event the scheduler acted on, that led "
              "to it; --full prints them whole)")
    return 0


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    if not args.verify and not args.into:
        print("error: give --into TARGET (or --verify)", file=sys.stderr)
        return 2
    with build(settings) as wiring:
        return _verify(wiring, settings) if args.verify else _replay(wiring, settings, args)


def _verify(wiring: Wiring, settings: Settings) -> int:
    from wharf.infra import replay

    wiring.projector.catch_up()
    progress = Progress("rebuilding in a scratch database")
    position, diffs = replay.verify(wiring.app, wiring.view, settings.database_url,
                                    progress=progress)
    progress.done(position)
    print(f"{'TABLE':<22} {'LIVE ROWS':>9} {'REBUILT':>9}  {'SHA-256 (live)':<20} RESULT")
    for d in diffs:
        print(f"{d.table:<22} {d.live_rows:>9} {d.rebuilt_rows:>9}  {d.live_hash[:16]:<20} "
              f"{'same' if d.same else 'DIFFERENT (rebuilt ' + d.rebuilt_hash[:16] + ')'}")
    bad = [d.table for d in diffs if not d.same]
    if bad:
        print(f"replay --verify: {len(bad)} table(s) differ from a fold of the log "
              f"at position {position}: {', '.join(bad)}")
        return 1
    print(f"replay --verify: every read model equals a fold of the log at {position}")
    return 0


def _replay(wiring: Wiring, settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra import replay

    until, until_time = None, None
    if args.until:
        if args.until.isdigit():
            until = int(args.until)
        else:
            until_time = datetime.fromisoformat(args.until)
            if until_time.tzinfo is None:
                until_time = until_time.replace(tzinfo=UTC)
    into = as_url(args.into)
    replay.ensure_target(into)
    progress = Progress("replaying")
    position = replay.rebuild(wiring.app, into, until=until, until_time=until_time,
                              progress=progress, source_url=settings.database_url)
    progress.done(position)
    print(f"read models as of position {position} are in {into}")
    return 0


def cmd_store_copy(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra.copy import copy_store

    target = as_url(args.to)
    with build(settings) as wiring:
        progress = Progress("copying events")
        copied, gaps = copy_store(wiring.app, target, progress=progress)
        progress.done(copied)
    if gaps:
        print(f"note: the source skipped {gaps} position(s); the copy numbers its log "
              "without gaps, so positions differ after the first gap (the order does not)")
    print(f"copied {copied} events and the data keys to {target}; "
          "run `wharf projector --once` there to build its read models")
    return 0
