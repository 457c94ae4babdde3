"""The schema: queries, mutations, and the limits every request is held to."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.tools import merge_types

from wharf.graphql.mutations.access import AccessMutations
from wharf.graphql.mutations.operators import OperatorMutations
from wharf.graphql.mutations.workloads import WorkloadMutations
from wharf.graphql.queries import Query
from wharf.graphql.subscriptions import Subscription

MAX_DEPTH = 6
MAX_ALIASES = 15
MAX_TOKENS = 2000

Mutation = merge_types("Mutation", (WorkloadMutations, AccessMutations, OperatorMutations))


def build_schema(dev: bool = False) -> strawberry.Schema:
    """Depth, alias and token limits reject abusive documents before any resolver runs;
    introspection only in development; errors a client did not cause are masked."""
    # Factories, so that each request gets extensions of its own.
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
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
