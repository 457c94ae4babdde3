from graphql import parse

from wharf.graphql.limits import MAX_FIELDS, check


def messages(document: str) -> list[str]:
    return [error.message for error in check(parse(document))]


def test_a_fragment_that_doubles_forty_times_is_measured_once_per_fragment() -> None:
    fragments = ["fragment F0 on Me { actor }"] + [
        f"fragment F{i} on Me {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 41)]
    document = "query bomb { me { ...F40 } } " + " ".join(fragments)
    assert messages(document) == [
        f"'bomb' asks for more than {MAX_FIELDS} fields once its fragments are expanded"]


def test_depth_counts_nested_fields_through_fragments() -> None:
    six = "{ a { b { c { d { e { f { g } } } } } } }"
    assert messages(six) == []
    assert messages("{ a { b { c { d { e { f { g { h } } } } } } } }") == [
        "'anonymous' exceeds maximum operation depth of 6"]
    through_fragment = ("{ a { b { c { ...D } } } } "
                        "fragment D on C { d { e { f { g { h } } } } }")
    assert messages(through_fragment) == ["'anonymous' exceeds maximum operation depth of 6"]
    # Introspection is not followed (GraphiQL's own query nests deeply).
    assert messages("{ __schema { types { fields { type { ofType { ofType { ofType "
                    "{ ofType { name } } } } } } } } }") == []


def test_aliases_count_in_every_expansion_of_a_fragment() -> None:
    eight = " ".join(f"a{i}: me" for i in range(8))
    assert messages(f"{{ ...A }} fragment A on Query {{ {eight} }}") == []
    assert messages(f"{{ x {{ ...A }} y {{ ...A }} }} fragment A on Q {{ {eight} }}") == [
        "'anonymous' has 16 aliases; at most 15 are allowed"]


def test_a_cycle_of_fragments_is_refused_without_recursing() -> None:
    assert messages("{ ...A } fragment A on Q { ...B } fragment B on Q { ...A }") == [
        "fragment A spreads itself"]


def test_an_unknown_fragment_is_left_to_graphql_cores_rules() -> None:
    assert messages("{ ...Nowhere }") == []


def test_long_documents_are_not_kept_in_the_caches() -> None:
    """2,000 tokens can carry a megabyte-long string: a thousand such documents cached
    kept about 2 GB."""
    import asyncio

    from wharf.graphql.schema import _parse, build_schema

    schema = build_schema()
    parsed = _parse.cache_info().currsize
    for i in range(3):
        long = "x" * 100_000 + str(i)
        asyncio.run(schema.execute(f'{{ container(id: "{long}") {{ id }} }}'))
    assert _parse.cache_info().currsize == parsed
    assert len(schema.validations.answers) == 0  # type: ignore[attr-defined]
    asyncio.run(schema.execute('{ container(id: "short") { id } }'))
    assert len(schema.validations.answers) == 1  # type: ignore[attr-defined]
