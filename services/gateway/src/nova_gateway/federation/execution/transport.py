"""HTTP to the subgraphs: one pool of kept-alive connections per subgraph (:mod:`.http1`, a
``POST``-and-read-whole HTTP/1.1 client on httptools), per-subgraph timeouts, forwarded
headers, a CLIENT span per fetch (W3C trace context injected) and fetch metrics. Mutations are
never retried; a query is retried once when the connection could not be opened (nothing reached
the subgraph).

Identical queries in flight at the same time are sent once: a query fetch whose subgraph, body
and answer-relevant headers (all forwarded headers except the tracing and request-id ones) equal
those of a fetch still waiting for its answer shares that answer instead of sending its own
request. Each waiter decodes its own copy of the body, so the executor may merge into it freely.
Mutations are never shared.

``client_session`` and the CLIENT span helpers serve the edge's REST proxy too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import msgspec
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from nova_gateway.federation.errors import SubgraphFetchError
from nova_gateway.federation.execution.http1 import ConnectError, ConnectionPool
from nova_gateway.metrics import (
    SUBGRAPH_FETCH_DURATION,
    SUBGRAPH_FETCHES,
    SUBGRAPH_FETCHES_DEDUPLICATED,
    child,
)

SUBREQUEST_HTTP_ERROR = "SUBREQUEST_HTTP_ERROR"
SUBREQUEST_TIMEOUT = "SUBREQUEST_TIMEOUT"
SUBREQUEST_MALFORMED_RESPONSE = "SUBREQUEST_MALFORMED_RESPONSE"

logger = logging.getLogger(__name__)

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder()
_TRACER = trace.get_tracer(__name__)
_SEND_HEADERS = {
    "content-type": "application/json",
    "accept": "application/graphql-response+json, application/json",
}
IDENTITY_FREE_HEADERS = frozenset({"traceparent", "tracestate", "baggage", "x-request-id"})
"""Forwarded headers that say who asked, not what the answer is: ignored when deciding whether
two query fetches are the same."""


def client_session(
    *,
    max_connections: int,
    keepalive_seconds: float,
    timeout: aiohttp.ClientTimeout,
    auto_decompress: bool = True,
    skip_auto_headers: Iterable[str] | None = None,
    max_line_size: int = 8190,
    max_field_size: int = 8190,
    max_headers: int = 128,
) -> aiohttp.ClientSession:
    """A pooled keep-alive aiohttp session for the gateway's own upstream calls: C HTTP parser,
    ``max_connections`` open at most (released ones kept ``keepalive_seconds``), no cookie jar
    (one caller's cookies must never reach another's request) and no proxy or netrc settings
    from the environment. Call it on the event loop that will use it."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=max_connections, limit_per_host=0, keepalive_timeout=keepalive_seconds
        ),
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        auto_decompress=auto_decompress,
        skip_auto_headers=skip_auto_headers,
        max_line_size=max_line_size,
        max_field_size=max_field_size,
        max_headers=max_headers,
    )


def client_span(
    tracer: trace.Tracer, method: str, url: str, attributes: Mapping[str, str] | None = None
) -> AbstractContextManager[trace.Span]:
    """The CLIENT span of one outgoing HTTP request, current while it is open (so
    ``propagate.inject`` writes its ``traceparent``), with the HTTP semantic conventions' request
    attributes. The caller records the outcome: ``record_status`` or ``record_failure``."""
    return _client_span(tracer, method, request_attributes(method, url, attributes))


def request_attributes(
    method: str, url: str, attributes: Mapping[str, str] | None = None
) -> dict[str, str | int]:
    """A CLIENT span's request attributes (HTTP semantic conventions) for ``method url``."""
    parts = urlsplit(url)
    return {
        "http.request.method": method,
        "url.full": url,
        "server.address": parts.hostname or "",
        "server.port": parts.port or (443 if parts.scheme == "https" else 80),
        **(attributes or {}),
    }


def _client_span(
    tracer: trace.Tracer, method: str, attributes: Mapping[str, str | int]
) -> AbstractContextManager[trace.Span]:
    return tracer.start_as_current_span(
        method,
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    )


def record_status(span: trace.Span, status: int) -> None:
    """The answer's status on a CLIENT span; 4xx and 5xx mark it failed."""
    span.set_attribute("http.response.status_code", status)
    if status >= 400:
        span.set_status(Status(StatusCode.ERROR))
        span.set_attribute("error.type", str(status))


def record_failure(span: trace.Span, error_type: str, message: str) -> None:
    """A CLIENT span whose request got no answer."""
    span.set_status(Status(StatusCode.ERROR, message))
    span.set_attribute("error.type", error_type)


@dataclass(frozen=True, slots=True)
class SubgraphRequest:
    query: str
    variables: dict[str, Any]
    is_mutation: bool = False


@dataclass(frozen=True, slots=True)
class TransportConfig:
    default_timeout_seconds: float = 10.0
    timeouts: Mapping[str, float] = field(default_factory=dict)
    """Per-subgraph timeouts in seconds, by subgraph name: the whole fetch (connecting, sending,
    the answer) must fit."""
    max_connections: int = 100
    """Open connections per subgraph; released ones are kept alive for reuse."""
    keepalive_seconds: float = 15.0
    """How long an idle connection is kept (shorter than the subgraphs' own keep-alive)."""
    deduplicate_queries: bool = True
    """Send identical query fetches that are in flight at the same time once."""


@dataclass(slots=True)
class _Answer:
    """A subgraph's answer: the raw body and, for the first waiter, the decoded one."""

    content: bytes
    payload: dict[str, Any] | None

    def take(self) -> dict[str, Any]:
        payload = self.payload
        if payload is None:
            decoded: dict[str, Any] = _DECODER.decode(self.content)
            return decoded
        self.payload = None
        return payload


class SubgraphTransport:
    """Sends subgraph requests. One instance per loaded supergraph URL set; close it to free
    the pools."""

    def __init__(self, urls: Mapping[str, str], config: TransportConfig) -> None:
        self.urls = dict(urls)
        self.config = config
        self._pools: dict[str, tuple[asyncio.AbstractEventLoop, ConnectionPool]] = {}
        self._span_attributes: dict[str, dict[str, str | int]] = {}
        self._in_flight: dict[tuple[Any, ...], asyncio.Task[_Answer]] = {}

    def timeout(self, service: str) -> float:
        return self.config.timeouts.get(service, self.config.default_timeout_seconds)

    def pool(self, service: str) -> ConnectionPool:
        """The connections to ``service`` (opened on this event loop)."""
        loop = asyncio.get_running_loop()
        known = self._pools.get(service)
        if known is not None and known[0] is loop:
            return known[1]
        pool = ConnectionPool(
            self.urls[service],
            max_connections=self.config.max_connections,
            keepalive_seconds=self.config.keepalive_seconds,
        )
        self._pools[service] = (loop, pool)
        return pool

    async def fetch(
        self, service: str, request: SubgraphRequest, headers: Mapping[str, str]
    ) -> dict[str, Any]:
        url = self.urls.get(service)
        if not url:
            raise SubgraphFetchError(SUBREQUEST_HTTP_ERROR, f"subgraph {service} has no URL")
        body = _ENCODER.encode({"query": request.query, "variables": request.variables})
        if request.is_mutation:
            return (await self._send(service, url, body, headers, attempts=1)).take()
        if not self.config.deduplicate_queries:
            return (await self._send(service, url, body, headers, attempts=2)).take()
        key = (
            service,
            body,
            *sorted(item for item in headers.items() if item[0] not in IDENTITY_FREE_HEADERS),
        )
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._send(service, url, body, headers, attempts=2))
            self._in_flight[key] = pending
            pending.add_done_callback(lambda done: self._forget(key, done))
        else:
            child(SUBGRAPH_FETCHES_DEDUPLICATED, service).inc()
        # A waiter that gives up (its client went away) does not cancel the others' fetch.
        answer = await asyncio.shield(pending)
        return answer.take()

    def _forget(self, key: tuple[Any, ...], done: asyncio.Task[_Answer]) -> None:
        if self._in_flight.get(key) is done:
            del self._in_flight[key]
        if not done.cancelled():
            done.exception()  # retrieved: a failure nobody awaited any more is not logged

    async def _send(
        self,
        service: str,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        attempts: int,
    ) -> _Answer:
        start = time.perf_counter()
        outcome = "error"
        attributes = self._span_attributes.get(service)
        if attributes is None:
            attributes = request_attributes("POST", url, {"graphql.subgraph.name": service})
            self._span_attributes[service] = attributes
        with _client_span(_TRACER, "POST", attributes) as span:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            try:
                lines = _header_lines(headers, carrier)
                status, content = await self._post(service, url, body, lines, attempts)
                logger.debug("subgraph %s: POST %s -> HTTP %d", service, url, status)
                record_status(span, status)
                answer = _decode(service, status, content)
                outcome = "success"
                return answer
            except SubgraphFetchError as failure:
                if failure.code == SUBREQUEST_TIMEOUT:
                    outcome = "timeout"
                record_failure(span, failure.code, failure.message)
                raise
            finally:
                child(SUBGRAPH_FETCH_DURATION, service, outcome).observe(
                    time.perf_counter() - start
                )
                child(SUBGRAPH_FETCHES, service, outcome).inc()

    async def _post(
        self, service: str, url: str, body: bytes, headers: bytes, attempts: int
    ) -> tuple[int, bytes]:
        try:
            pool = self.pool(service)
        except ValueError as error:
            logger.warning("subgraph %s has an unusable URL: %s", service, error)
            raise SubgraphFetchError(
                SUBREQUEST_HTTP_ERROR, f"subgraph {service} has no usable URL"
            ) from None
        for attempt in range(attempts):
            try:
                async with asyncio.timeout(self.timeout(service)):
                    return await pool.post(body, headers)
            except TimeoutError:
                raise SubgraphFetchError(
                    SUBREQUEST_TIMEOUT,
                    f"subgraph {service} timed out after {self.timeout(service):g}s",
                ) from None
            except ConnectError as error:
                if attempt + 1 < attempts:
                    continue
                # The client hears the subgraph's name; addresses stay in the log.
                logger.warning("subgraph %s is unreachable: %s", service, error)
                raise SubgraphFetchError(
                    SUBREQUEST_HTTP_ERROR, f"subgraph {service} is unreachable"
                ) from None
            except OSError as error:
                logger.warning("request to subgraph %s failed: %s", service, error)
                raise SubgraphFetchError(
                    SUBREQUEST_HTTP_ERROR, f"request to subgraph {service} failed"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def close(self) -> None:
        pools = list(self._pools.values())
        self._pools.clear()
        for _, pool in pools:
            pool.close()


_FIXED_HEADERS = b"".join(
    f"{name}: {value}\r\n".encode("latin-1") for name, value in _SEND_HEADERS.items()
)


_NOT_FORWARDED = frozenset(
    {
        *_SEND_HEADERS,
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)
"""Headers this client writes itself or that concern one connection: never forwarded."""


def _header_lines(headers: Mapping[str, str], carrier: Mapping[str, str]) -> bytes:
    """The request's header lines: the forwarded ones, the trace context and the fixed ones.
    A name or value that would break the request's framing (a line break, a NUL) is refused."""
    lines = [
        f"{name}: {value}\r\n"
        for source in (headers, carrier)
        for name, value in source.items()
        if name.lower() not in _NOT_FORWARDED
    ]
    text = "".join(lines)
    if text.count("\n") != len(lines) or text.count("\r") != len(lines) or "\0" in text:
        raise SubgraphFetchError(SUBREQUEST_HTTP_ERROR, "a forwarded header is not valid HTTP")
    try:
        encoded = text.encode("latin-1")
    except UnicodeEncodeError:
        encoded = text.encode("utf-8")
    return encoded + _FIXED_HEADERS


def _decode(service: str, status: int, content: bytes) -> _Answer:
    try:
        payload = _DECODER.decode(content)
    except msgspec.DecodeError:
        payload = None
    graphql_body = isinstance(payload, dict) and ("data" in payload or "errors" in payload)
    if status >= 400 and not graphql_body:
        message = f"subgraph {service} answered HTTP {status}"
        raise SubgraphFetchError(SUBREQUEST_HTTP_ERROR, message)
    if not graphql_body:
        raise SubgraphFetchError(
            SUBREQUEST_MALFORMED_RESPONSE,
            f"subgraph {service} returned an invalid GraphQL response",
        )
    assert isinstance(payload, dict)
    return _Answer(content, payload)
