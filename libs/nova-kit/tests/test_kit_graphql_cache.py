"""The subgraphs' operation cache: each distinct operation is parsed and validated once, and the
answers are exactly those of a schema without the cache."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import ValidationRule
from strawberry.extensions import AddValidationRules, QueryDepthLimiter

from nova_kit.graphql_cache import OperationCache, validation_results
from nova_kit.graphql_http import DOCUMENTS, RecentDocuments

VALIDATIONS: list[str] = []


class CountingRule(ValidationRule):
    """Counts validation runs: graphql-core creates the rule once per ``validate`` call."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        VALIDATIONS.append("validated")


@strawberry.type
class Item:
    name: str

    @strawberry.field
    def child(self) -> Item:
        return Item(name=f"{self.name}+")


@strawberry.type
class Query:
    @strawberry.field
    def greet(self, name: str) -> str:
        return f"hello {name}"

    @strawberry.field
    def item(self) -> Item:
        return Item(name="a")


@strawberry.type
class OtherQuery:
    @strawberry.field
    def other(self) -> int:
        return 1


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    """The same schema with and without the cache (a depth limiter created per request, as the
    services configure theirs)."""
    extensions: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=3),
        lambda: AddValidationRules([CountingRule]),
    ]
    cached = strawberry.Schema(query=Query, extensions=[OperationCache, *extensions])
    plain = strawberry.Schema(query=Query, extensions=extensions)
    return cached, plain


def answer(result: Any) -> tuple[Any, list[Any]]:
    return result.data, [error.formatted for error in result.errors or []]


async def test_an_operation_is_validated_once_and_answers_the_same() -> None:
    cached, plain = schemas()
    query = "query Greet($name: String!) { greet(name: $name) item { name } }"
    VALIDATIONS.clear()
    first = await cached.execute(query, variable_values={"name": "ada"})
    second = await cached.execute(query, variable_values={"name": "grace"})
    assert len(VALIDATIONS) == 1  # the second request reused the first one's validation
    # the variables still count: only parsing and validation are reused, never execution
    assert answer(first) == ({"greet": "hello ada", "item": {"name": "a"}}, [])
    assert answer(second) == ({"greet": "hello grace", "item": {"name": "a"}}, [])
    assert answer(second) == answer(await plain.execute(query, variable_values={"name": "grace"}))
    assert DOCUMENTS.get(query) is not None


async def test_invalid_operations_get_the_same_errors_from_the_cache() -> None:
    cached, plain = schemas()
    for query in (
        "{ greet }",  # a missing argument
        "{ nope }",  # an unknown field
        "{ item { child { child { child { name } } } } }",  # over the depth limit
    ):
        VALIDATIONS.clear()
        expected = answer(await plain.execute(query))
        assert expected[0] is None, query
        assert expected[1], query
        assert answer(await cached.execute(query)) == expected, query
        assert answer(await cached.execute(query)) == expected, query
        assert len(VALIDATIONS) == 2, query  # the plain schema's and the cache's first run


async def test_a_syntax_error_is_never_kept() -> None:
    cached, plain = schemas()
    query = "{ greet(name: "
    expected = answer(await plain.execute(query))
    assert expected[1][0]["message"].startswith("Syntax Error")
    assert answer(await cached.execute(query)) == expected
    assert answer(await cached.execute(query)) == expected
    assert DOCUMENTS.get(query) is None


async def test_each_schema_validates_a_text_of_its_own() -> None:
    cached, _ = schemas()
    other = strawberry.Schema(query=OtherQuery, extensions=[OperationCache])
    query = "{ other }"
    assert answer(await other.execute(query)) == ({"other": 1}, [])
    refused = answer(await cached.execute(query))
    assert refused[0] is None
    assert "Cannot query field 'other'" in refused[1][0]["message"]
    assert validation_results(other._schema).get(query) == ()
    assert answer(await other.execute(query)) == ({"other": 1}, [])


def test_recent_documents_are_bounded_in_entries_and_text_length() -> None:
    recent: RecentDocuments[int] = RecentDocuments(max_entries=2, max_text=10)
    recent.put("a", 1)
    recent.put("b", 2)
    assert recent.get("a") == 1  # "a" is now the most recent
    recent.put("c", 3)
    assert (recent.get("a"), recent.get("b"), recent.get("c")) == (1, None, 3)
    recent.put("x" * 11, 4)  # too long to keep
    assert recent.get("x" * 11) is None
    assert len(recent) == 2
