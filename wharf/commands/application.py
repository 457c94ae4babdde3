"""The Wharf application: the one place commands are decided and their events saved."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from wharf.commands import answers
from wharf.commands.actors import Actor
from wharf.commands.context import Context, Outcome
from wharf.commands.group_commit import GroupCommit
from wharf.commands.inputs import check_inputs
from wharf.commands.messages import Command
from wharf.commands.ports import Clock, DataKeys, MemoryDataKeys, SystemClock
from wharf.commands.registry import HANDLERS
from wharf.commands.sealing import Unreadable, unseal
from wharf.domain.application import Application as App
from wharf.domain.container import Container
from wharf.domain.credential import Credential
from wharf.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    QuotaExceeded,
)
from wharf.domain.host import Host, check_tenant_endpoint
from wharf.domain.installation import Installation
from wharf.domain.mirror import PLATFORM_SECRETS, Mirror
from wharf.domain.pipeline import Pipeline
from wharf.domain.plans import SEED_PLANS, Plan, PlanCatalog
from wharf.domain.records import ClientRequest, QuotaRejection
from wharf.domain.repository import Repository
from wharf.domain.secret import Secret
from wharf.domain.service import Service
from wharf.domain.tenant import Tenant
from wharf.domain.tls import TlsCredentials
from wharf.domain.token import Token
from wharf.domain.volume import Volume

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 200
SNAPSHOT_EVERY = 50  # events of a container, service, volume or application
TOKEN_PREFIX = "wharf"


class Wharf(Application[UUID]):
    """Event-sourced write side. `handle(command)` is the only way state changes."""

    name = "Wharf"
    # eventsourcing's own aggregate cache, fast-forwarded from the store on every get, so
    # deciding a command costs one small select instead of a replay.
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "10000"}
    # Snapshots bound what loading an aggregate costs, and what an `asOf` read folds
    # (projections/as_of.py): at most an interval's events after the newest snapshot.
    snapshotting_intervals = {Tenant: 200, PlanCatalog: 50, Container: SNAPSHOT_EVERY,
                              Service: SNAPSHOT_EVERY, Volume: SNAPSHOT_EVERY,
                              App: SNAPSHOT_EVERY, Repository: SNAPSHOT_EVERY,
                              Pipeline: 200}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock | None = None,
        keys: DataKeys | None = None,
        on_saved: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(env)
        self.clock: Clock = clock or SystemClock()
        self.keys: DataKeys = keys or MemoryDataKeys()
        self.on_saved = on_saved
        self.plan_versions: dict[tuple[str, int], Plan] = {}
        # The platform's own domain: no tenant may bind it or a name under it.
        self.apps_domain = "apps.localhost"
        # Wharf's image registry (HOST:PORT; "" when it runs none): images named under it
        # are checked against the tenant's namespace (handlers/repositories.py).
        self.registry = ""
        self.timezone = "UTC"  # where bills' days and months begin (WHARF_TIMEZONE)
        self.group_commit = GroupCommit(self)

    def close(self) -> None:
        super().close()
        close_keys = getattr(self.keys, "close", None)
        if close_keys is not None:
            close_keys()

    # -- start-up ------------------------------------------------------------------

    def seed(self) -> int:
        """Makes sure the plan catalogue (with the seed plans) and the installation's label
        exist. Returns a position."""
        seeder = Actor.system("seed").label
        now = self.clock.now()
        new: list[Any] = []
        if PlanCatalog.ID not in self.repository:
            catalog = PlanCatalog.create(at=now, actor=seeder, cause="Seed", id=PlanCatalog.ID)
            catalog.stamp(seeder, "Seed", now)
            for plan in SEED_PLANS:
                catalog.add(plan)
            new.append(catalog)
        if Installation.ID not in self.repository:
            new.append(Installation.create(at=now, id=Installation.ID,
                                           label=uuid4().hex[:16], actor=seeder, cause="Seed"))
        if not new:
            return 0
        try:
            return self._save(*new)
        except IntegrityError:
            return 0  # another process seeded first

    @functools.cached_property
    def installation(self) -> str:
        """The label of this store's Docker objects (see domain/installation.py)."""
        record: Any = self.repository.get(Installation.ID)
        return str(record.label)

    def runtime(self) -> str:
        """The runtime an operator switched this installation to last ("": never)."""
        record: Any = self.repository.get(Installation.ID)
        return str(record.runtime)

    # -- commands ------------------------------------------------------------------

    def handle(self, command: Command) -> Outcome:
        check_inputs(command)
        handler = HANDLERS[type(command)]
        name = type(command).__name__
        cause = f"{name}:{command.request_id}" if command.request_id else name
        request_id = (
            ClientRequest.id_for(command.actor.label, command.actor.tenant_id, name,
                                 command.request_id)
            if command.request_id
            else None
        )
        digest = self._digest(command) if request_id is not None else ""
        command_id = str(uuid4())
        trace = (command.correlation_id or command_id, command.causation_id or command_id)
        # A system command about one object (the scheduler's observation of a container)
        # carries on the chain of that object's last event, unless it names its own.
        follows = _target(command) if (command.actor.kind == "system" and
                                       command.correlation_id is None) else None
        for attempt in range(MAX_ATTEMPTS):
            if request_id is not None and request_id in self.repository:
                return self._replay_answer(request_id, digest, command)
            # The first attempt decides on cached aggregates; any doubt, and every retry,
            # reads the store.
            context = Context(self, command.actor, cause, self.clock, self.keys,
                              optimistic=attempt == 0, trace=trace, follows=follows)
            try:
                decision = handler(context, command)
            except DomainError as error:
                if context.unchecked:
                    continue  # never refuse on a cached copy: decide again on fresh state
                if isinstance(error, QuotaExceeded):
                    self._record_rejection(context, command, error, request_id)
                # A copy of the same request may have been answered while this one was
                # deciding against the state it left behind: its answer stands.
                if request_id is not None and request_id in self.repository:
                    return self._replay_answer(request_id, digest, command)
                raise
            if context.unchecked and context.stale(decision.save):
                continue
            if not decision.save and request_id is None:
                return decision.outcome  # nothing changed (a repeated observation, say)
            if request_id is not None:
                decision.save.append(
                    context.new(ClientRequest, command=name, outcome=decision.outcome.as_data(),
                                digest=digest, id=request_id)
                )
            try:
                decision.outcome.position = self._save(*decision.save)
            except IntegrityError:
                continue  # an aggregate moved on since we loaded it: decide again
            for action in decision.after_save:
                action()
            return decision.outcome
        raise Conflict("too many concurrent changes to the same objects; try again")

    def _digest(self, command: Command) -> str:
        tenant = getattr(command, "tenant_id", None) or command.actor.tenant_id
        key = self.keys.get(tenant) if isinstance(tenant, UUID) else None
        return request_digest(command, key)

    def _replay_answer(self, request_id: UUID, digest: str, command: Command) -> Outcome:
        record: Any = self.repository.get(request_id)
        # (a request recorded before digests were keyed kept a plain one)
        if not (record.same_request(digest) or record.same_request(request_digest(command))):
            raise Conflict("this clientRequestId was used for a different request; a retry "
                           "must repeat the request exactly, a new request needs a new id")
        if record.command == "IssueToken" and "error" not in record.outcome:
            raise Conflict(f"token {record.outcome['id']} was issued for this clientRequestId; "
                           "its secret was shown once, in the first answer, and is not "
                           "kept: issue a new token")
        if "error" in record.outcome:
            error = record.outcome["error"]
            raise QuotaExceeded(error["resource"], error["limit"], error["used"],
                                error["requested"])
        return Outcome(id=record.outcome["id"],
                       answer=answers.from_data(record.command, record.outcome["data"]),
                       position=self.recorder.max_notification_id() or 0)

    def _record_rejection(
        self, context: Context, command: Command, error: QuotaExceeded, request_id: UUID | None
    ) -> None:
        """Records the rejection in its own stream (and the answer, for a retry)."""
        assert context.tenant_id is not None, "quotas are checked against a loaded tenant"
        rejection = context.new(
            QuotaRejection, tenant_id=context.tenant_id, command=type(command).__name__,
            resource=error.resource, limit=error.limit, used=error.used,
            requested=error.requested,
        )
        records: list[Any] = [rejection]
        if request_id is not None:
            records.append(context.new(ClientRequest, command=type(command).__name__,
                                       outcome={"error": error.as_dict()},
                                       digest=self._digest(command), id=request_id))
        # IntegrityError: the same request was answered concurrently; its answer stands.
        with contextlib.suppress(IntegrityError):
            self._save(*records)

    def _save(self, *aggregates: Any) -> int:
        recordings = self.group_commit.save(*aggregates)
        if self.repository.cache is not None:
            # What we just saved is the newest version we know of: keep it, so the next
            # command need not fast-forward the cached copy through our own events.
            for aggregate in aggregates:
                self.repository.cache.put(aggregate.id, aggregate)
        position = max((r.notification.id for r in recordings), default=0)
        if self.on_saved is not None and position:
            self.on_saved(position)
        return position

    # -- reads the write side answers itself ---------------------------------------

    def authenticate(self, token: str) -> Actor:
        """The actor a bearer token stands for, or Forbidden."""
        try:
            prefix, ident, secret = token.split("_", 2)
            token_id = UUID(hex=ident)
        except ValueError:
            raise Forbidden("malformed token") from None
        if prefix != TOKEN_PREFIX:
            raise Forbidden("malformed token")
        try:
            record: Any = self.repository.get(token_id)
        except AggregateNotFoundError:
            raise Forbidden("unknown token") from None
        if not isinstance(record, Token):
            raise Forbidden("unknown token")
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if not hmac.compare_digest(digest, record.secret_hash):
            raise Forbidden("unknown token")
        if not record.is_valid_at(self.clock.now().isoformat()):
            raise Forbidden("token expired or revoked")
        if record.session_of and not self._session_holds(record):
            raise Forbidden("session ended: its password changed")
        if record.scope == "admin":
            return dataclasses.replace(Actor.operator(record.member),
                                       session_of=record.session_of)
        assert record.tenant_id is not None
        tenant: Any = self.repository.get(record.tenant_id)
        if tenant.status == "closed" or tenant.member_epoch(record.member) != record.member_epoch:
            raise Forbidden("token's tenant or member is gone")
        return dataclasses.replace(Actor.member(record.member, record.tenant_id),
                                   session_of=record.session_of)

    def _session_holds(self, token: Token) -> bool:
        """A dashboard session lasts while the password it signed in with does."""
        try:
            credential: Any = self.repository.get(Credential.id_for(token.tenant_id,
                                                                    token.member))
        except AggregateNotFoundError:
            return False
        return bool(credential.password_version == token.session_of)

    def webhook_secret(self, pipeline_id: UUID) -> tuple[Pipeline, str] | None:
        """A live pipeline and its webhooks' secret (None: no such pipeline, or its
        tenant's data key is gone). Never logged."""
        try:
            pipeline: Any = self.repository.get(pipeline_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(pipeline, Pipeline) or pipeline.deleted:
            return None
        key = self.keys.get(pipeline.tenant_id)
        if key is None:
            return None
        return pipeline, unseal(key, pipeline.ciphertext, pipeline_id.bytes)

    def mirror_password(self, mirror: Mirror) -> str:
        """The password a mirror gives its upstream ("" without one). Never logged."""
        if not mirror.ciphertext:
            return ""
        key = self.keys.get(mirror.tenant_id or PLATFORM_SECRETS)
        if key is None:
            raise Unreadable(f"the data key of mirror {mirror.name} was destroyed")
        return unseal(key, mirror.ciphertext, mirror.id.bytes)

    def check_join_host(self, actor: Actor, tenant_id: UUID, endpoint: str) -> None:
        """Raises what joining the host at `endpoint` to the tenant's pool would (not an
        address a tenant may give, no role, no room in its plan), before anything
        connects to the engine."""
        from wharf.commands.handlers.hosts import may_join

        check_tenant_endpoint(endpoint)
        may_join(Context(self, actor, "check", self.clock, self.keys), tenant_id,
                 Host.id_for(endpoint))

    def host_credentials(self, host_id: UUID) -> TlsCredentials | None:
        """The mutual-TLS credentials Wharf reaches a host's engine with (None: a plain
        endpoint on this machine). Never logged."""
        try:
            host: Any = self.repository.get(host_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(host, Host) or not host.ciphertext:
            return None
        key_id = UUID(host.sealed_for) if host.sealed_for else PLATFORM_SECRETS
        key = self.keys.get(key_id)
        if key is None:
            raise Unreadable(f"the data key of host {host.name}'s credentials was destroyed")
        return TlsCredentials.from_text(unseal(key, host.ciphertext, host_id.bytes))

    def reveal_secret(self, tenant_id: UUID, name: str) -> str:
        """A secret's value, for the scheduler starting a container. Never logged."""
        secret_id = Secret.id_for(tenant_id, name)
        try:
            secret: Any = self.repository.get(secret_id)
        except AggregateNotFoundError:
            raise NotFound("secret", name) from None
        if secret.deleted:
            raise NotFound("secret", name)
        key = self.keys.get(tenant_id)
        if key is None:
            raise Unreadable(f"the data key of tenant {tenant_id} was destroyed")
        return unseal(key, secret.ciphertext, secret_id.bytes)


TARGETS = ("container_id", "service_id", "volume_id", "application_id", "host_id")


def _target(command: Command) -> UUID | None:
    """The one object a command is about, if it names one."""
    for name in TARGETS:
        value = getattr(command, name, None)
        if isinstance(value, UUID):
            return value
    return None


def request_digest(command: Command, key: bytes | None = None) -> str:
    """What a retry must repeat: every field of the command but who sends it and the id.

    Keyed (HMAC with the tenant's data key, kept outside the log) whenever the command is
    a tenant's: its fields may hold a secret's value or an environment's, and a plain
    hash of them in the log (or on Kafka) would let anyone holding a copy test guesses.
    Commands of no tenant carry no such value."""
    fields = {f.name: getattr(command, f.name) for f in dataclasses.fields(command)
              if f.name not in ("actor", "request_id", "correlation_id", "causation_id")}
    text = json.dumps({"command": type(command).__name__, **fields}, sort_keys=True,
                      default=str).encode()
    if key is None:
        return hashlib.sha256(text).hexdigest()
    return "hmac:" + hmac.new(key, text, hashlib.sha256).hexdigest()
