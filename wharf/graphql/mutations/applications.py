"""Applications from Compose files, and their domains: types, inputs and mutations."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from wharf.commands import messages as m
from wharf.commands.context import Outcome
from wharf.domain.errors import InvalidInput
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import Error
from wharf.graphql.mutations.base import own_tenant, run
from wharf.graphql.pagination import Connection, connection
from wharf.graphql.service_types import Service
from wharf.graphql.types import AuditEntry
from wharf.projections.reads import Reader
from wharf.projections.reads import applications as app_reads
from wharf.projections.reads import audit as audit_reads
from wharf.projections.reads import services as service_reads
from wharf.projections.reads.applications import ApplicationRow

MAX_ENV_FILES = 32


@strawberry.type
class BoundDomain:
    domain: str
    service: str = strawberry.field(description="The Compose service it reaches.")


@strawberry.type(description="A stack of services deployed from a Compose file, on a "
                             "network of its own.")
class Application:
    id: strawberry.ID
    name: str
    desired: str = strawberry.field(description="running, stopped or deleted.")
    version: int = strawberry.field(description="How many deploys changed it.")
    entry: str | None = strawberry.field(
        description="The service its own domain reaches (labelled wharf.entry, else the "
                    "first that publishes a port).")
    warnings: list[str] = strawberry.field(description="What the last deploy ignored.")
    created_at: str
    updated_at: str
    tenant_id: strawberry.Private[str]
    service_ids: strawberry.Private[dict[str, str]]

    @strawberry.field(description="Its services, in the file's order.")
    async def services(self, info: Info[Context, Any]) -> list[Service]:
        found = []
        for service_id in self.service_ids.values():
            row = await info.context.read(service_reads.service, service_id)
            if row is not None:
                found.append(Service.from_row(row))
        return found

    @strawberry.field
    async def domains(self, info: Info[Context, Any]) -> list[BoundDomain]:
        rows = await info.context.read(app_reads.domains, str(self.id))
        return [BoundDomain(domain=d, service=s) for d, s in rows]

    @strawberry.field(description="The names its services answer to on the platform's "
                                  "domain (the entry service's first), over HTTP and HTTPS "
                                  "on the ingress's ports.")
    async def hosts(self, info: Info[Context, Any]) -> list[str]:
        tenant = await info.context.read(app_reads.tenant_name, self.tenant_id)
        base = f"{self.name}.{tenant}.{info.context.backend.apps_domain}"
        names = [base] if self.entry else []
        for service, service_id in self.service_ids.items():
            row = await info.context.read(service_reads.service, service_id)
            if row is not None and row.balanced:  # (only those that publish a port)
                names.append(f"{service}.{base}")
        return names

    @strawberry.field(description="Its events, its services' and their replicas', newest "
                                  "first.")
    async def events(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
    ) -> Connection[AuditEntry]:
        tenant_id, application_id = self.tenant_id, str(self.id)
        return await connection(
            info.context, lambda reader, cursor: audit_reads.of_application(
                reader, tenant_id, application_id, first, cursor), 1, after,
            AuditEntry.from_row)

    @classmethod
    def from_row(cls, row: ApplicationRow) -> Application:
        return cls(id=strawberry.ID(row.id), name=row.name, desired=row.desired,
                   version=row.version, entry=row.entry, warnings=row.warnings,
                   created_at=row.created_at, updated_at=row.updated_at,
                   tenant_id=row.tenant_id, service_ids=row.services)


@strawberry.input
class FileInput:
    path: str
    content: str


@strawberry.input
class VariableInput:
    name: str
    value: str


@strawberry.input(description="A Compose file (its text, at most 256 KiB) deployed as the "
                              "application `name`: made, or updated where it changed.")
class DeployApplicationInput:
    name: str
    compose: str
    env_files: list[FileInput] | None = strawberry.field(
        default=None, description="The files its services' env_file names, by path.")
    variables: list[VariableInput] | None = strawberry.field(
        default=None, description="What ${VAR} in the file reads (its .env).")
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.input
class ApplicationIdInput:
    id: strawberry.ID
    client_request_id: str | None = None


@strawberry.input
class BindDomainInput:
    application: strawberry.ID
    domain: str
    service: str = strawberry.field(description="The Compose service it reaches.")
    client_request_id: str | None = None


@strawberry.input
class UnbindDomainInput:
    application: strawberry.ID
    domain: str
    client_request_id: str | None = None


@strawberry.type
class ApplicationPayload:
    position: int
    application_id: strawberry.Private[str]

    @strawberry.field
    async def application(self, info: Info[Context, Any]) -> Application | None:
        row = await info.context.read(app_reads.application, self.application_id)
        return Application.from_row(row) if row else None


def _application(read: Reader, outcome: Outcome) -> ApplicationPayload:
    return ApplicationPayload(application_id=str(outcome.id), position=outcome.position)


def _pairs(items: list[Any] | None, field: str, key: str, value: str,
           most: int = 256) -> dict[str, str]:
    if len(items or []) > most:
        raise InvalidInput(field, f"at most {most} items")
    found: dict[str, str] = {}
    for i, item in enumerate(items or []):
        if getattr(item, key) in found:
            raise InvalidInput(f"{field}[{i}]", f"{getattr(item, key)} is given twice")
        found[getattr(item, key)] = getattr(item, value)
    return found


DeployApplicationResult = Annotated[ApplicationPayload | Error,
                                    strawberry.union("DeployApplicationResult")]
StartApplicationResult = Annotated[ApplicationPayload | Error,
                                   strawberry.union("StartApplicationResult")]
StopApplicationResult = Annotated[ApplicationPayload | Error,
                                  strawberry.union("StopApplicationResult")]
DeleteApplicationResult = Annotated[ApplicationPayload | Error,
                                    strawberry.union("DeleteApplicationResult")]
BindDomainResult = Annotated[ApplicationPayload | Error, strawberry.union("BindDomainResult")]
UnbindDomainResult = Annotated[ApplicationPayload | Error,
                               strawberry.union("UnbindDomainResult")]


@strawberry.type
class ApplicationMutations:
    @strawberry.mutation(description="Deploys a Compose file (a documented subset: "
                                      "anything else is InvalidInput naming its key).")
    async def deploy_application(
        self, info: Info[Context, Any], input: DeployApplicationInput
    ) -> DeployApplicationResult:
        return await run(info, lambda actor: m.DeployApplication(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), name=input.name,
            compose=input.compose,
            env_files=_pairs(input.env_files, "envFiles", "path", "content", MAX_ENV_FILES),
            variables=_pairs(input.variables, "variables", "name", "value")), _application)

    @strawberry.mutation
    async def start_application(
        self, info: Info[Context, Any], input: ApplicationIdInput
    ) -> StartApplicationResult:
        return await run(info, lambda actor: m.StartApplication(
            actor=actor, request_id=input.client_request_id,
            application_id=parse_id(input.id)), _application)

    @strawberry.mutation
    async def stop_application(
        self, info: Info[Context, Any], input: ApplicationIdInput
    ) -> StopApplicationResult:
        return await run(info, lambda actor: m.StopApplication(
            actor=actor, request_id=input.client_request_id,
            application_id=parse_id(input.id)), _application)

    @strawberry.mutation(description="Deletes its services; its volumes stay.")
    async def delete_application(
        self, info: Info[Context, Any], input: ApplicationIdInput
    ) -> DeleteApplicationResult:
        return await run(info, lambda actor: m.DeleteApplication(
            actor=actor, request_id=input.client_request_id,
            application_id=parse_id(input.id)), _application)

    @strawberry.mutation(description="A custom domain for one of its services (a name "
                                     "another tenant bound is Conflict; the platform's "
                                     "own domain is refused).")
    async def bind_domain(
        self, info: Info[Context, Any], input: BindDomainInput
    ) -> BindDomainResult:
        return await run(info, lambda actor: m.BindDomain(
            actor=actor, request_id=input.client_request_id,
            application_id=parse_id(input.application), domain=input.domain,
            service=input.service), _application)

    @strawberry.mutation
    async def unbind_domain(
        self, info: Info[Context, Any], input: UnbindDomainInput
    ) -> UnbindDomainResult:
        return await run(info, lambda actor: m.UnbindDomain(
            actor=actor, request_id=input.client_request_id,
            application_id=parse_id(input.application), domain=input.domain), _application)
