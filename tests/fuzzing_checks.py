"""Checks that ``tests/fuzzing.py`` adds to schemathesis runs (loaded through
``SCHEMATHESIS_HOOKS``; a check fails by raising ``AssertionError``).

- ``nova_error_shape``: every 4xx answer of a Nova service is ``{"code", "message"[,
  "details"]}`` JSON.
- ``graphql_not_a_server_error``: a GraphQL answer is below 500, is a JSON object, and none of
  its errors is a server fault. Errors that are the client's (unauthenticated, invalid input, a
  failed validation) are answers, not failures; schemathesis' own GraphQL check counts every
  resolver error as a server error.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response

GRAPHQL_SERVER_CODES = frozenset(
    {
        "INTERNAL_SERVER_ERROR",
        "internal_error",
        "DOWNSTREAM_SERVICE_ERROR",
        "SUBREQUEST_HTTP_ERROR",
        "SUBREQUEST_TIMEOUT",
        "SUBREQUEST_MALFORMED_RESPONSE",
        "QUERY_PLANNING_FAILED",
        "SUPERGRAPH_NOT_LOADED",
    }
)


def _body(response: Response) -> object:
    try:
        return json.loads(response.content)
    except ValueError as error:
        raise AssertionError(
            f"{response.status_code} answer is not JSON: {response.content[:200]!r}"
        ) from error


@schemathesis.check
def nova_error_shape(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    if not 400 <= response.status_code < 500:
        return None
    body = _body(response)
    assert isinstance(body, dict), f"{response.status_code} answer is not an object: {body!r}"
    assert isinstance(body.get("code"), str), f"no error code: {body!r}"
    assert body["code"], f"empty error code: {body!r}"
    assert isinstance(body.get("message"), str), f"no error message: {body!r}"
    return True


@schemathesis.check
def graphql_not_a_server_error(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    assert response.status_code < 500, f"{response.status_code}: {response.content[:300]!r}"
    body = _body(response)
    assert isinstance(body, dict), f"GraphQL answer is not an object: {body!r}"
    errors = body.get("errors") or []
    assert isinstance(errors, list), f"errors is not a list: {body!r}"
    if response.status_code >= 400:
        assert errors, f"{response.status_code} without errors: {body!r}"
    for error in errors:
        assert isinstance(error, dict), error
        assert isinstance(error.get("message"), str), error
        extensions = error.get("extensions") or {}
        assert isinstance(extensions, dict), error
        code = extensions.get("code")
        assert isinstance(code, str), f"error without extensions.code: {error!r}"
        assert code not in GRAPHQL_SERVER_CODES, f"server fault: {error!r}"
        status = extensions.get("status")
        assert not isinstance(status, int) or status < 500, f"server fault: {error!r}"
    return True
