"""The gateway's edge over real HTTP: REST proxy fidelity, faults, edge auth, CORS, rate limits,
browser cookie sessions and the merged OpenAPI document.

The gateway and a loopback upstream both run under uvicorn on 127.0.0.1. The upstream is a
small raw ASGI app that records what reached it, so every "no upstream call" claim is checked
against its counter.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import http.client
import json
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import httpx
import pytest
import redis
from litestar.enums import ScopeType
from litestar.types import Receive, Scope, Send
from pydantic import ValidationError

from nova_gateway.app import create_app
from nova_gateway.config import GatewaySettings
from nova_gateway.edge.client import UpstreamClient
from nova_gateway.edge.openapi import merge_documents
from nova_gateway.edge.proxy import (
    AnonymousRule,
    BufferBudget,
    RestProxy,
    RetryBudget,
    Route,
    safe_path,
)
from nova_gateway.edge.ratelimit import Leases, lease_size
from nova_gateway.edge.settings import DEFAULT_ANONYMOUS
from nova_kit.embedded import free_port
from nova_kit.logs import request_id_var
from nova_kit.ratelimit import Limit, RateLimiter, RateLimitUnavailableError
from nova_kit.redis import create_redis
from nova_kit.testing.servers import ThreadedServer
from nova_kit.testing.tokens import TokenFactory

SUPERGRAPH = Path(__file__).parent / "fixtures" / "supergraph.graphql"
MIB = 1024 * 1024
GZIPPED = gzip.compress(b'{"greeting": "hello"}' * 200, mtime=0)


@dataclass
class Upstream:
    """A loopback upstream recording the requests that reached it."""

    jwks: dict[str, Any]
    calls: Counter[str] = field(default_factory=Counter)
    login_body: dict[str, Any] = field(default_factory=dict)
    last_refresh_body: dict[str, Any] = field(default_factory=dict)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            return
        path = scope["path"]
        self.calls[path] += 1
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect: the body ends
                break
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        query = parse_qs(scope["query_string"].decode())
        if path == "/.well-known/jwks.json":
            await self.json(send, 200, self.jwks)
        elif path.startswith("/api/echo/status/"):
            await self.json(
                send, int(path.rsplit("/", 1)[1]), {"code": "teapot", "message": "short and stout"}
            )
        elif path.startswith("/admin/data/echo"):
            await self.json(
                send, 200, {"method": scope["method"], "path": path, "headers": headers}
            )
        elif path == "/api/echo/stream":
            size = int(query["size"][0])
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/octet-stream"),
                        (b"x-total", str(size).encode()),
                    ],
                }
            )
            chunk = b"n" * 65536
            sent = 0
            while sent < size:
                piece = chunk[: min(len(chunk), size - sent)]
                sent += len(piece)
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif path == "/api/echo/gzipped":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-encoding", b"gzip"),
                        (b"content-length", str(len(GZIPPED)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": GZIPPED, "more_body": False})
        elif path == "/api/echo/big-header":
            header = [(b"x-big", b"v" * int(query["size"][0]))]
            await self.json(send, 200, {"big": True}, extra=header)
        elif path == "/api/echo/slow":
            await asyncio.sleep(float(query.get("seconds", ["3"])[0]))
            await self.json(send, 200, {"slow": True})
        elif path == "/api/echo/drop":
            raise RuntimeError("the upstream crashed while answering")
        elif path == "/api/auth/login":
            self.login_body = json.loads(body)
            if self.login_body.get("email") == "two-factor@example.com":
                challenge = {"mfa_required": True, "mfa_token": "mfa-1", "expires_in": 300}
                await self.json(send, 200, {**challenge, "methods": ["totp", "recovery_code"]})
            else:
                await self.json(send, 200, self.tokens("login"))
        elif path == "/api/auth/login/two-factor":
            self.login_body = json.loads(body)
            if self.login_body.get("code") != "123456":
                await self.json(send, 401, {"code": "invalid_code", "message": "no"})
            else:
                await self.json(send, 200, self.tokens("two-factor"))
        elif path == "/api/auth/refresh":
            self.last_refresh_body = json.loads(body)
            if self.last_refresh_body.get("refresh_token") != "refresh-login":
                await self.json(send, 401, {"code": "invalid_refresh_token", "message": "no"})
            else:
                await self.json(send, 200, self.tokens("refreshed"))
        elif path == "/api/auth/change-password":
            await self.json(send, 200, self.tokens("changed"))
        elif path == "/api/auth/reset-password":
            if json.loads(body).get("token") == "good":
                await self.json(send, 200, {"status": "password_reset"})
            else:
                await self.json(send, 400, {"code": "invalid_token", "message": "no"})
        elif path == "/api/auth/me/password":
            await self.json(send, 200, self.tokens("set"))
        elif path == "/api/auth/oidc/test/callback":
            await self.oidc_callback(send, headers, query)
        elif path == "/api/auth/logout":
            self.last_refresh_body = json.loads(body or b"{}")
            await self.json(send, 200, {"logged_out": True})
        elif path == "/schema/openapi.json":
            await self.json(send, 200, openapi_document())
        else:
            await self.json(
                send,
                200,
                {
                    "method": scope["method"],
                    "path": path,
                    "query": query,
                    "headers": headers,
                    "body_sha256": hashlib.sha256(body).hexdigest(),
                    "body_length": len(body),
                },
                extra=[
                    (b"x-upstream", b"yes"),
                    (b"set-cookie", b"a=1; Path=/"),
                    (b"set-cookie", b"b=2; Path=/"),
                    (b"connection", b"x-upstream-private"),
                    (b"x-upstream-private", b"leak"),
                ],
            )

    async def oidc_callback(
        self, send: Send, headers: dict[str, str], query: dict[str, list[str]]
    ) -> None:
        """Auth's callback: a flow is known by its state and needs the flow cookie."""
        self.oidc_request = {"headers": headers, "query": query}
        state = query.get("state", [""])[0]
        clear = [(b"set-cookie", b"nova_oidc_flow=; Path=/api/auth/oidc; Max-Age=0; HttpOnly")]
        if headers.get("cookie") != "nova_oidc_flow=flow-handle":
            await self.json(send, 400, {"code": "oidc_state_invalid", "message": "no"})
        elif state == "sign-in":
            answer = {"outcome": "created", "next": "/settings", **self.tokens("oidc")}
            await self.json(send, 200, answer, extra=clear)
        elif state == "link":
            await self.json(send, 200, {"outcome": "linked", "next": "/security"}, extra=clear)
        elif state == "two-factor":
            challenge = {"mfa_required": True, "mfa_token": "mfa-oidc", "expires_in": 300}
            answer = {"outcome": "mfa_required", "next": "/settings?tab=a b", **challenge}
            await self.json(send, 200, answer, extra=clear)
        elif state == "elsewhere":
            await self.json(send, 200, {"outcome": "linked", "next": "//evil.example/"})
        else:
            await self.json(send, 400, {"code": "oidc_state_invalid", "message": "no"})

    oidc_request: dict[str, Any] = field(default_factory=dict)

    def tokens(self, kind: str) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": f"refresh-{kind}",
            "token_type": "Bearer",
            "expires_in": 900,
            "refresh_expires_in": 86400,
            "account": {"email": "ada@example.com"},
        }

    access_token: str = ""

    @staticmethod
    async def json(
        send: Send, status: int, content: Any, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        body = json.dumps(content).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *(extra or [])],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "nova-echo", "version": "1"},
        "paths": {
            "/api/echo/things": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Thing"}
                                }
                            }
                        }
                    }
                }
            },
            "/internal/secret": {"get": {"responses": {"200": {}}}},
            "/health": {"get": {"responses": {"200": {}}}},
        },
        "components": {"schemas": {"Thing": {"type": "object"}}},
    }


class HangingUpUpstream:
    """A TCP server that reads each request and closes the connection without an answer,
    counting the requests that reached it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: Counter[str] = Counter()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(65536)
                    if not data:
                        break
                    head += data
                if head:
                    self.requests[head.split(b"\r\n", 1)[0].decode()] += 1

    def __enter__(self) -> HangingUpUpstream:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()


@dataclass
class Stack:
    gateway: str
    upstream: Upstream
    tokens: TokenFactory
    hanging_up: HangingUpUpstream


@pytest.fixture(scope="module")
def stack(redis_url: str) -> Iterator[Stack]:
    tokens = TokenFactory()
    upstream = Upstream(jwks=tokens.jwks())
    upstream.access_token = tokens.mint("user-cookie")
    with ThreadedServer(upstream) as upstream_server, HangingUpUpstream() as hanging_up:
        settings = GatewaySettings(
            environment="test",
            supergraph=str(SUPERGRAPH),
            supergraph_poll_seconds=0,
            redis_url=redis_url,
            jwks_url=f"{upstream_server.url}/.well-known/jwks.json",
            routes={
                "/api/echo": upstream_server.url,
                "/api/auth": upstream_server.url,
                "/api/hangup": hanging_up.url,
            },
            admin_routes={"/admin/data/echo": upstream_server.url},
            anonymous_routes=[
                "GET /api/echo/public/*",
                "GET /api/echo/status/*",
                "POST /api/auth/login",
                "POST /api/auth/login/two-factor",
                "POST /api/auth/refresh",
                "POST /api/auth/logout",
                "POST /api/auth/reset-password",
                "POST /api/auth/forgot-password",
                "GET /api/auth/oidc/*/callback",
                "GET /api/echo/stream",
                "POST /api/echo/upload",
                "GET /api/echo/slow",
                "POST /api/echo/drop",
                "GET /api/echo/gone",
                "GET /api/echo/gzipped",
                "GET /api/echo/big-header",
                "* /api/hangup/*",
            ],
            upstream_read_timeout_seconds=0.5,
            upstream_connect_timeout_seconds=0.5,
            proxy_max_body_bytes=4 * MIB,
            cors_allow_origins=["https://app.example.com"],
            rate_limit_per_client=10_000,
            log_json=False,
        )
        with ThreadedServer(create_app(settings)) as gateway:
            yield Stack(gateway.url, upstream, tokens, hanging_up)


def user_headers(stack: Stack, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.tokens.mint('user-1')}", **extra}


def test_proxy_passes_status_query_headers_and_strips_hop_by_hop(stack: Stack) -> None:
    response = httpx.get(
        f"{stack.gateway}/api/echo/things?x=1&y=two&y=three",
        headers=user_headers(
            stack,
            **{
                "X-Request-ID": "req-123",
                "Connection": "keep-alive, x-private",
                "X-Private": "secret",
                "TE": "trailers",
                "X-Custom": "kept",
                # a client's own chain: dropped, the upstream hears the address seen here
                "X-Forwarded-For": "203.0.113.99",
            },
        ),
    )
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["path"] == "/api/echo/things"
    assert echoed["query"] == {"x": ["1"], "y": ["two", "three"]}
    seen = echoed["headers"]
    assert seen["x-custom"] == "kept"
    assert seen["x-request-id"] == "req-123"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == stack.gateway.removeprefix("http://")
    assert "x-private" not in seen
    assert "te" not in seen
    assert seen["authorization"].startswith("Bearer ")
    assert response.headers["x-upstream"] == "yes"
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert "x-upstream-private" not in response.headers
    assert response.headers["x-request-id"] == "req-123"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_error_statuses_and_bodies_pass_through_unchanged(stack: Stack) -> None:
    response = httpx.get(f"{stack.gateway}/api/echo/status/418")
    assert response.status_code == 418
    assert response.json() == {"code": "teapot", "message": "short and stout"}


def test_several_megabytes_stream_both_ways(stack: Stack) -> None:
    size = 6 * MIB + 123
    with httpx.stream("GET", f"{stack.gateway}/api/echo/stream?size={size}") as response:
        assert response.status_code == 200
        assert response.headers["x-total"] == str(size)
        received = sum(len(chunk) for chunk in response.iter_raw())
    assert received == size

    payload = bytes(range(256)) * (3 * MIB // 256)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 100_000):
            yield payload[start : start + 100_000]

    upload = httpx.post(f"{stack.gateway}/api/echo/upload", content=chunks(), timeout=30)
    assert upload.status_code == 200
    assert upload.json()["body_length"] == len(payload)
    assert upload.json()["body_sha256"] == hashlib.sha256(payload).hexdigest()


def test_bodies_over_the_limit_are_refused_before_any_upstream_call(stack: Stack) -> None:
    before = stack.upstream.calls["/api/echo/upload"]
    response = httpx.post(f"{stack.gateway}/api/echo/upload", content=b"x" * (4 * MIB + 1))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert stack.upstream.calls["/api/echo/upload"] == before


def test_chunked_bodies_are_checked_whole_before_the_upstream_sees_them(stack: Stack) -> None:
    def pieces(total: int) -> Iterator[bytes]:
        for start in range(0, total, 256 * 1024):
            yield b"x" * min(256 * 1024, total - start)

    before = stack.upstream.calls["/api/echo/upload"]
    response = httpx.post(f"{stack.gateway}/api/echo/upload", content=pieces(4 * MIB + 1))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert stack.upstream.calls["/api/echo/upload"] == before

    # Exactly at the limit it goes through, with its length.
    upload = httpx.post(f"{stack.gateway}/api/echo/upload", content=pieces(4 * MIB), timeout=30)
    assert upload.status_code == 200
    assert upload.json()["body_length"] == 4 * MIB
    assert stack.upstream.calls["/api/echo/upload"] == before + 1


def test_a_slow_upstream_is_a_504_at_the_timeout(stack: Stack) -> None:
    started = time.monotonic()
    response = httpx.get(f"{stack.gateway}/api/echo/slow?seconds=3", timeout=10)
    assert response.status_code == 504
    assert response.json()["code"] == "upstream_timeout"
    assert time.monotonic() - started < 2.5


def test_a_failing_post_reaches_the_upstream_exactly_once(stack: Stack) -> None:
    before = stack.upstream.calls["/api/echo/drop"]
    response = httpx.post(f"{stack.gateway}/api/echo/drop", json={"charge": 100})
    # the upstream crashes after reading the request (its server answers 500): relayed as it is
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert stack.upstream.calls["/api/echo/drop"] == before + 1


def test_a_dead_upstream_is_a_fast_502(redis_url: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = GatewaySettings(
        environment="test",
        supergraph=str(SUPERGRAPH),
        supergraph_poll_seconds=0,
        redis_url=redis_url,
        routes={"/api/gone": dead},
        anonymous_routes=["GET /api/gone/*"],
        log_json=False,
    )
    with ThreadedServer(create_app(settings)) as gateway:
        started = time.monotonic()
        response = httpx.get(f"{gateway.url}/api/gone/anything", timeout=10)
        assert response.status_code == 502
        assert response.json()["code"] == "upstream_unreachable"
        assert time.monotonic() - started < 3
        assert httpx.get(f"{gateway.url}/ready").status_code == 200


class BrokenConnector(aiohttp.TCPConnector):
    """A bug on the gateway's side of the exchange: an error that is no upstream failure."""

    calls = 0

    async def _create_connection(self, *_: Any, **__: Any) -> Any:
        self.calls += 1
        raise AttributeError("'NoneType' object has no attribute 'getpeername'")


class ResetConnector(BrokenConnector):
    """An upstream that resets every connection."""

    async def _create_connection(self, *_: Any, **__: Any) -> Any:
        self.calls += 1
        raise ConnectionResetError("connection reset by peer")


async def broken_proxy(connector: BrokenConnector) -> tuple[RestProxy, UpstreamClient]:
    client = UpstreamClient()
    await client.session.close()
    client.session = aiohttp.ClientSession(connector=connector)
    proxy = RestProxy(
        Route("/api/broken", "http://upstream.invalid", connect_timeout=1, read_timeout=1),
        client,
        max_body_bytes=MIB,
        retry_budget=RetryBudget(0.1, 1),
        anonymous=[AnonymousRule.parse("GET /api/broken/*")],
        buffers=BufferBudget(MIB),
    )
    return proxy, client


def asgi_transport(proxy: RestProxy) -> httpx.ASGITransport:
    """An in-process httpx transport to ``proxy``."""
    # litestar types ASGI scopes and messages as TypedDicts, httpx as plain mutable mappings:
    # the same protocol, two incompatible spellings of it.
    return httpx.ASGITransport(app=proxy)  # type: ignore[arg-type]


async def test_a_reset_upstream_connection_is_a_502() -> None:
    reset = ResetConnector()
    proxy, client = await broken_proxy(reset)
    try:
        async with httpx.AsyncClient(
            transport=asgi_transport(proxy), base_url="http://gateway"
        ) as http:
            response = await http.get("/api/broken/x")
    finally:
        await client.close()
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_error"
    assert reset.calls == 1


async def test_an_internal_error_is_a_500_with_the_request_id_and_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = BrokenConnector()
    proxy, client = await broken_proxy(broken)
    token = request_id_var.set("req-internal-1")
    try:
        async with httpx.AsyncClient(
            transport=asgi_transport(proxy), base_url="http://gateway"
        ) as http:
            response = await http.get("/api/broken/x")
    finally:
        request_id_var.reset(token)
        await client.close()
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert response.json()["request_id"] == "req-internal-1"
    assert broken.calls == 1
    logged = [r for r in caplog.records if r.name == "nova_gateway.edge.proxy"]
    assert any(
        r.levelno == logging.ERROR and r.exc_info and r.exc_info[0] is AttributeError
        for r in logged
    ), logged


async def test_chunked_bodies_share_one_memory_budget() -> None:
    client = UpstreamClient()
    await client.session.close()
    broken = ResetConnector()
    client.session = aiohttp.ClientSession(connector=broken)
    buffers = BufferBudget(MIB)
    proxy = RestProxy(
        Route("/api/broken", "http://upstream.invalid", connect_timeout=1, read_timeout=1),
        client,
        max_body_bytes=MIB,
        retry_budget=RetryBudget(0.1, 1),
        anonymous=[AnonymousRule.parse("POST /api/broken/*")],
        buffers=buffers,
    )

    async def pieces(total: int) -> AsyncIterator[bytes]:
        for start in range(0, total, 64 * 1024):
            yield b"x" * min(64 * 1024, total - start)

    try:
        async with httpx.AsyncClient(
            transport=asgi_transport(proxy), base_url="http://gateway"
        ) as http:
            # Another request's body, still being buffered, holds three quarters of the budget.
            assert buffers.take(768 * 1024)
            refused = await http.post("/api/broken/upload", content=pieces(512 * 1024))
            assert refused.status_code == 503
            assert refused.json()["code"] == "gateway_busy"
            assert refused.headers["retry-after"] == "1"
            assert broken.calls == 0
            assert buffers.used == 768 * 1024  # nothing of the refused body is kept

            buffers.give_back(768 * 1024)
            sent = await http.post("/api/broken/upload", content=pieces(512 * 1024))
            assert sent.status_code == 502  # it went upstream, whose connection then broke
            assert broken.calls == 1
            assert buffers.used == 0  # given back once the body was sent

            too_large = await http.post("/api/broken/upload", content=pieces(MIB + 1))
            assert too_large.status_code == 413
            assert buffers.used == 0
    finally:
        await client.close()
    assert broken.calls == 1


def test_the_buffer_budget_holds_at_least_one_body() -> None:
    with pytest.raises(ValidationError, match="PROXY_BUFFER_TOTAL_BYTES must be at least"):
        GatewaySettings(proxy_max_body_bytes=8 * MIB, proxy_buffer_total_bytes=4 * MIB)


def test_compressed_bodies_pass_through_byte_for_byte(stack: Stack) -> None:
    with httpx.stream(
        "GET", f"{stack.gateway}/api/echo/gzipped", headers={"Accept-Encoding": "gzip"}
    ) as response:
        raw = b"".join(response.iter_raw())
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-length"] == str(len(GZIPPED))
    assert raw == GZIPPED


def test_the_proxy_adds_no_request_headers_of_its_own(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway) as bare:
        for name in ("accept", "accept-encoding", "user-agent"):
            del bare.headers[name]
        echoed = bare.post("/api/echo/upload", content=b"plain bytes").json()
    seen = echoed["headers"]
    for name in ("accept", "accept-encoding", "user-agent", "content-type"):
        assert name not in seen, name
    assert seen["content-length"] == str(len(b"plain bytes"))
    assert echoed["body_length"] == len(b"plain bytes")

    sent = {"Accept": "application/json", "Accept-Encoding": "br", "User-Agent": "nova-test/1"}
    seen = httpx.get(f"{stack.gateway}/api/echo/public/x", headers=sent).json()["headers"]
    assert seen["accept"] == "application/json"
    assert seen["accept-encoding"] == "br"
    assert seen["user-agent"] == "nova-test/1"


def test_large_upstream_headers_pass_up_to_the_head_limit(stack: Stack) -> None:
    # 40 KiB in one header line is over aiohttp's default limit (8 KiB), not over the proxy's.
    big = httpx.get(f"{stack.gateway}/api/echo/big-header?size={40 * 1024}")
    assert big.status_code == 200
    assert big.headers["x-big"] == "v" * 40 * 1024
    too_big = httpx.get(f"{stack.gateway}/api/echo/big-header?size={101 * 1024}")
    assert too_big.status_code == 502
    assert too_big.json()["code"] == "upstream_error"


def test_the_upstream_call_continues_the_callers_trace(stack: Stack) -> None:
    trace_id, caller = os.urandom(16).hex(), os.urandom(8).hex()
    # http.client: this process's httpx is instrumented and would send its own traceparent.
    connection = http.client.HTTPConnection(stack.gateway.removeprefix("http://"), timeout=10)
    try:
        connection.request(
            "GET", "/api/echo/public/x", headers={"traceparent": f"00-{trace_id}-{caller}-01"}
        )
        seen = json.loads(connection.getresponse().read())["headers"]
    finally:
        connection.close()
    version, seen_trace, parent, flags = seen["traceparent"].split("-")
    assert (version, seen_trace, flags) == ("00", trace_id, "01")
    assert parent != caller, "the gateway's CLIENT span is the upstream's parent"


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT", "POST"])
def test_a_request_whose_connection_breaks_is_sent_once(stack: Stack, method: str) -> None:
    line = f"{method} /api/hangup/{method.lower()} HTTP/1.1"
    response = httpx.request(method, f"{stack.gateway}/api/hangup/{method.lower()}", timeout=10)
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_error"
    assert stack.hanging_up.requests[line] == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/echo/internal/accounts",
        "/api/echo/public/..%2F..%2Finternal",
        "/api/echo/public/%2e%2e/%2e%2e/internal/x",
    ],
)
def test_internal_and_traversing_paths_are_never_routed(stack: Stack, path: str) -> None:
    def proxied() -> int:
        return sum(n for p, n in stack.upstream.calls.items() if p.startswith("/api/"))

    before = proxied()
    response = httpx.get(f"{stack.gateway}{path}", headers=user_headers(stack))
    assert response.status_code == 404
    assert proxied() == before


def test_token_attacks_are_401_at_the_edge_with_no_upstream_call(stack: Stack) -> None:
    forged = [
        stack.tokens.mint("u", lifetime=-60, iat=0),
        stack.tokens.mint("u", aud="elsewhere"),
        stack.tokens.mint("u", headers={"typ": "JWT"}),
        TokenFactory(kid=stack.tokens.kid).mint("u"),
        # A valid service-account token: for calls inside the cluster, never the public edge.
        stack.tokens.mint("nova-worker", kind="service", roles=["service"]),
        "not.a.token",
    ]
    before = stack.upstream.calls["/api/echo/things"]
    for token in forged:
        response = httpx.get(
            f"{stack.gateway}/api/echo/things", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["code"] == "invalid_token"
    anonymous = httpx.get(f"{stack.gateway}/api/echo/things")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    assert stack.upstream.calls["/api/echo/things"] == before
    assert httpx.get(f"{stack.gateway}/api/echo/public/x").status_code == 200


def test_admin_routes_let_administrators_through_and_nobody_else(stack: Stack) -> None:
    path = "/admin/data/echo/account/list"
    admin = {"Authorization": f"Bearer {stack.tokens.mint('root', roles=['user', 'admin'])}"}
    before = stack.upstream.calls[path]
    refusals = [
        ({}, 401, "unauthenticated"),
        (user_headers(stack), 403, "admin_required"),
        ({"Authorization": "Bearer not.a.token"}, 401, "invalid_token"),
    ]
    for headers, status, code in refusals:
        for method in ("GET", "POST"):
            refused = httpx.request(method, f"{stack.gateway}{path}", headers=headers)
            assert (refused.status_code, refused.json()["code"]) == (status, code)
    page = httpx.get(
        f"{stack.gateway}{path}", headers={**user_headers(stack), "Accept": "text/html"}
    )
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "Administrators only" in page.text
    signed_out = httpx.get(f"{stack.gateway}{path}", headers={"Accept": "text/html"})
    assert signed_out.status_code == 401
    assert 'href="/login"' in signed_out.text
    assert stack.upstream.calls[path] == before  # no refused request reached the service

    through = httpx.get(f"{stack.gateway}{path}?q=ada", headers=admin)
    assert through.status_code == 200
    assert through.json()["path"] == path  # the service's own mount path: its links stay right
    assert through.json()["headers"]["x-forwarded-host"] == stack.gateway.split("://", 1)[1]
    assert stack.upstream.calls[path] == before + 1


def test_an_admin_session_cookie_opens_the_admin_under_the_csrf_rules(stack: Stack) -> None:
    path = "/admin/data/echo/_api/account/row-action"
    token = stack.tokens.mint("root", roles=["user", "admin"])
    with httpx.Client(base_url=stack.gateway, cookies={"nova_at": token}) as browser:
        page = browser.get("/admin/data/echo/account/list")
        assert page.status_code == 200
        assert page.json()["headers"]["authorization"] == f"Bearer {token}"
        forged = browser.post(path, headers={"Origin": "https://evil.example"})
        assert (forged.status_code, forged.json()["code"]) == (403, "csrf_rejected")
        plain_form = browser.post(path, data={"a": "b"})
        assert (plain_form.status_code, plain_form.json()["code"]) == (403, "csrf_rejected")
        action = browser.post(path, headers={"X-Nova-CSRF": "1"})
        assert action.status_code == 200
        assert action.json()["method"] == "POST"
    user = stack.tokens.mint("user-1")
    with httpx.Client(base_url=stack.gateway, cookies={"nova_at": user}) as browser:
        assert browser.get("/admin/data/echo/account/list").status_code == 403


def test_admin_routes_must_not_hide_under_rest_routes() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(environment="test", admin_routes={"/api/users/admin": "http://x"})
    assert GatewaySettings(environment="test", admin_routes={}).admin_routes == {}


def test_cors_preflight_is_allowed_for_listed_origins_only(stack: Stack) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = httpx.options(
        f"{stack.gateway}/graphql", headers={"Origin": "https://app.example.com", **preflight}
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    refused = httpx.options(
        f"{stack.gateway}/graphql", headers={"Origin": "https://evil.example", **preflight}
    )
    assert refused.status_code >= 400
    assert "access-control-allow-origin" not in refused.headers


def test_cookie_sessions_keep_tokens_out_of_javascript(stack: Stack) -> None:
    session = {"X-Nova-Session": "cookie", "X-Nova-CSRF": "1"}
    with httpx.Client(base_url=stack.gateway) as browser:
        login = browser.post(
            "/api/auth/login", json={"email": "ada@example.com", "password": "pw"}, headers=session
        )
        assert login.status_code == 200
        body = login.json()
        assert "access_token" not in body
        assert "refresh_token" not in body
        assert body["expires_in"] == 900
        cookies = login.headers.get_list("set-cookie")
        access = next(c for c in cookies if c.startswith("nova_at="))
        refresh = next(c for c in cookies if c.startswith("nova_rt="))
        for cookie in (access, refresh):
            assert "HttpOnly" in cookie
            assert "SameSite=Lax" in cookie
        assert "Path=/api/auth" in refresh
        assert stack.upstream.login_body == {"email": "ada@example.com", "password": "pw"}

        # the cookie alone authenticates REST calls: upstream sees a Bearer header
        me = browser.get("/api/echo/things")
        assert me.status_code == 200
        assert me.json()["headers"]["authorization"] == f"Bearer {stack.upstream.access_token}"
        assert "cookie" in me.json()["headers"]

        # state-changing cookie requests must be JSON or carry the CSRF header
        form = browser.post("/api/echo/upload", data={"a": "b"})
        assert form.status_code == 403
        assert form.json()["code"] == "csrf_rejected"
        text = browser.post(
            "/api/echo/upload", content=b"x", headers={"Content-Type": "text/plain"}
        )
        assert text.status_code == 403
        cross = browser.post(
            "/api/echo/upload",
            json={"a": 1},
            headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        # no Fetch Metadata (an older browser): a foreign Origin alone is refused too
        for site in ({}, {"Sec-Fetch-Site": "same-site"}):
            foreign = browser.post(
                "/api/echo/upload",
                json={"a": 1},
                headers={"Origin": "https://evil.example", **site},
            )
            assert foreign.status_code == 403, site
            assert foreign.json()["code"] == "csrf_rejected"
        own = stack.gateway.removeprefix("http://")
        for headers in (
            {"Origin": f"http://{own}"},
            {"Origin": "http://app.local:3000", "X-Forwarded-Host": "app.local:3000"},
            {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},
        ):
            assert (
                browser.post("/api/echo/upload", json={"a": 1}, headers=headers).status_code == 200
            )
        assert browser.post("/api/echo/upload", json={"a": 1}).status_code == 200

        # a password change's new tokens go into the cookies too, even without the session header
        changed = browser.post(
            "/api/auth/change-password", json={"current_password": "pw", "new_password": "pw2"}
        )
        assert changed.status_code == 200
        assert "access_token" not in changed.json()
        assert "refresh_token" not in changed.json()
        assert any(
            c.startswith("nova_rt=refresh-changed") for c in changed.headers.get_list("set-cookie")
        )
        browser.cookies.set("nova_rt", "refresh-login", path="/api/auth")

        # refresh takes the refresh token from its cookie
        refreshed = browser.post("/api/auth/refresh", headers=session)
        assert refreshed.status_code == 200
        assert stack.upstream.last_refresh_body == {"refresh_token": "refresh-login"}
        assert "access_token" not in refreshed.json()

        logout = browser.post("/api/auth/logout", headers=session)
        assert logout.status_code == 200
        cleared = logout.headers.get_list("set-cookie")
        assert any(c.startswith("nova_at=;") and "Max-Age=0" in c for c in cleared)
        assert any(c.startswith("nova_rt=;") and "Max-Age=0" in c for c in cleared)
        assert browser.get("/api/echo/things").status_code == 401


def test_a_password_reset_clears_the_browsers_session_cookies(stack: Stack) -> None:
    """The reset ended every session of the account: a cookie session's cookies go too."""
    # the mailed-token steps are for people who cannot sign in: anonymous at the edge
    for route in ("verify-email", "forgot-password", "reset-password"):
        assert f"POST /api/auth/{route}" in DEFAULT_ANONYMOUS
    session = {"X-Nova-Session": "cookie", "X-Nova-CSRF": "1"}
    with httpx.Client(base_url=stack.gateway) as browser:
        # anonymous, no cookies: proxied as it is
        plain = browser.post("/api/auth/reset-password", json={"token": "good", "password": "p"})
        assert plain.status_code == 200
        assert plain.json() == {"status": "password_reset"}
        assert not plain.headers.get_list("set-cookie")

        login = browser.post(
            "/api/auth/login", json={"email": "ada@example.com", "password": "pw"}, headers=session
        )
        assert login.status_code == 200
        refused = browser.post("/api/auth/reset-password", json={"token": "bad", "password": "p"})
        assert refused.status_code == 400
        assert refused.json()["code"] == "invalid_token"
        assert not refused.headers.get_list("set-cookie")  # nothing ended: the session stays

        # a stale (here: forged) access cookie does not stand in the way of the mailed link
        browser.cookies.set("nova_at", "not-a-valid-token", path="/")
        asked = browser.post("/api/auth/forgot-password", json={"email": "ada@example.com"})
        assert asked.status_code == 200, asked.text
        assert "authorization" not in asked.json()["headers"]
        done = browser.post("/api/auth/reset-password", json={"token": "good", "password": "p"})
        assert done.status_code == 200
        assert done.json() == {"status": "password_reset"}
        cleared = done.headers.get_list("set-cookie")
        assert any(c.startswith("nova_at=;") and "Max-Age=0" in c for c in cleared)
        assert any(c.startswith("nova_rt=;") and "Max-Age=0" in c for c in cleared)
        assert browser.get("/api/echo/things").status_code == 401


def test_a_two_factor_sign_in_sets_the_cookies_at_its_second_step(stack: Stack) -> None:
    session = {"X-Nova-Session": "cookie", "X-Nova-CSRF": "1"}
    with httpx.Client(base_url=stack.gateway) as browser:
        # The password step answers a challenge: passed through as is, no cookie set.
        first = browser.post(
            "/api/auth/login",
            json={"email": "two-factor@example.com", "password": "pw"},
            headers=session,
        )
        assert first.status_code == 200
        assert first.json() == {
            "mfa_required": True,
            "mfa_token": "mfa-1",
            "expires_in": 300,
            "methods": ["totp", "recovery_code"],
        }
        assert first.headers.get_list("set-cookie") == []
        # A wrong code is auth's answer, untouched, and still no cookie.
        wrong = browser.post(
            "/api/auth/login/two-factor",
            json={"mfa_token": "mfa-1", "code": "000000"},
            headers=session,
        )
        assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_code")
        assert wrong.headers.get_list("set-cookie") == []
        # Anonymous at the edge, even with a stale access cookie in the jar.
        browser.cookies.set("nova_at", "stale")
        second = browser.post(
            "/api/auth/login/two-factor",
            json={"mfa_token": "mfa-1", "code": "123456"},
            headers=session,
        )
        assert second.status_code == 200, second.text
        assert stack.upstream.login_body == {"mfa_token": "mfa-1", "code": "123456"}
        body = second.json()
        assert "access_token" not in body
        assert "refresh_token" not in body
        assert body["session"] == "cookie"
        cookies = second.headers.get_list("set-cookie")
        access = next(c for c in cookies if c.startswith("nova_at="))
        refresh = next(c for c in cookies if c.startswith("nova_rt=refresh-two-factor"))
        for cookie in (access, refresh):
            assert "HttpOnly" in cookie
            assert "SameSite=Lax" in cookie
        assert "Path=/api/auth" in refresh
        browser.cookies.clear()
        browser.cookies.set("nova_at", stack.upstream.access_token)
        me = browser.get("/api/echo/things")
        assert me.json()["headers"]["authorization"] == f"Bearer {stack.upstream.access_token}"
    # Without the session header the tokens stay in the body (a non-browser client).
    plain = httpx.post(
        f"{stack.gateway}/api/auth/login/two-factor", json={"mfa_token": "mfa-1", "code": "123456"}
    )
    assert plain.json()["refresh_token"] == "refresh-two-factor"


def test_a_provider_callback_becomes_session_cookies_and_a_redirect(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway, follow_redirects=False) as browser:
        browser.cookies.set("nova_oidc_flow", "flow-handle", path="/api/auth/oidc")
        # A stale access cookie neither blocks the callback nor reaches auth.
        browser.cookies.set("nova_at", "expired-garbage", path="/")
        signed = browser.get("/api/auth/oidc/test/callback?code=the-code&state=sign-in&iss=x")
        assert signed.status_code == 302, signed.text
        assert signed.headers["location"] == "/settings"
        assert signed.headers["cache-control"] == "no-store"
        assert signed.content == b""
        cookies = signed.headers.get_list("set-cookie")
        access = next(c for c in cookies if c.startswith("nova_at="))
        refresh = next(c for c in cookies if c.startswith("nova_rt="))
        assert access.startswith(f"nova_at={stack.upstream.access_token};")
        assert refresh.startswith("nova_rt=refresh-oidc;")
        assert "Path=/api/auth" in refresh
        assert all("HttpOnly" in c and "SameSite=Lax" in c for c in (access, refresh))
        assert any(c.startswith("nova_oidc_flow=;") and "Max-Age=0" in c for c in cookies)
        seen = stack.upstream.oidc_request
        assert seen["query"] == {"code": ["the-code"], "state": ["sign-in"], "iss": ["x"]}
        assert seen["headers"]["cookie"] == "nova_oidc_flow=flow-handle"
        assert "authorization" not in seen["headers"]

        # the new session works at once
        assert browser.get("/api/echo/things").status_code == 200

        linked = browser.get("/api/auth/oidc/test/callback?code=c&state=link")
        assert linked.status_code == 302
        assert linked.headers["location"] == "/security"
        assert not any(c.startswith("nova_at=") for c in linked.headers.get_list("set-cookie"))

        # auth checks next; the gateway never redirects off the site whatever it is told
        elsewhere = browser.get("/api/auth/oidc/test/callback?code=c&state=elsewhere")
        assert elsewhere.headers["location"] == "/"

        # A refusal goes to the site's page with auth's code, not as JSON in the window.
        refused = browser.get("/api/auth/oidc/test/callback?code=c&state=forged")
        assert refused.status_code == 302
        assert refused.headers["location"] == "/login?error=oidc_state_invalid"
        assert not any(c.startswith("nova_") for c in refused.headers.get_list("set-cookie"))

        browser.cookies.delete("nova_oidc_flow", path="/api/auth/oidc")
        no_cookie = browser.get("/api/auth/oidc/test/callback?code=c&state=sign-in")
        assert no_cookie.headers["location"] == "/login?error=oidc_state_invalid"


def test_a_provider_sign_in_with_two_factor_goes_to_the_second_step(stack: Stack) -> None:
    """The callback of an account with two-factor sign-in opens no session: the challenge waits
    in a short-lived cookie only the second step receives, and the browser goes to that step."""
    with httpx.Client(base_url=stack.gateway, follow_redirects=False) as browser:
        browser.cookies.set("nova_oidc_flow", "flow-handle", path="/api/auth/oidc")
        answer = browser.get("/api/auth/oidc/test/callback?code=c&state=two-factor")
        assert answer.status_code == 302, answer.text
        assert answer.headers["location"] == "/login?step=two-factor&next=%2Fsettings%3Ftab%3Da+b"
        cookies = answer.headers.get_list("set-cookie")
        assert not any(c.startswith(("nova_at=", "nova_rt=")) for c in cookies)
        held = next(c for c in cookies if c.startswith("nova_mfa="))
        assert held.startswith("nova_mfa=mfa-oidc;")
        assert "Path=/api/auth/login/two-factor" in held
        assert "Max-Age=300" in held
        assert "HttpOnly" in held
        assert "SameSite=Strict" in held
        assert "mfa-oidc" not in answer.headers["location"]
        session = {"X-Nova-Session": "cookie"}

        wrong = browser.post("/api/auth/login/two-factor", json={"code": "000000"}, headers=session)
        assert wrong.status_code == 401
        assert stack.upstream.login_body == {"code": "000000", "mfa_token": "mfa-oidc"}
        # a wrong code keeps the challenge (the person retypes)
        assert not any(c.startswith("nova_mfa=") for c in wrong.headers.get_list("set-cookie"))

        signed = browser.post(
            "/api/auth/login/two-factor", json={"code": "123456"}, headers=session
        )
        assert signed.status_code == 200, signed.text
        assert "access_token" not in signed.json()
        assert stack.upstream.login_body == {"code": "123456", "mfa_token": "mfa-oidc"}
        cookies = signed.headers.get_list("set-cookie")
        assert any(c.startswith(f"nova_at={stack.upstream.access_token};") for c in cookies)
        cleared = next(c for c in cookies if c.startswith("nova_mfa="))
        assert cleared.startswith("nova_mfa=;")
        assert "Max-Age=0" in cleared

        # A token in the body wins over the cookie (a password sign-in's own challenge).
        browser.cookies.set("nova_mfa", "mfa-oidc", path="/api/auth/login/two-factor")
        browser.post(
            "/api/auth/login/two-factor",
            json={"mfa_token": "mfa-1", "code": "123456"},
            headers=session,
        )
        assert stack.upstream.login_body == {"mfa_token": "mfa-1", "code": "123456"}

        # A password sign-in's second step, no challenge cookie held: none is cleared either.
        browser.cookies.clear()
        plain = browser.post(
            "/api/auth/login/two-factor",
            json={"mfa_token": "mfa-1", "code": "123456"},
            headers=session,
        )
        assert plain.status_code == 200, plain.text
        assert not any(c.startswith("nova_mfa=") for c in plain.headers.get_list("set-cookie"))


def test_a_first_password_set_through_a_cookie_session_stays_in_cookies(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway) as browser:
        browser.cookies.set("nova_at", stack.upstream.access_token, path="/")
        answer = browser.post("/api/auth/me/password", json={"new_password": "a long secret"})
        assert answer.status_code == 200
        assert "access_token" not in answer.json()
        assert "refresh_token" not in answer.json()
        assert any(
            c.startswith("nova_rt=refresh-set") for c in answer.headers.get_list("set-cookie")
        )


def test_the_merged_openapi_document_lists_routed_paths_only(stack: Stack) -> None:
    document = httpx.get(f"{stack.gateway}/api/openapi.json").json()
    assert "/api/echo/things" in document["paths"]
    assert not [p for p in document["paths"] if "internal" in p or p == "/health"]
    assert "EchoThing" in document["components"]["schemas"]
    ref = document["paths"]["/api/echo/things"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]
    assert ref["schema"]["$ref"] == "#/components/schemas/EchoThing"
    assert httpx.get(f"{stack.gateway}/api/docs").headers["content-type"].startswith("text/html")


def test_merging_keeps_same_named_schemas_of_two_services_apart() -> None:
    one = {
        "paths": {"/api/a/x": {"get": {"responses": {}}}},
        "components": {"schemas": {"Error": {"title": "A"}}},
    }
    two = {
        "paths": {"/api/b/y": {"get": {"responses": {}}}},
        "components": {"schemas": {"Error": {"title": "B"}}},
    }
    merged = merge_documents({"/api/a": one, "/api/b": two}, "t", "1")
    assert merged["components"]["schemas"] == {"AError": {"title": "A"}, "BError": {"title": "B"}}
    assert merged["paths"]["/api/a/x"]["get"]["tags"] == ["a"]


def limited_gateway(redis_url: str, **overrides: Any) -> GatewaySettings:
    """Settings of a gateway limiting by client (an empty Redis: fresh budgets)."""
    redis.Redis.from_url(redis_url).flushdb()
    return GatewaySettings(
        environment="test",
        supergraph=str(SUPERGRAPH),
        supergraph_poll_seconds=0,
        redis_url=redis_url,
        log_json=False,
        **overrides,
    )


def test_rate_limits_answer_429_with_retry_after(redis_url: str) -> None:
    # Windows are aligned to the clock: an hour-long one keeps the requests inside one window.
    settings = limited_gateway(redis_url, rate_limit_per_client=5, rate_limit_window_seconds=3600)
    with ThreadedServer(create_app(settings)) as gateway:
        statuses = [httpx.get(f"{gateway.url}/api/openapi.json").status_code for _ in range(8)]
        assert statuses[:5] == [200] * 5
        limited = httpx.get(f"{gateway.url}/api/openapi.json")
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 3600
        assert limited.json()["code"] == "rate_limited"
        assert httpx.get(f"{gateway.url}/health").status_code == 200


def test_a_new_x_forwarded_for_per_request_buys_no_new_budget(redis_url: str) -> None:
    settings = limited_gateway(redis_url, rate_limit_per_client=50, rate_limit_window_seconds=3600)
    with ThreadedServer(create_app(settings)) as gateway, httpx.Client() as client:
        spoofed = [
            client.get(
                f"{gateway.url}/api/openapi.json",
                headers={"X-Forwarded-For": f"198.51.{i // 250}.{i % 250}"},
            ).status_code
            for i in range(200)
        ]
    settings = limited_gateway(redis_url, rate_limit_per_client=50, rate_limit_window_seconds=3600)
    with ThreadedServer(create_app(settings)) as gateway, httpx.Client() as client:
        plain = [client.get(f"{gateway.url}/api/openapi.json").status_code for _ in range(200)]
    assert spoofed == plain == [200] * 50 + [429] * 150


async def test_leased_budgets_never_admit_past_the_limit_across_replicas(
    redis_client: Any,
) -> None:
    # Two replicas spend one client's budget of 1,000 (leases of 10 units) concurrently.
    limiter = RateLimiter(
        redis_client, prefix="nova:test:lease", name="lease-test", window_seconds=3600
    )
    one, two = Leases(limiter), Leases(limiter)
    limit = Limit("ip", "203.0.113.9", 1000)
    assert lease_size(limit.limit) == 10
    outcomes = await asyncio.gather(
        *(replica.spend(limit) for _ in range(700) for replica in (one, two))
    )
    admitted = sum(outcome is None for outcome in outcomes)
    # never more than the limit; at most a lease per replica left unspent on the other one
    assert 1000 - 2 * lease_size(limit.limit) <= admitted <= 1000
    refused = [outcome for outcome in outcomes if outcome is not None]
    assert refused
    assert all(not d.allowed and d.retry_after_seconds >= 1 for d in refused)
    # a refusal is kept: the next request is refused without a charge in Redis
    [counter] = [key async for key in redis_client.scan_iter("nova:test:lease:*")]
    charged = await redis_client.get(counter)
    assert int(charged) == 1000
    assert (await one.spend(limit)) is not None
    assert await redis_client.get(counter) == charged
    # a small limit is charged request by request: exact on every replica
    small = Limit("ip", "203.0.113.10", 7)
    spent = [await replica.spend(small) for replica in (one, two) * 5]
    assert [d is None for d in spent] == [True] * 7 + [False] * 3


@pytest.mark.parametrize("fail_open", [True, False])
async def test_leases_keep_the_limiters_policy_when_redis_is_down(fail_open: bool) -> None:
    unreachable = create_redis(f"redis://127.0.0.1:{free_port()}/0")
    limiter = RateLimiter(
        unreachable,
        prefix="nova:test:down",
        name="lease-test",
        window_seconds=60,
        fail_open=fail_open,
        timeout_seconds=0.2,
    )
    leases = Leases(limiter)
    limit = Limit("ip", "203.0.113.11", 100_000)
    outcomes = await asyncio.gather(
        *(leases.spend(limit) for _ in range(5)), return_exceptions=True
    )
    if fail_open:
        assert outcomes == [None] * 5
    else:
        # every concurrent request of the client is refused, none waved through by another's
        assert all(isinstance(outcome, RateLimitUnavailableError) for outcome in outcomes)
    await unreachable.aclose()


async def test_leases_are_bounded_and_end_with_their_window(redis_client: Any) -> None:
    limiter = RateLimiter(
        redis_client, prefix="nova:test:lease2", name="lease-test", window_seconds=3600
    )
    leases = Leases(limiter, max_leases=8)
    for i in range(20):
        assert await leases.spend(Limit("ip", f"198.51.100.{i}", 5000)) is None
    assert len(leases) <= 8


def test_path_rules() -> None:
    assert safe_path("/api/users/123") == "/api/users/123"
    for unsafe in (
        "/api/users/../internal",
        "/api/users/%2e%2e/x",
        "/api/a%2Fb",
        "/api//x",
        "/api/internal/x",
    ):
        assert safe_path(unsafe) is None, unsafe
    rule = AnonymousRule.parse("GET /api/users/*")
    assert rule.matches("GET", "/api/users/42")
    assert not rule.matches("GET", "/api/users")
    assert not rule.matches("POST", "/api/users/42")
    assert not rule.matches("GET", "/api/users/42/restore")


def test_the_retry_budget_caps_retries() -> None:
    budget = RetryBudget(ratio=0.1, min_per_second=0.5, window_seconds=10)
    for _ in range(100):
        budget.record_request()
    spent = sum(budget.try_spend() for _ in range(50))
    assert spent == 10


def test_metrics_are_served_on_their_own_port_only() -> None:
    metrics_port = free_port()
    settings = GatewaySettings(
        environment="test",
        supergraph=str(SUPERGRAPH),
        supergraph_poll_seconds=0,
        metrics_port=metrics_port,
        log_json=False,
    )
    with ThreadedServer(create_app(settings)) as gateway:
        assert httpx.get(f"{gateway.url}/health").status_code == 200
        public = httpx.get(f"{gateway.url}/metrics")
        assert public.status_code == 404
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped.status_code == 200
        assert "http_server_requests_total" in scraped.text
