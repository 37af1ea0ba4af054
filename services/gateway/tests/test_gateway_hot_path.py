"""The hot path (``nova_gateway.edge.hotpath``) answers exactly what the full stack answers.

The same requests go to one running gateway twice, with its hot path on and off: the status,
the headers (but ``Date``), the body, the access-log line (but the duration) and the request
metrics they leave must be the same.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.enums import ScopeType
from litestar.types import Receive, Scope, Send
from prometheus_client import REGISTRY

from nova_gateway.app import create_app
from nova_gateway.config import GatewaySettings
from nova_gateway.edge.hotpath import HotPath
from nova_kit.testing.servers import ThreadedServer
from nova_kit.testing.tokens import TokenFactory

SUPERGRAPH = Path(__file__).parent / "fixtures" / "supergraph.graphql"


class Echo:
    """An upstream that answers its JWKS, and every other request with what it received."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            return
        body = b""
        while True:
            message: Any = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/.well-known/jwks.json":
            content: Any = self.jwks
        else:
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            keep = ("authorization", "content-type", "x-request-id", "x-forwarded-for")
            content = {
                "method": scope["method"],
                "path": scope["path"],
                "query": scope["query_string"].decode(),
                "body": body.decode(),
                "headers": {name: headers.get(name) for name in keep},
            }
        payload = json.dumps(content).encode()
        start: Any = {
            "type": "http.response.start",
            "status": 201 if scope["method"] == "POST" else 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"x-frame-options", b"SAMEORIGIN"),
                (b"x-request-id", b"set-by-the-upstream"),
            ],
        }
        end: Any = {"type": "http.response.body", "body": payload}
        await send(start)
        await send(end)


@dataclass
class Gateway:
    url: str
    hot: HotPath
    tokens: TokenFactory


@pytest.fixture(scope="module")
def running(subgraphs: dict[str, Any], redis_url: str) -> Iterator[Gateway]:
    tokens = TokenFactory()
    with ThreadedServer(Echo(tokens.jwks())) as upstream:
        settings = GatewaySettings(
            environment="test",
            supergraph=str(SUPERGRAPH),
            supergraph_poll_seconds=0,
            subgraph_urls={name: app.url for name, app in subgraphs.items()},
            redis_url=redis_url,
            jwks_url=f"{upstream.url}/.well-known/jwks.json",
            routes={"/api/echo": upstream.url},
            anonymous_routes=["GET /api/echo/public/*"],
            cors_allow_origins=["https://app.example.com"],
            rate_limit_per_client=100_000,
            rate_limit_per_subject=100_000,
            proxy_max_body_bytes=1024,
            max_body_bytes=4096,
            log_json=False,
            freeze_heap=False,
        )
        app = create_app(settings)
        hot = app.asgi_handler
        assert isinstance(hot, HotPath)
        with ThreadedServer(app) as gateway:
            yield Gateway(gateway.url, hot, tokens)


QUERY = "{ me { name username } }"

CASES: dict[str, dict[str, Any]] = {
    "query": {"method": "POST", "url": "/graphql", "json": {"query": QUERY}},
    "query-graphql-response": {
        "method": "POST",
        "url": "/graphql",
        "json": {"query": QUERY},
        "headers": {"accept": "application/graphql-response+json"},
    },
    "invalid-query": {
        "method": "POST",
        "url": "/graphql",
        "json": {"query": "{ nope }"},
        "headers": {"accept": "application/graphql-response+json"},
    },
    "variables-and-operation": {
        "method": "POST",
        "url": "/graphql",
        "json": {
            "query": "query P($upc: String!) { product(upc: $upc) { name } } query Q { me { id } }",
            "operationName": "P",
            "variables": {"upc": "1"},
        },
    },
    "not-json": {
        "method": "POST",
        "url": "/graphql",
        "content": b"{nope",
        "headers": {"content-type": "application/json"},
    },
    "wrong-content-type": {
        "method": "POST",
        "url": "/graphql",
        "content": b"query",
        "headers": {"content-type": "text/plain"},
    },
    "not-acceptable": {
        "method": "POST",
        "url": "/graphql",
        "json": {"query": QUERY},
        "headers": {"accept": "text/html"},
    },
    "batch-refused": {"method": "POST", "url": "/graphql", "json": [{"query": QUERY}]},
    "get": {"method": "GET", "url": f"/graphql?query={QUERY}"},
    "get-mutation": {
        "method": "GET",
        "url": '/graphql?query=mutation { renameUser(id: "1", name: "x") { name } }',
    },
    "get-twice": {"method": "GET", "url": "/graphql?query={ me { id } }&query={ me { id } }"},
    "bad-token": {
        "method": "POST",
        "url": "/graphql",
        "json": {"query": QUERY},
        "headers": {"authorization": "Bearer not-a-token"},
    },
    "malformed-authorization": {
        "method": "POST",
        "url": "/graphql",
        "json": {"query": QUERY},
        "headers": {"authorization": "Basic abc"},
    },
    "user-token": {"method": "POST", "url": "/graphql", "json": {"query": QUERY}, "user": True},
    "invalid-request-id": {
        "method": "POST",
        "url": "/graphql",
        "json": {"query": QUERY},
        "headers": {"x-request-id": "not valid!"},
    },
    "traceparent": {
        "method": "POST",
        "url": "/graphql",
        "json": {"query": QUERY},
        "headers": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    },
    "proxy-public": {"method": "GET", "url": "/api/echo/public/items?page=2"},
    "proxy-anonymous-refused": {"method": "GET", "url": "/api/echo/private"},
    "proxy-user": {"method": "GET", "url": "/api/echo/private/x", "user": True},
    "proxy-post": {
        "method": "POST",
        "url": "/api/echo/things",
        "json": {"a": 1},
        "user": True,
    },
    "proxy-traversal": {"method": "GET", "url": "/api/echo/public/%2e%2e/private", "user": True},
    "proxy-too-large": {
        "method": "POST",
        "url": "/api/echo/things",
        "content": b"x" * 2048,
        "user": True,
    },
    "graphql-too-large": {
        "method": "POST",
        "url": "/graphql",
        "json": {"query": QUERY, "variables": {"pad": "x" * 5000}},
    },
    "cookie-csrf-refused": {
        "method": "POST",
        "url": "/api/echo/things",
        "content": b"a=1",
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "cookie": True,
    },
    "cookie-json-accepted": {
        "method": "POST",
        "url": "/api/echo/things",
        "json": {"a": 1},
        "cookie": True,
    },
    "cookie-graphql": {
        "method": "POST",
        "url": "/graphql",
        "json": {"query": QUERY},
        "cookie": True,
    },
    "cors-preflight": {
        "method": "OPTIONS",
        "url": "/graphql",
        "headers": {
            "origin": "https://app.example.com",
            "access-control-request-method": "POST",
        },
    },
    "cors-simple": {
        "method": "POST",
        "url": "/graphql",
        "json": {"query": QUERY},
        "headers": {"origin": "https://app.example.com"},
    },
    "wrong-method": {"method": "PUT", "url": "/graphql", "json": {"query": QUERY}},
    "elsewhere": {"method": "GET", "url": "/api/elsewhere"},
}


def _request_metrics() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for metric in REGISTRY.collect():
        if not metric.name.startswith("http_server_"):
            continue
        for sample in metric.samples:
            if sample.name.endswith(("_sum", "_bucket")):
                continue  # durations differ from run to run; counts must not
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def _exchange(
    gateway: Gateway,
    case: dict[str, Any],
    request_id: str,
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> dict[str, Any]:
    headers = {"x-request-id": request_id, **case.get("headers", {})}
    cookies: dict[str, str] = {}
    if case.get("user"):
        headers["authorization"] = f"Bearer {token}"
    if case.get("cookie"):
        cookies["nova_at"] = token
    before = _request_metrics()
    caplog.clear()
    with httpx.Client(base_url=gateway.url, cookies=cookies, trust_env=False) as client:
        response = client.request(
            case["method"],
            case["url"],
            json=case.get("json"),
            content=case.get("content"),
            headers=headers,
        )
    # The server logs and counts a request once it has answered it: wait for the line.
    deadline = time.monotonic() + 5
    while not any(r.name == "nova.access" for r in caplog.records):
        assert time.monotonic() < deadline, "no access-log line"
        time.sleep(0.01)
    after = _request_metrics()
    lines = [
        {k: getattr(r, k) for k in ("msg", "http_method", "path", "route", "status", "bytes")}
        for r in caplog.records
        if r.name == "nova.access"
    ]
    changed = {key: after[key] - before.get(key, 0.0) for key in after}
    answered_id = response.headers.get("x-request-id", "")
    body = response.content.replace(answered_id.encode(), b"<request id>")
    if case.get("headers", {}).get("x-request-id") == "not valid!":
        request_id = answered_id  # a fresh one, different each time
    return {
        "status": response.status_code,
        "headers": [
            (k, v.replace(answered_id, "<request id>") if request_id == answered_id else v)
            for k, v in response.headers.multi_items()
            if k != "date"
        ],
        "body": body,
        "log": lines,
        "metrics": {key: value for key, value in changed.items() if value},
    }


@pytest.mark.parametrize("name", list(CASES))
def test_the_hot_path_answers_as_the_stack_does(
    running: Gateway, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="nova.access")
    case = CASES[name]
    answers = {}
    token = running.tokens.mint("user-hot-path")
    for enabled in (True, False):
        running.hot.enabled = enabled
        try:
            answers[enabled] = _exchange(running, case, f"hot-path-{name}", token, caplog)
        finally:
            running.hot.enabled = True
    assert answers[True] == answers[False]
    assert len(answers[True]["log"]) == 1


def test_the_hot_path_serves_the_hot_routes(
    running: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    serve = running.hot.serve

    async def spy(scope: Scope, receive: Receive, send: Send, route: str) -> None:
        served.append(route)
        await serve(scope, receive, send, route)

    monkeypatch.setattr(running.hot, "serve", spy)
    with httpx.Client(base_url=running.url, trust_env=False) as client:
        assert client.post("/graphql", json={"query": QUERY}).status_code == 200
        assert client.get("/api/echo/public/items").status_code == 200
        assert client.get("/health").status_code == 200
        assert client.options("/graphql").status_code in (200, 204, 405)
    assert served == ["/graphql", "/api/echo"]
