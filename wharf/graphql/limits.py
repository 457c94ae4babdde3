"""Document limits, checked before any validation rule runs.

A GraphQL document is small, but what it asks for is its fragments *expanded*: forty
fragments that each spread the one before twice ask for 2**40 fields in 1.5 KB. Rules
that walk every spread again (strawberry's depth and alias limiters did) then run for
ever, on the event loop. Here each fragment is measured once (memoised), so the cost is
linear in the document, and a document whose expansion is over budget is refused before
graphql-core's own rules (some of them quadratic in the expanded fields) see it.

What is measured, per operation, with every fragment expanded:
- fields: how many fields it selects (the budget, MAX_FIELDS);
- depth: how deeply fields nest, as graphql-depth-limit counts it (`{ a { b } }` is 1),
  introspection fields (`__schema`, `__type`) not followed;
- aliases: how many fields carry an alias.

And the values it carries: no list, written in the document or given in its variables,
holds more than MAX_LIST_ITEMS items. (strawberry converts an input list item by item
on the event loop, a few seconds for 40,000 ports: refused here first, in microseconds.
The inputs' own limits, such as 64 ports, are checked later with typed errors.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    visit,
)

MAX_DEPTH = 6
MAX_ALIASES = 15
MAX_FIELDS = 300
MAX_LIST_ITEMS = 256


@dataclass(frozen=True)
class Size:
    fields: int = 0
    depth: int = 0  # levels of nested fields below the top one
    aliases: int = 0

    def __add__(self, other: Size) -> Size:
        return Size(self.fields + other.fields, max(self.depth, other.depth),
                    self.aliases + other.aliases)


class _Cycle(Exception):
    pass


class _Measure:
    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.sizes: dict[str, Size] = {}
        self.open: set[str] = set()

    def fragment(self, name: str) -> Size:
        known = self.sizes.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None:
            return Size()  # an unknown fragment: graphql-core's rules name it
        if name in self.open:
            raise _Cycle(name)
        self.open.add(name)
        size = self.selections(definition.selection_set)
        self.open.discard(name)
        self.sizes[name] = size
        return size

    def selections(self, selection_set: SelectionSetNode | None) -> Size:
        total = Size()
        if selection_set is None:
            return total
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selections(selection.selection_set)
            # Saturate, so that a huge expansion stays a small integer.
            if total.fields > MAX_FIELDS:
                return total
        return total

    def field(self, node: FieldNode) -> Size:
        inner = self.selections(node.selection_set)
        introspection = node.name.value.startswith("__")
        nested = 0 if introspection or node.selection_set is None else inner.depth + 1
        return Size(fields=min(1 + inner.fields, MAX_FIELDS + 1), depth=nested,
                    aliases=inner.aliases + (1 if node.alias is not None else 0))


def check(document: DocumentNode) -> list[GraphQLError]:
    """The limits `document` breaks (none: it may be validated and run)."""
    measure = _Measure(document)
    errors = _long_literal_lists(document)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        name = definition.name.value if definition.name else "anonymous"
        try:
            size = measure.selections(definition.selection_set)
        except _Cycle as cycle:
            return [GraphQLError(f"fragment {cycle.args[0]} spreads itself")]
        depth = size.depth
        if size.fields > MAX_FIELDS:
            errors.append(GraphQLError(
                f"'{name}' asks for more than {MAX_FIELDS} fields once its fragments are "
                "expanded"))
        elif depth > MAX_DEPTH:
            errors.append(GraphQLError(f"'{name}' exceeds maximum operation depth of "
                                       f"{MAX_DEPTH}"))
        elif size.aliases > MAX_ALIASES:
            errors.append(GraphQLError(f"'{name}' has {size.aliases} aliases; at most "
                                       f"{MAX_ALIASES} are allowed"))
    return errors


class _LongLists(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.longest = 0

    def enter_list_value(self, node: ListValueNode, *_: Any) -> None:
        self.longest = max(self.longest, len(node.values))


def _long_literal_lists(document: DocumentNode) -> list[GraphQLError]:
    lists = _LongLists()
    visit(document, lists)
    if lists.longest > MAX_LIST_ITEMS:
        return [GraphQLError(f"a list in the document holds {lists.longest} items; at most "
                             f"{MAX_LIST_ITEMS} are taken")]
    return []


def check_variables(variables: dict[str, Any] | None) -> list[GraphQLError]:
    """The lists in a request's variables that are too long to convert."""
    for name, value in (variables or {}).items():
        longest = _longest_list(value)
        if longest > MAX_LIST_ITEMS:
            return [GraphQLError(f"a list in variable ${name} holds {longest} items; at most "
                                 f"{MAX_LIST_ITEMS} are taken")]
    return []


def _longest_list(value: Any) -> int:
    """The most items any list in a JSON value holds (walked without recursion)."""
    longest, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            longest = max(longest, len(item))
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return longest
