"""GraphQL-over-HTTP transport rules that need no server: media types and parameters."""

from __future__ import annotations

import pytest
from litestar.datastructures import MultiDict

from nova_kit.graphql_http import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    GraphQLParams,
    TransportError,
    decode_post_body,
    negotiate,
    params_of,
    params_of_query_string,
    status_for,
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, APPLICATION_JSON),
        ("", APPLICATION_JSON),
        ("*/*", APPLICATION_JSON),
        ("application/*", APPLICATION_JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/json;q=1, application/graphql-response+json;q=0.5", APPLICATION_JSON),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON; charset=utf-8", GRAPHQL_RESPONSE_JSON),
        ("text/html,application/xhtml+xml,*/*;q=0.8", APPLICATION_JSON),
        ("application/json;q=0, */*", GRAPHQL_RESPONSE_JSON),
        ("application/json;q=0", None),
        ("text/html", None),
        ("application/xml", None),
        ("application/graphql-response+json;q=0, application/json;q=0", None),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


def test_a_wildcard_gives_graphql_response_json_only_when_json_is_refused() -> None:
    assert negotiate("application/json;q=0, application/*;q=0.5") == GRAPHQL_RESPONSE_JSON
    assert negotiate("application/json;q=0.1, application/*;q=0.5") == APPLICATION_JSON


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "must be a JSON object"),
        ({}, "query parameter is missing"),
        ({"query": 1}, "query parameter must be a string"),
        ({"query": "{ a }", "operationName": 1}, "operationName parameter must be a string"),
        ({"query": "{ a }", "variables": []}, "variables parameter must be a JSON object"),
        ({"query": "{ a }", "extensions": "x"}, "extensions parameter must be a JSON object"),
    ],
)
def test_malformed_parameters_are_400_naming_the_parameter(payload: object, message: str) -> None:
    with pytest.raises(TransportError) as raised:
        params_of(payload)
    assert raised.value.status == 400
    assert message in raised.value.message


def test_parameters_in_a_query_string() -> None:
    params = params_of_query_string(
        MultiDict([("query", "query A { a }"), ("operationName", "A"), ("variables", '{"x": 1}')])
    )
    assert params == GraphQLParams("query A { a }", "A", {"x": 1}, None)
    with pytest.raises(TransportError, match="given twice"):
        params_of_query_string(MultiDict([("query", "{ a }"), ("query", "{ b }")]))


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        (None, b"{}", 415),
        ("text/plain", b"{}", 415),
        ("application/json; charset=utf-16", b"{}", 415),
        ("application/json", b"  ", 400),
        ("application/json", b"\xff", 400),
        ("application/json", b"{", 400),
    ],
)
def test_unreadable_bodies(content_type: str | None, body: bytes, status: int) -> None:
    with pytest.raises(TransportError) as raised:
        decode_post_body(content_type, body)
    assert raised.value.status == status


def test_status_follows_the_media_type() -> None:
    request_error = {"errors": [{"message": "x"}]}
    field_error = {"data": None, "errors": [{"message": "x", "path": ["a"]}]}
    assert status_for(APPLICATION_JSON, request_error) == 200
    assert status_for(GRAPHQL_RESPONSE_JSON, request_error) == 400
    assert status_for(GRAPHQL_RESPONSE_JSON, field_error) == 200
    assert status_for(GRAPHQL_RESPONSE_JSON, request_error, 503) == 503
    assert status_for(APPLICATION_JSON, request_error, 503) == 503
