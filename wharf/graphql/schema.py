"""The schema: queries, mutations, and the limits every request is held to."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types

from wharf.graphql.mutations.access import AccessMutations
from wharf.graphql.mutations.operators import OperatorMutations
from wharf.graphql.mutations.ping import PingMutations
from wharf.graphql.mutations.workloads import WorkloadMutations
from wharf.graphql.queries import Query
from wharf.graphql.subscriptions import Subscription

MAX_DEPTH = 6
MAX_ALIASES = 15
MAX_TOKENS = 2000

Mutation = merge_types(
    "Mutation", (WorkloadMutations, AccessMutations, OperatorMutations, PingMutations))


# The rules are made once: ValidationCache keys on the rules as well as the document, and
# a limiter constructed per request would make new rule classes each time.
_LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


class Limits(AddValidationRules):
    """Depth and alias limits, checked while the document is validated."""

    def __init__(self) -> None:
        super().__init__(_LIMIT_RULES)


def build_schema(dev: bool = False) -> strawberry.Schema:
    """Depth, alias and token limits reject abusive documents before any resolver runs;
    introspection only in development; errors a client did not cause are masked.

    Parsing and validating (limits included) depend on the document alone, and clients
    send the same few documents again and again, so both are cached.
    """
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=1000),
        Limits,
        lambda: ValidationCache(maxsize=1000),
        lambda: MaskErrors(should_mask_error=_unexpected),
    ]
    if not dev:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription,
                             extensions=extensions)


def _unexpected(error: object) -> bool:
    from graphql import GraphQLError

    from wharf.domain.errors import DomainError

    assert isinstance(error, GraphQLError)
    original = error.original_error
    # Validation errors (original None) and errors a client caused are shown as they are.
    return original is not None and not isinstance(original, DomainError)
