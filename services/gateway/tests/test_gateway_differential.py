"""Differential: for random operations, the gateway's response over the four subgraphs equals
graphql-core executing the same operation on the API schema with all the data in one place —
the spec's answer, computed without federation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
import pytest
from graphql import graphql_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_gateway.app import create_app
from nova_kit.testing.servers import ThreadedServer


@pytest.fixture(scope="module")
def gateway_url(subgraphs: dict[str, Any]) -> Iterator[str]:
    with ThreadedServer(create_app(_settings(subgraphs)), path="/graphql", lifespan="on") as server:
        yield server.url


def _settings(subgraphs: dict[str, Any]) -> Any:
    from pathlib import Path

    from nova_gateway.config import GatewaySettings

    return GatewaySettings(
        environment="test",
        supergraph=str(Path(__file__).parent / "fixtures" / "supergraph.graphql"),
        supergraph_poll_seconds=0,
        subgraph_urls={name: app.url for name, app in subgraphs.items()},
        jwks_url=None,
        log_level="WARNING",
    )


def _error_paths(errors: Sequence[Mapping[str, Any]] | None) -> set[tuple[Any, ...]]:
    return {tuple(error.get("path") or ()) for error in errors or ()}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_gateway_answers_like_a_single_schema(
    gateway_url: str,
    operations: Any,
    operation_variables: dict[str, Any],
    monolith: Any,
    data: st.DataObject,
) -> None:
    query = data.draw(operations)
    schema, root = monolith
    expected = graphql_sync(schema, query, root_value=root, variable_values=operation_variables)
    with httpx.Client(timeout=10, trust_env=False) as client:
        body = client.post(
            gateway_url, json={"query": query, "variables": operation_variables}
        ).json()
    assert body.get("data") == expected.data, query
    expected_errors = [e.formatted for e in expected.errors or ()]
    assert _error_paths(body.get("errors")) == _error_paths(expected_errors), query


def _subsumed(actual: Any, expected: Any) -> bool:
    """True when ``actual`` is ``expected`` with some positions nulled (and nothing else)."""
    if actual is None:
        return True
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and list(actual) == list(expected)
            and all(_subsumed(actual[key], expected[key]) for key in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_subsumed(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    data=st.data(),
    failing=st.sampled_from(["accounts", "products", "inventory", "reviews"]),
    mode=st.sampled_from(["http500", "malformed", "wrong_count"]),
)
def test_a_failing_subgraph_only_nulls_what_it_owns(
    gateway_url: str,
    subgraphs: dict[str, Any],
    operations: Any,
    operation_variables: dict[str, Any],
    monolith: Any,
    data: st.DataObject,
    failing: str,
    mode: str,
) -> None:
    query = data.draw(operations)
    schema, root = monolith
    expected = graphql_sync(schema, query, root_value=root, variable_values=operation_variables)
    subgraphs[failing].fault.mode = mode
    try:
        with httpx.Client(timeout=10, trust_env=False) as client:
            response = client.post(
                gateway_url, json={"query": query, "variables": operation_variables}
            )
    finally:
        subgraphs[failing].fault.mode = None
    assert response.status_code == 200, query
    body = response.json()
    assert "data" in body, query
    assert _subsumed(body["data"], expected.data), (query, body)
    for error in body.get("errors", []):
        assert error.get("path"), (query, error)
    if body["data"] != expected.data:
        assert body.get("errors"), (query, body)


FRAGMENTED = """
query($yes: Boolean = true) {
  me {
    ... @include(if: $yes) { favoriteProduct { ... @include(if: true) { brand } ...Stock name } }
  }
}
fragment Stock on Product { inStock }
"""


@pytest.mark.parametrize("failing", ["products", "inventory"])
@pytest.mark.parametrize("mode", ["http500", "malformed", "wrong_count"])
def test_a_failed_fetch_nulls_fields_asked_for_inside_fragments(
    gateway_url: str, subgraphs: dict[str, Any], failing: str, mode: str
) -> None:
    """Fields a failed entity fetch was to bring under inline fragments or fragment spreads are
    null next to the fetch's error (not missing, which would be a 500)."""
    subgraphs[failing].fault.mode = mode
    try:
        with httpx.Client(timeout=10, trust_env=False) as client:
            response = client.post(gateway_url, json={"query": FRAGMENTED})
    finally:
        subgraphs[failing].fault.mode = None
    assert response.status_code == 200, response.text
    body = response.json()
    # brand, inStock and name are non-null: the error propagates to the nullable parent
    assert body["data"] == {"me": {"favoriteProduct": None}}
    [error] = body["errors"]
    assert error["extensions"]["serviceName"] == failing
    assert error["path"][:2] == ["me", "favoriteProduct"]
