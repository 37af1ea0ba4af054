"""The subgraphs' operation cache: each distinct operation is parsed and validated once, and the
answers are exactly those of a schema without the cache."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
import strawberry
from graphql import GraphQLError, ValidationRule
from strawberry.extensions import AddValidationRules, MaskErrors, QueryDepthLimiter, SchemaExtension
from strawberry.types.graphql import OperationType

from nova_kit.graphql_cache import (
    OperationCache,
    execute_prepared,
    prepared_execution_allowed,
    validation_results,
)
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


# --- prepared execution ---------------------------------------------------------------------

PROCESSED: list[str] = []


class BoomError(Exception):
    pass


@strawberry.type
class Shop:
    @strawberry.field
    def price(self, amount: int) -> int:
        if amount < 0:
            raise BoomError("a secret detail")
        if amount == 0:
            raise GraphQLError("free", extensions={"code": "no_price"})
        return amount * 2

    @strawberry.field
    async def later(self) -> str:
        return "later"


@strawberry.type
class ShopMutation:
    @strawberry.mutation
    def buy(self) -> bool:
        return True


class ShopSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        PROCESSED.extend(error.message for error in errors)


def shop_schema(*extra: Any) -> strawberry.Schema:
    return ShopSchema(
        query=Shop,
        mutation=ShopMutation,
        extensions=[
            OperationCache,
            partial(QueryDepthLimiter, max_depth=5),
            partial(
                MaskErrors, should_mask_error=lambda e: isinstance(e.original_error, BoomError)
            ),
            *extra,
        ],
    )


QUERY_OPS = {OperationType.QUERY}
BOTH_OPS = {OperationType.QUERY, OperationType.MUTATION}


async def prepared(schema: Any, query: str, **options: Any) -> Any:
    return await execute_prepared(
        schema,
        query,
        variables=options.get("variables"),
        context=None,
        operation_name=options.get("operation_name"),
        allowed=options.get("allowed", QUERY_OPS),
    )


async def test_a_validated_operation_runs_prepared_and_answers_as_strawberry_does() -> None:
    schema = shop_schema()
    assert prepared_execution_allowed(schema)
    query = "query P($a: Int!) { price(amount: $a) later }"
    assert await prepared(schema, query, variables={"a": 2}) is None  # never validated yet
    full = await schema.execute(query, variable_values={"a": 2})
    fast = await prepared(schema, query, variables={"a": 3})
    assert fast is not None
    assert answer(full) == ({"price": 4, "later": "later"}, [])
    assert answer(fast) == ({"price": 6, "later": "later"}, [])
    assert fast.extensions == full.extensions


async def test_errors_are_processed_and_masked_as_on_the_full_path() -> None:
    schema = shop_schema()
    query = "query P($a: Int!) { price(amount: $a) }"
    await schema.execute(query, variable_values={"a": 1})  # validated: later runs are prepared
    for variables in ({"a": -1}, {"a": 0}, {"a": "x"}, {}):
        PROCESSED.clear()
        full = await schema.execute(query, variable_values=variables)
        processed_full = list(PROCESSED)
        PROCESSED.clear()
        fast = await prepared(schema, query, variables=variables)
        assert fast is not None
        assert answer(fast) == answer(full), variables
        assert processed_full == PROCESSED, variables  # logged once, before masking
    masked = answer(await prepared(schema, query, variables={"a": -1}))
    assert masked[1][0]["message"] == "Unexpected error."


async def test_what_the_full_path_refuses_is_left_to_it() -> None:
    schema = shop_schema()
    await schema.execute("mutation { buy }", allowed_operation_types=BOTH_OPS)
    assert await prepared(schema, "mutation { buy }") is None  # a mutation where only queries go
    assert await prepared(schema, "mutation { buy }", allowed=BOTH_OPS) is None  # never prepared
    assert await prepared(schema, "{ later }", allowed={OperationType.MUTATION}) is None
    two = "query A { later } query B { later }"
    await schema.execute(two, operation_name="A")
    assert await prepared(schema, two, operation_name="C") is None  # no such operation
    assert await prepared(schema, two) is None  # which one?
    assert answer(await prepared(schema, two, operation_name="B")) == ({"later": "later"}, [])
    invalid = "{ price }"
    await schema.execute(invalid)
    assert await prepared(schema, invalid) is None  # invalid: the full path answers its errors


async def test_an_executor_failure_is_left_to_the_full_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = shop_schema()
    await schema.execute("{ later }")
    assert await prepared(schema, "{ later }") is not None

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the executor broke")

    monkeypatch.setattr("strawberry.schema._graphql_core.execute", broken)
    assert await prepared(schema, "{ later }") is None


class Counting(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        yield


def test_a_schema_with_an_extension_it_cannot_do_without_is_never_run_prepared() -> None:
    assert not prepared_execution_allowed(shop_schema(Counting))
    assert not prepared_execution_allowed(shop_schema(lambda: QueryDepthLimiter(max_depth=3)))
    assert not prepared_execution_allowed(strawberry.Schema(query=Shop))  # no cache
    cached, _ = schemas()  # a factory function among its extensions
    assert not prepared_execution_allowed(cached)
