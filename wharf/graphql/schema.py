"""The schema: queries, mutations, and the limits every request is held to."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError, parse, validate
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from wharf.domain.errors import DomainError
from wharf.graphql import limits
from wharf.graphql.errors import ClientError
from wharf.graphql.mutations.access import AccessMutations
from wharf.graphql.mutations.applications import ApplicationMutations
from wharf.graphql.mutations.operators import OperatorMutations
from wharf.graphql.mutations.ping import PingMutations
from wharf.graphql.mutations.pipelines import PipelineMutations
from wharf.graphql.mutations.registry import RegistryMutations
from wharf.graphql.mutations.services import ServiceMutations
from wharf.graphql.mutations.workloads import WorkloadMutations
from wharf.graphql.queries import Query
from wharf.graphql.subscriptions import Subscription

log = logging.getLogger("wharf.graphql")

MAX_TOKENS = 2000
CACHED_DOCUMENTS = 1000
CACHEABLE = 8 * 1024  # characters: a longer document is parsed and validated each time
# (2,000 tokens can hold a megabyte-long string: a thousand of them cached would be a GB)

Mutation = merge_types(
    "Mutation", (WorkloadMutations, ServiceMutations, ApplicationMutations, AccessMutations,
                 OperatorMutations, RegistryMutations, PipelineMutations, PingMutations))

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


_parse = functools.lru_cache(maxsize=CACHED_DOCUMENTS)(parse)


class Parsing(SchemaExtension):
    """Parses each distinct document once (strawberry's ParserCache, except that a
    document that does not parse is left to strawberry's own parse, which turns the
    error into an answer; ParserCache let it escape, over WebSocket as a traceback
    holding the document's text)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            with contextlib.suppress(GraphQLError):
                parse_now = _parse if len(context.query) <= CACHEABLE else parse
                context.graphql_document = parse_now(context.query, **context.parse_options)
        yield


class _Validations:
    """Validation answers by document text: clients send the same few documents again
    and again, and validating depends on the document alone (bounded, least recently
    used first out)."""

    def __init__(self, size: int = CACHED_DOCUMENTS) -> None:
        self.size = size
        self.answers: OrderedDict[str, list[GraphQLError]] = OrderedDict()

    def get(self, query: str) -> list[GraphQLError] | None:
        answer = self.answers.get(query)
        if answer is not None:
            self.answers.move_to_end(query)
        return answer

    def put(self, query: str, errors: list[GraphQLError]) -> None:
        self.answers[query] = errors
        if len(self.answers) > self.size:
            self.answers.popitem(last=False)


class Validation(SchemaExtension):
    """Checks the document's limits (limits.py) first, linear in its size, and only then
    graphql-core's rules, which it skips when a limit is broken. Outside development no
    error suggests a name ("Did you mean …?")."""

    def __init__(self, answers: _Validations, hide_suggestions: bool) -> None:
        self.answers = answers
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        key = context.query if context.query and len(context.query) <= CACHEABLE else None
        errors = self.answers.get(key) if key else None
        if (context.operation_type is OperationType.SUBSCRIPTION
                and getattr(context.context, "connection_params", None) is None):
            # (strawberry would run it over plain HTTP as if it were a query)
            context.pre_execution_errors = [GraphQLError(
                "subscriptions are served over WebSocket (graphql-transport-ws) only")]
            yield
            return
        too_long = limits.check_variables(context.variables)
        if too_long:
            context.pre_execution_errors = too_long
            yield
            return
        if errors is None:
            errors = limits.check(document) or validate(
                context.schema._schema, document,
                (*context.validation_rules, MaybeNullValidationRule,
                 OneOfInputValidationRule),
                hide_suggestions=self.hide_suggestions)
            if key:
                self.answers.put(key, errors)
        # Set (even empty), strawberry's own validation is skipped.
        context.pre_execution_errors = list(errors)
        yield


class WharfSchema(strawberry.Schema):
    def __init__(self, *, dev: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dev = dev
        self.validations = _Validations()

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logs what went wrong without the request's text or variables (they may hold a
        secret): an error nobody caused at ERROR with its traceback, a client's mistake
        at INFO in one line."""
        for error in errors:
            if not self.dev:
                error.message = _SUGGESTION.sub("", error.message)
            where = ".".join(str(p) for p in error.path) if error.path else "request"
            if unexpected(error):
                log.error("unexpected error at %s", where, exc_info=error.original_error)
            elif error.original_error is not None:
                log.info("refused at %s: %s", where, type(error.original_error).__name__)
            elif isinstance(error, GraphQLSyntaxError):
                log.info("refused a document: it does not parse")
            else:
                log.info("refused a document: it does not validate")


def build_schema(dev: bool = False) -> strawberry.Schema:
    """Token and expansion limits reject abusive documents before any rule or resolver
    runs; introspection and name suggestions only in development; errors a client did
    not cause are masked. Parsing and validating are cached by document."""
    answers = _Validations()
    extensions: list[Callable[..., SchemaExtension] | type[SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        Parsing,
        lambda: Validation(answers, hide_suggestions=not dev),
        lambda: MaskErrors(should_mask_error=unexpected),
    ]
    if not dev:
        extensions.append(DisableIntrospection)
    schema = WharfSchema(dev=dev, query=Query, mutation=Mutation, subscription=Subscription,
                         extensions=extensions)
    schema.validations = answers
    return schema


def unexpected(error: GraphQLError) -> bool:
    """Validation errors (no original error) and errors a client caused are shown as they
    are; everything else is masked."""
    original = error.original_error
    # graphql-core wraps its own findings too (a variable of the wrong shape, say).
    return original is not None and not isinstance(
        original, DomainError | ClientError | GraphQLError)
