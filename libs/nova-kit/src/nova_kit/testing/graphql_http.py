"""The GraphQL-over-HTTP specification's cases, as data any endpoint's tests run.

Every Nova GraphQL endpoint (each subgraph and the gateway) must answer these the same way, so
they are written once: each :class:`SpecCase` is a request and the outcome the specification
asks for. A test sends ``case.method``/``case.path_query``/``case.headers``/``case.body`` with
its own client and passes what came back to :func:`check`; :func:`run_cases` does that for every
case and reports all the failing ones at once (one app start-up for the whole table).

Every case uses only what any GraphQL schema has (``__typename``, ``__type``), and a mutation
type for the ``GET`` rule.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

GQL = "application/graphql-response+json"
JSON = "application/json"
TYPENAME = "{ __typename }"
TYPE_BY_NAME = "query Type($name: String!) { __type(name: $name) { name } }"


@dataclass(frozen=True, slots=True)
class SpecCase:
    id: str
    description: str
    method: str = "POST"
    body: bytes | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    status: int = 200
    media_type: str = JSON
    data: bool | None = True
    """``True``: the body has a ``data`` entry; ``False``: it has none (a request error)."""
    response_headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def path_query(self) -> str:
        return f"?{urlencode(self.params)}" if self.params else ""


def _post(payload: object, *, accept: str | None = JSON, **extra: str) -> dict[str, Any]:
    headers = {"Content-Type": JSON, **extra}
    if accept is not None:
        headers["Accept"] = accept
    return {"body": json.dumps(payload).encode(), "headers": headers}


def _both(
    ident: str, description: str, payload: object, *, gql_status: int, data: bool
) -> list[SpecCase]:
    """The same well-formed request under both media types: ``200`` with JSON,
    ``gql_status`` with ``application/graphql-response+json``."""
    return [
        SpecCase(
            f"{ident}-json",
            f"{description} (application/json)",
            **_post(payload),
            status=200,
            data=data,
        ),
        SpecCase(
            f"{ident}-gql",
            f"{description} (application/graphql-response+json)",
            **_post(payload, accept=GQL),
            status=gql_status,
            media_type=GQL,
            data=data,
        ),
    ]


def _malformed(ident: str, description: str, payload: object) -> list[SpecCase]:
    """Not a GraphQL-over-HTTP request: 400 and no ``data``, whatever the media type."""
    return [
        SpecCase(
            f"{ident}-{suffix}",
            description,
            **_post(payload, accept=accept),
            status=400,
            media_type=accept,
            data=False,
        )
        for suffix, accept in (("json", JSON), ("gql", GQL))
    ]


SPEC_CASES: list[SpecCase] = [
    # media types and Accept
    SpecCase(
        "accept-gql",
        "accepts graphql-response+json",
        **_post({"query": TYPENAME}, accept=GQL),
        media_type=GQL,
    ),
    SpecCase("accept-json", "accepts application/json", **_post({"query": TYPENAME})),
    SpecCase("accept-any", "*/* gets application/json", **_post({"query": TYPENAME}, accept="*/*")),
    SpecCase(
        "accept-none", "no Accept gets application/json", **_post({"query": TYPENAME}, accept=None)
    ),
    SpecCase(
        "accept-ranked-gql",
        "the client's preferred media type wins",
        **_post({"query": TYPENAME}, accept=f"{GQL}, {JSON};q=0.9"),
        media_type=GQL,
    ),
    SpecCase(
        "accept-ranked-json",
        "quality values are honoured",
        **_post({"query": TYPENAME}, accept=f"{JSON}, {GQL};q=0.5"),
    ),
    SpecCase(
        "accept-unsupported",
        "an Accept naming neither media type is 406",
        **_post({"query": TYPENAME}, accept="application/xml"),
        status=406,
        data=False,
    ),
    # POST bodies
    SpecCase(
        "post-no-content-type",
        "a POST without Content-Type is 415",
        body=json.dumps({"query": TYPENAME}).encode(),
        status=415,
        data=False,
    ),
    SpecCase(
        "post-text-plain",
        "a POST that is not JSON is 415",
        body=b"{ __typename }",
        headers={"Content-Type": "text/plain"},
        status=415,
        data=False,
        response_headers={"Accept-Post": JSON},
    ),
    SpecCase(
        "post-latin1",
        "a body in a charset other than UTF-8 is 415",
        body=json.dumps({"query": TYPENAME}).encode(),
        headers={"Content-Type": f"{JSON}; charset=latin-1"},
        status=415,
        data=False,
    ),
    SpecCase(
        "post-utf8-charset",
        "charset=utf-8 is accepted",
        body=json.dumps({"query": TYPENAME}).encode(),
        headers={"Content-Type": f"{JSON}; charset=utf-8"},
    ),
    SpecCase(
        "post-empty",
        "a POST without a body is 400",
        body=b"",
        headers={"Content-Type": JSON},
        status=400,
        data=False,
    ),
    SpecCase(
        "post-not-utf8",
        "a body that is not UTF-8 is 400",
        body=b'{"query": "{ \xff }"}',
        headers={"Content-Type": JSON},
        status=400,
        data=False,
    ),
    *[
        SpecCase(
            f"post-bad-json-{suffix}",
            "a body that is not JSON is 400 with no data",
            body=b'{"query": ',
            headers={"Content-Type": JSON, "Accept": accept},
            status=400,
            media_type=accept,
            data=False,
        )
        for suffix, accept in (("json", JSON), ("gql", GQL))
    ],
    *_malformed("body-not-object", "a body that is not an object is 400", "{ __typename }"),
    *_malformed("query-missing", "a missing query is 400", {"qeury": TYPENAME}),
    *_malformed("query-null", "a null query is 400", {"query": None}),
    *[
        case
        for index, value in enumerate(({"obj": "ect"}, 0, False, ["array"]))
        for case in _malformed(f"query-{index}", f"query {value!r} is 400", {"query": value})
    ],
    *[
        case
        for index, value in enumerate(({"obj": "ect"}, 0, False, ["array"]))
        for case in _malformed(
            f"operation-name-{index}",
            f"operationName {value!r} is 400",
            {"query": TYPENAME, "operationName": value},
        )
    ],
    *[
        case
        for name in ("variables", "extensions")
        for index, value in enumerate(("string", 0, False, ["array"]))
        for case in _malformed(
            f"{name}-{index}", f"{name} {value!r} is 400", {"query": TYPENAME, name: value}
        )
    ],
    *[
        SpecCase(
            f"{name}-null-{suffix}",
            f"a null {name} is allowed",
            **_post({"query": TYPENAME, name: None}, accept=accept),
            media_type=accept,
        )
        for name in ("variables", "operationName", "extensions")
        for suffix, accept in (("json", JSON), ("gql", GQL))
    ],
    SpecCase(
        "variables-map",
        "a map of variables is used",
        **_post({"query": TYPE_BY_NAME, "variables": {"name": "Query"}}, accept=GQL),
        media_type=GQL,
    ),
    SpecCase(
        "extensions-map",
        "a map of extensions is accepted",
        **_post({"query": TYPENAME, "extensions": {"client": "tests"}}, accept=GQL),
        media_type=GQL,
    ),
    SpecCase(
        "operation-name",
        "operationName picks the operation",
        **_post({"query": "query A { __typename } query B { __typename }", "operationName": "B"}),
    ),
    # request errors: 200 with application/json, 400 with graphql-response+json, never data
    *_both("parse", "a document that does not parse", {"query": "{"}, gql_status=400, data=False),
    *_both(
        "validation",
        "a document that does not validate",
        {"query": "{ notAFieldOfThisSchema }"},
        gql_status=400,
        data=False,
    ),
    *_both(
        "coercion",
        "variables that do not coerce",
        {"query": TYPE_BY_NAME, "variables": {"name": 1}},
        gql_status=400,
        data=False,
    ),
    *_both(
        "missing-variable",
        "a required variable that is missing",
        {"query": TYPE_BY_NAME},
        gql_status=400,
        data=False,
    ),
    *_both(
        "unknown-operation",
        "an operationName the document does not hold",
        {"query": "query A { __typename }", "operationName": "B"},
        gql_status=400,
        data=False,
    ),
    *_both(
        "ambiguous-operation",
        "two operations and no operationName",
        {"query": "query A { __typename } query B { __typename }"},
        gql_status=400,
        data=False,
    ),
    # GET
    SpecCase("get-query", "GET runs a query", method="GET", params={"query": TYPENAME}),
    SpecCase(
        "get-variables",
        "GET takes JSON-encoded variables",
        method="GET",
        params={"query": TYPE_BY_NAME, "variables": json.dumps({"name": "Query"})},
        headers={"Accept": GQL},
        media_type=GQL,
    ),
    SpecCase(
        "get-extensions",
        "GET takes JSON-encoded extensions",
        method="GET",
        params={"query": TYPENAME, "extensions": json.dumps({"client": "tests"})},
    ),
    *[
        SpecCase(
            f"get-mutation-{suffix}",
            "GET never runs a mutation: 405, Allow: POST",
            method="GET",
            params={"query": "mutation { __typename }"},
            headers={"Accept": accept},
            status=405,
            media_type=accept,
            data=False,
            response_headers={"Allow": "POST"},
        )
        for suffix, accept in (("json", JSON), ("gql", GQL))
    ],
    SpecCase(
        "get-no-query",
        "GET without a query is 400",
        method="GET",
        params={"operationName": "A"},
        status=400,
        data=False,
    ),
    SpecCase(
        "get-bad-variables",
        "GET variables that are not JSON are 400",
        method="GET",
        params={"query": TYPENAME, "variables": "{"},
        status=400,
        data=False,
    ),
    SpecCase(
        "get-variables-not-object",
        "GET variables that are not a JSON object are 400",
        method="GET",
        params={"query": TYPENAME, "variables": "[1]"},
        status=400,
        data=False,
    ),
    SpecCase(
        "get-parse-gql",
        "a GET document that does not parse, asking for graphql-response+json",
        method="GET",
        params={"query": "{"},
        headers={"Accept": GQL},
        status=400,
        media_type=GQL,
        data=False,
    ),
]


def check(case: SpecCase, status: int, headers: Mapping[str, str], content: bytes) -> None:
    """Assert that a response is what the specification asks for ``case``."""
    where = f"{case.id}: {case.description}"
    assert status == case.status, f"{where}: status {status}, body {content[:300]!r}"
    lowered = {name.lower(): value for name, value in headers.items()}
    content_type = lowered.get("content-type", "")
    media, _, parameters = content_type.partition(";")
    assert media.strip() == case.media_type, f"{where}: Content-Type {content_type!r}"
    assert parameters.lower().count("charset") <= 1, f"{where}: Content-Type {content_type!r}"
    for name, value in case.response_headers.items():
        assert lowered.get(name.lower()) == value, f"{where}: header {name}: {lowered}"
    body = json.loads(content.decode("utf-8"))
    assert isinstance(body, dict), where
    if case.data is True:
        assert "data" in body, f"{where}: {body}"
    elif case.data is False:
        assert "data" not in body, f"{where}: {body}"
        errors = body.get("errors")
        assert isinstance(errors, list), f"{where}: {body}"
        assert errors, f"{where}: {body}"
        for error in errors:
            assert isinstance(error.get("message"), str), f"{where}: {error}"
            assert error["message"], f"{where}: {error}"
            assert isinstance(error.get("extensions", {}).get("code"), str), f"{where}: {error}"


Send = Callable[[SpecCase], Awaitable[tuple[int, Mapping[str, str], bytes]]]


async def run_cases(send: Send, cases: list[SpecCase] | None = None) -> None:
    """Send every case and assert they all conform, listing each one that does not."""
    failed: list[str] = []
    for case in SPEC_CASES if cases is None else cases:
        status, headers, content = await send(case)
        try:
            check(case, status, headers, content)
        except (AssertionError, ValueError) as error:
            failed.append(str(error).splitlines()[0])
    assert not failed, "\n".join(failed)


async def run_cases_on(client: Any, path: str = "/graphql") -> None:
    """:func:`run_cases` through an async HTTP client (httpx's, or Litestar's test client)."""

    async def send(case: SpecCase) -> tuple[int, Mapping[str, str], bytes]:
        response = await client.request(
            case.method, f"{path}{case.path_query}", content=case.body, headers=dict(case.headers)
        )
        return response.status_code, response.headers, response.content

    await run_cases(send)


async def check_one_field_error(client: Any, query: str, field: str, code: str) -> None:
    """A root field that fails on its own: ``200`` under ``application/graphql-response+json``
    (the response has ``data``, here ``null``), and one error located at ``field`` — no second
    one for the ``null`` in a non-null position."""
    response = await client.post("/graphql", json={"query": query}, headers={"Accept": GQL})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None, body
    (error,) = body["errors"]
    assert error["path"] == [field], error
    assert error["extensions"]["code"] == code, error
