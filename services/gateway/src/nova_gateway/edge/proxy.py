"""The REST proxy: ``/api/<service>/*`` → the service, streaming both ways.

Per route: connect/read timeouts, hop-by-hop headers stripped, ``X-Forwarded-*`` set, the request
id and trace context propagated. Idempotent requests (GET/HEAD/OPTIONS) whose upstream could not
be *reached* are retried once, within a retry budget; nothing else is ever retried, so a POST
reaches the upstream at most once. An upstream that is down or slow turns into a JSON 502/503/504
within its timeout, never a hang.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import cast
from urllib.parse import unquote

import httpx
from litestar.types import Receive, Scope, Send

from nova_gateway.edge.metrics import (
    EDGE_REJECTIONS,
    UPSTREAM_DURATION,
    UPSTREAM_FAILURES,
    UPSTREAM_RETRIES,
)
from nova_gateway.edge.responses import send_json_error
from nova_kit.metrics import status_class
from nova_kit.security import CLAIMS_STATE_KEY
from nova_kit.tracing import name_server_span

logger = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Headers the edge sets itself or that must not reach an upstream from a client.
REPLACED_REQUEST_HEADERS = frozenset(
    {"host", "content-length", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}
)
RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_UNSAFE_PATH = re.compile(r"(^|/)\.\.?(/|$)|//")


class BodyTooLargeError(Exception):
    pass


class ClientDisconnectedError(Exception):
    pass


def connection_listed(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names a ``Connection`` header declares hop-by-hop."""
    listed: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            listed.update(token.strip().lower() for token in value.split(",") if token.strip())
    return listed


def end_to_end(
    headers: Iterable[tuple[str, str]], also_drop: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    items = list(headers)
    drop = HOP_BY_HOP | also_drop | connection_listed(items)
    return [(name, value) for name, value in items if name.lower() not in drop]


def safe_path(raw_path: str) -> str | None:
    """The decoded path if it is safe to forward, else ``None`` (traversal, ``/internal``)."""
    decoded = unquote(raw_path)
    if "\\" in decoded or "\x00" in decoded or _UNSAFE_PATH.search(decoded):
        return None
    if "%2f" in raw_path.lower() or "%5c" in raw_path.lower():
        return None
    segments = [segment for segment in decoded.split("/") if segment]
    if "internal" in segments:
        return None
    return raw_path


@dataclass(frozen=True, slots=True)
class AnonymousRule:
    method: str
    segments: tuple[str, ...]

    @classmethod
    def parse(cls, rule: str) -> AnonymousRule:
        method, _, path = rule.strip().partition(" ")
        if not path.startswith("/"):
            raise ValueError(f"anonymous route {rule!r} must read 'METHOD /path'")
        return cls(method.upper(), tuple(segment for segment in path.split("/") if segment))

    def matches(self, method: str, path: str) -> bool:
        if self.method not in (method, "*"):
            return False
        segments = [segment for segment in path.split("?", 1)[0].split("/") if segment]
        if len(segments) != len(self.segments):
            return False
        return all(
            rule in ("*", actual) for rule, actual in zip(self.segments, segments, strict=True)
        )


class RetryBudget:
    """Retries allowed: ``ratio`` of recent requests, but at least ``min_per_second``."""

    def __init__(self, ratio: float, min_per_second: float, window_seconds: float = 10.0) -> None:
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.window = window_seconds
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()

    def _trim(self, now: float) -> None:
        for queue in (self._requests, self._retries):
            while queue and now - queue[0] > self.window:
                queue.popleft()

    def record_request(self) -> None:
        now = time.monotonic()
        self._trim(now)
        self._requests.append(now)

    def try_spend(self) -> bool:
        now = time.monotonic()
        self._trim(now)
        allowed = max(self.min_per_second * self.window, self.ratio * len(self._requests))
        if len(self._retries) < allowed:
            self._retries.append(now)
            return True
        return False


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    upstream: str
    connect_timeout: float
    read_timeout: float


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def forwarded_headers(scope: Scope, incoming: list[tuple[str, str]]) -> list[tuple[str, str]]:
    previous = [value for name, value in incoming if name.lower() == "x-forwarded-for"]
    chain = ", ".join([*previous, client_address(scope)])
    host = next((value for name, value in incoming if name.lower() == "host"), "")
    headers = [("x-forwarded-for", chain), ("x-forwarded-proto", str(scope.get("scheme", "http")))]
    if host:
        headers.append(("x-forwarded-host", host))
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        headers = [*headers, ("x-request-id", str(request_id))]
    return headers


async def request_body(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnectedError
        chunk = cast("bytes", message.get("body", b""))
        received += len(chunk)
        if received > limit:
            raise BodyTooLargeError
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


@dataclass(frozen=True, slots=True)
class UpstreamFailure:
    """How an upstream exchange that produced no response is reported to the client."""

    status: int
    code: str
    reason: str
    message: str

    @classmethod
    def of(cls, error: Exception) -> UpstreamFailure:
        if isinstance(error, BodyTooLargeError):
            return cls(413, "payload_too_large", "body_too_large", "request body too large")
        if isinstance(error, httpx.ConnectError):
            return cls(502, "upstream_unreachable", "unreachable", "is unreachable")
        if isinstance(error, httpx.PoolTimeout):
            return cls(503, "upstream_busy", "busy", "has too many requests in flight")
        if isinstance(error, httpx.TimeoutException):
            return cls(504, "upstream_timeout", "timeout", "did not answer in time")
        return cls(502, "upstream_error", "protocol", "failed to answer")


async def send_upstream_error(send: Send, label: str, failure: UpstreamFailure) -> None:
    UPSTREAM_FAILURES.labels(label, failure.reason).inc()
    if failure.reason == "protocol":
        logger.warning("upstream exchange failed", extra={"upstream": label})
    await send_json_error(send, failure.status, failure.code, f"{label} {failure.message}")


class RestProxy:
    """An ASGI app forwarding one route prefix to its upstream."""

    def __init__(
        self,
        route: Route,
        client: httpx.AsyncClient,
        *,
        max_body_bytes: int,
        retry_budget: RetryBudget,
        anonymous: list[AnonymousRule],
    ) -> None:
        self.route = route
        self.client = client
        self.max_body_bytes = max_body_bytes
        self.retry_budget = retry_budget
        self.anonymous = anonymous

    def allows_anonymous(self, method: str, path: str) -> bool:
        return any(rule.matches(method, path) for rule in self.anonymous)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = str(scope.get("method", "GET"))
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        template = f"{self.route.prefix}/*"
        scope["path_template"] = template
        name_server_span(method, template)
        path = safe_path(raw_path)
        if path is None:
            EDGE_REJECTIONS.labels("unsafe_path").inc()
            await send_json_error(send, 404, "not_found", "no such route")
            return
        state = scope.get("state", {})
        if state.get(CLAIMS_STATE_KEY) is None and not self.allows_anonymous(method, path):
            EDGE_REJECTIONS.labels("unauthenticated").inc()
            await send_json_error(
                send,
                401,
                "unauthenticated",
                "authentication required",
                headers=[("www-authenticate", 'Bearer realm="nova"')],
            )
            return
        incoming = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        declared = next((v for k, v in incoming if k.lower() == "content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            EDGE_REJECTIONS.labels("body_too_large").inc()
            await send_json_error(send, 413, "payload_too_large", "request body too large")
            return
        headers = end_to_end(incoming, REPLACED_REQUEST_HEADERS) + forwarded_headers(
            scope, incoming
        )
        if declared is not None:
            headers.append(("content-length", declared))
        has_body = (declared not in (None, "0")) or any(
            k.lower() == "transfer-encoding" for k, _ in incoming
        )
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{self.route.upstream}{path}" + (f"?{query}" if query else "")
        await self.forward(method, url, headers, receive if has_body else None, send)

    async def forward(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        receive: Receive | None,
        send: Send,
    ) -> None:
        timeout = httpx.Timeout(
            self.route.read_timeout,
            connect=self.route.connect_timeout,
            pool=self.route.connect_timeout,
        )
        label = self.route.prefix
        self.retry_budget.record_request()
        attempts = 2 if method in RETRYABLE_METHODS and receive is None else 1
        started = time.perf_counter()
        for attempt in range(attempts):
            content = request_body(receive, self.max_body_bytes) if receive is not None else None
            request = self.client.build_request(
                method, url, headers=headers, content=content, timeout=timeout
            )
            try:
                response = await self.client.send(request, stream=True)
                break
            except httpx.ConnectError:
                if attempt + 1 < attempts and self.retry_budget.try_spend():
                    UPSTREAM_RETRIES.labels(label).inc()
                    continue
                await send_upstream_error(send, label, UpstreamFailure.of(httpx.ConnectError("")))
                return
            except (httpx.HTTPError, BodyTooLargeError, ClientDisconnectedError) as error:
                await send_upstream_error(send, label, UpstreamFailure.of(error))
                return
            except Exception as error:
                # The HTTP stack itself can fail oddly on a connection reset mid-handshake
                # (an AttributeError from anyio's socket wrapper has been seen): still the
                # upstream's failure to answer, never a 500 of the gateway.
                logger.warning("upstream client failed", exc_info=error, extra={"upstream": label})
                await send_upstream_error(send, label, UpstreamFailure.of(error))
                return
        UPSTREAM_DURATION.labels(label, method, status_class(response.status_code)).observe(
            time.perf_counter() - started
        )
        await self.relay(response, send)

    async def relay(self, response: httpx.Response, send: Send) -> None:
        headers = end_to_end(response.headers.multi_items())
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        try:
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.TransportError:
            UPSTREAM_FAILURES.labels(self.route.prefix, "protocol").inc()
            raise  # the client must see a broken response, not a silently truncated one
        finally:
            await response.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
