"""Pull-through mirrors: operators' (for everyone) and tenants' (their own), and what
Wharf's supervisor observes of their processes."""

from __future__ import annotations

from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.messages import (
    CreateMirror,
    DeleteMirror,
    RecordMirrorServed,
    RecordMirrorState,
)
from wharf.commands.sealing import seal
from wharf.domain.base import WharfAggregate
from wharf.domain.errors import Conflict, InvalidInput, NotFound
from wharf.domain.mirror import (
    PLATFORM_SECRETS,
    STATES,
    Mirror,
    MirrorDirectory,
    check_upstream,
)
from wharf.domain.registry import LOOPBACK
from wharf.domain.tenant import MANAGE_WORKLOADS, check_object_name

MAX_USERNAME = 200
MAX_PASSWORD = 4096


def create_mirror(ctx: Context, cmd: CreateMirror) -> Decision:
    name = check_object_name(cmd.name)
    upstream = check_upstream(cmd.upstream)
    if len(cmd.username) > MAX_USERNAME or any(c.isspace() for c in cmd.username):
        raise InvalidInput("username", f"at most {MAX_USERNAME} characters, no spaces")
    if len(cmd.password) > MAX_PASSWORD:
        raise InvalidInput("password", f"at most {MAX_PASSWORD} characters")
    if cmd.tenant_id is None:
        ctx.require_operator()
        key_id = PLATFORM_SECRETS
        ctx.keys.create(key_id)  # (once: later calls keep the key)
    else:
        ctx.tenant(cmd.tenant_id, MANAGE_WORKLOADS).require_active()
        key_id = cmd.tenant_id
    ident = Mirror.id_for(cmd.tenant_id, name)
    if ctx.exists(ident):
        raise Conflict(f"a mirror named {name} exists (deleted ones keep their name)")
    key = ctx.keys.get(key_id)
    if key is None:
        raise Conflict("no data key to seal the upstream's password with")
    sealed = seal(key, cmd.password, ident.bytes) if cmd.password else ""
    mirror = ctx.new(Mirror, id=ident, tenant_id=cmd.tenant_id, name=name, upstream=upstream,
                     username=cmd.username, ciphertext=sealed)
    return Decision([mirror], Outcome(id=ident))


def _mirror(ctx: Context, mirror_id: object) -> Mirror:
    mirror = ctx.load(Mirror, mirror_id, "mirror")  # type: ignore[arg-type]
    if mirror.tenant_id is None:
        ctx.require_operator()
    else:
        mirror = ctx.owned(Mirror, mirror.id, "mirror")
        ctx.tenant(mirror.tenant_id, MANAGE_WORKLOADS)  # type: ignore[arg-type]
    if mirror.deleted:
        raise NotFound("mirror", mirror_id)
    return mirror


def delete_mirror(ctx: Context, cmd: DeleteMirror) -> Decision:
    mirror = _mirror(ctx, cmd.mirror_id)
    mirror.delete()
    saved: list[WharfAggregate] = [mirror]
    if mirror.address and ctx.exists(MirrorDirectory.ID):
        directory = ctx.load(MirrorDirectory, MirrorDirectory.ID, "mirror directory")
        directory.remove(mirror.address)
        saved.append(directory)
    return Decision(saved, Outcome(id=mirror.id))


def record_mirror_served(ctx: Context, cmd: RecordMirrorServed) -> Decision:
    ctx.require_system()
    host, _, port = cmd.address.rpartition(":")
    if host not in LOOPBACK or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput("address", "127.0.0.1:PORT")
    mirror = ctx.load(Mirror, cmd.mirror_id, "mirror")
    mirror.serve_at(cmd.address)
    if ctx.exists(MirrorDirectory.ID):
        directory = ctx.load(MirrorDirectory, MirrorDirectory.ID, "mirror directory")
    else:
        directory = ctx.new(MirrorDirectory, id=MirrorDirectory.ID)
    directory.enter(cmd.address, mirror.id, mirror.tenant_id)
    return Decision([mirror, directory], Outcome(id=mirror.id))


def record_mirror_state(ctx: Context, cmd: RecordMirrorState) -> Decision:
    ctx.require_system()
    if cmd.state not in STATES:
        raise InvalidInput("state", " or ".join(STATES))
    mirror = ctx.load(Mirror, cmd.mirror_id, "mirror")
    changed = mirror.observe(cmd.state, cmd.detail)
    return Decision([mirror] if changed else [], Outcome(id=mirror.id))
