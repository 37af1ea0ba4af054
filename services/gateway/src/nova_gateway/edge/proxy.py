"""The REST proxy: ``/api/<service>/*`` → the service, streaming both ways.

A request body with ``Content-Length`` streams to the upstream (one over the limit is refused
from its header). A chunked body has no length to check, so it is read whole first, up to the
limit, and sent with its length: a body over the limit never reaches an upstream, as with
nginx's request buffering. The bytes held that way across all requests at once are bounded too
(``PROXY_BUFFER_TOTAL_BYTES``): past it a chunked request gets 503 ``gateway_busy`` with
``Retry-After`` instead of growing the gateway's memory.

Per route: connect/read timeouts, hop-by-hop headers stripped, ``X-Forwarded-*`` set, the request
id and trace context propagated. Idempotent requests (GET/HEAD/OPTIONS) whose upstream could not
be *reached* are retried once, within a retry budget; nothing else is ever retried, so a POST
(or a PUT or DELETE) reaches the upstream at most once. An upstream that is down or slow turns
into a JSON 502/503/504 within its timeout, never a hang.

The HTTP client is aiohttp (``edge.client``): its C parser and a CLIENT span opened here, rather
than httpx's pure-Python stack and generic instrumentation, keep the proxy's CPU per request low.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import cast
from urllib.parse import unquote

import aiohttp
from litestar.types import Message, Receive, Scope, Send
from opentelemetry import propagate, trace

from nova_gateway.edge.client import (
    MAX_RESPONSE_HEAD_BYTES,
    UpstreamBusyError,
    UpstreamClient,
)
from nova_gateway.edge.metrics import (
    EDGE_REJECTIONS,
    PROXY_BUFFERED_BYTES,
    UPSTREAM_DURATION,
    UPSTREAM_FAILURES,
    UPSTREAM_RETRIES,
)
from nova_gateway.edge.responses import send_json_error
from nova_gateway.federation.execution.transport import client_span, record_failure, record_status
from nova_gateway.metrics import child
from nova_kit.metrics import status_class
from nova_kit.proxies import client_host
from nova_kit.security import CLAIMS_STATE_KEY
from nova_kit.tracing import name_server_span

logger = logging.getLogger(__name__)
_TRACER = trace.get_tracer(__name__)

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
UPLOAD_SLICE = 64 * 1024


class BodyTooLargeError(Exception):
    pass


class BufferFullError(Exception):
    """Buffering this body would pass the budget shared by every request in flight."""


class BufferBudget:
    """Bytes of chunked request bodies held in memory at once, across every route. The event
    loop is single-threaded, so taking and giving back need no lock."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.capacity:
            return False
        self.used += size
        PROXY_BUFFERED_BYTES.set(self.used)
        return True

    def give_back(self, size: int) -> None:
        self.used -= size
        PROXY_BUFFERED_BYTES.set(self.used)


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


def forwarded_headers(scope: Scope, incoming: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``X-Forwarded-*`` for the upstream. ``X-Forwarded-For`` is the client alone, as this
    gateway resolved it through its trusted proxies (``nova_kit.proxies``): whatever chain the
    client sent is dropped, so it cannot choose the address the services limit by."""
    chain = client_host(scope)
    host = next((value for name, value in incoming if name.lower() == "host"), "")
    headers = [("x-forwarded-for", chain), ("x-forwarded-proto", str(scope.get("scheme", "http")))]
    if host:
        headers.append(("x-forwarded-host", host))
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        headers = [*headers, ("x-request-id", str(request_id))]
    return headers


async def read_request_body(
    receive: Receive, limit: int, budget: BufferBudget | None = None
) -> bytes:
    """The whole body of a request (a chunked one), refused once it passes ``limit``. With a
    ``budget``, every byte read is taken from it (:class:`BufferFullError` when it runs out);
    the caller gives ``len(body)`` back once the body is sent, and nothing is kept on failure."""
    parts: list[bytes] = []
    held = 0
    try:
        async for chunk in request_body(receive, limit):
            if budget is not None:
                if not budget.take(len(chunk)):
                    raise BufferFullError
                held += len(chunk)
            parts.append(chunk)
    except BaseException:
        if budget is not None:
            budget.give_back(held)
        raise
    return b"".join(parts)


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
    def of(cls, error: BaseException) -> UpstreamFailure:
        cause = error.__cause__
        if isinstance(error, aiohttp.ClientError) and isinstance(
            cause, (BodyTooLargeError, ClientDisconnectedError)
        ):
            error = cause  # the request body failed on its way upstream
        if isinstance(error, BodyTooLargeError):
            return cls(413, "payload_too_large", "body_too_large", "request body too large")
        if isinstance(error, aiohttp.ClientConnectorError):
            return cls(502, "upstream_unreachable", "unreachable", "is unreachable")
        if isinstance(error, UpstreamBusyError):
            return cls(503, "upstream_busy", "busy", "has too many requests in flight")
        if isinstance(error, TimeoutError):
            return cls(504, "upstream_timeout", "timeout", "did not answer in time")
        return UNANSWERED


UPSTREAM_ERRORS = (
    aiohttp.ClientError,
    OSError,
    TimeoutError,
    UpstreamBusyError,
    BodyTooLargeError,
    ClientDisconnectedError,
)
"""What an upstream exchange can fail with: reported as 413/502/503/504. Anything else is the
gateway's own bug: a 500 with the request id, logged with its traceback."""

UNANSWERED = UpstreamFailure(502, "upstream_error", "protocol", "failed to answer")
"""The upstream's exchange broke (or its answer's head was over the limit)."""


async def send_upstream_error(send: Send, label: str, failure: UpstreamFailure) -> None:
    UPSTREAM_FAILURES.labels(label, failure.reason).inc()
    if failure.reason == "protocol":
        logger.warning("upstream exchange failed", extra={"upstream": label})
    await send_json_error(send, failure.status, failure.code, f"{label} {failure.message}")


def head_size(raw_headers: Iterable[tuple[bytes, bytes]]) -> int:
    return sum(len(name) + len(value) + 4 for name, value in raw_headers)


class Upload:
    """A request body on its way upstream. The upstream must take each chunk within the write
    timeout (the route's read timeout), or ``deadline`` cancels the request: an upstream that
    stops reading is a 504, never a hang. Waiting for the client's next chunk does not count."""

    def __init__(self, deadline: asyncio.Timeout, seconds: float) -> None:
        self.deadline = deadline
        self.seconds = seconds
        self.sending = True

    def expect_write(self, pending: bool) -> None:
        # Once the answer has come (or the deadline has passed) there is nothing to bound.
        if self.sending and not self.deadline.expired():
            when = asyncio.get_running_loop().time() + self.seconds if pending else None
            self.deadline.reschedule(when)

    async def from_client(self, receive: Receive, limit: int) -> AsyncIterator[bytes]:
        chunks = request_body(receive, limit)
        while True:
            self.expect_write(False)
            chunk = await anext(chunks, None)
            if chunk is None:
                return
            self.expect_write(True)
            yield chunk

    async def from_buffer(self, body: bytes) -> AsyncIterator[memoryview]:
        view = memoryview(body)
        for start in range(0, len(view), UPLOAD_SLICE):
            self.expect_write(True)
            yield view[start : start + UPLOAD_SLICE]
        self.expect_write(False)


class RestProxy:
    """An ASGI app forwarding one route prefix to its upstream."""

    def __init__(
        self,
        route: Route,
        client: UpstreamClient,
        *,
        max_body_bytes: int,
        retry_budget: RetryBudget,
        anonymous: list[AnonymousRule],
        buffers: BufferBudget,
    ) -> None:
        self.route = route
        self.client = client
        self.max_body_bytes = max_body_bytes
        self.buffers = buffers
        self.retry_budget = retry_budget
        self.anonymous = anonymous
        # connect: DNS and the TCP handshake (the pool wait is the client's slot, bounded apart);
        # sock_read: the answer's head and then each read of its body.
        self.timeout = aiohttp.ClientTimeout(
            total=None,
            connect=route.connect_timeout,
            sock_connect=route.connect_timeout,
            sock_read=route.read_timeout,
        )

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
        buffered: bytes | None = None
        if declared is not None:
            headers.append(("content-length", declared))
        elif any(k.lower() == "transfer-encoding" for k, _ in incoming):
            try:
                buffered = await read_request_body(receive, self.max_body_bytes, self.buffers)
            except BodyTooLargeError:
                EDGE_REJECTIONS.labels("body_too_large").inc()
                await send_json_error(send, 413, "payload_too_large", "request body too large")
                return
            except BufferFullError:
                EDGE_REJECTIONS.labels("buffer_full").inc()
                await send_json_error(
                    send,
                    503,
                    "gateway_busy",
                    "too many request bodies are being buffered; retry shortly",
                    headers=[("retry-after", "1")],
                )
                return
            except ClientDisconnectedError:
                return
            headers.append(("content-length", str(len(buffered))))
        streamed = declared not in (None, "0")
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{self.route.upstream}{path}" + (f"?{query}" if query else "")
        try:
            await self.forward_or_fail(
                method, url, headers, receive if streamed else None, send, buffered=buffered
            )
        finally:
            if buffered is not None:
                self.buffers.give_back(len(buffered))

    async def forward_or_fail(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        receive: Receive | None,
        send: Send,
        *,
        buffered: bytes | None = None,
    ) -> None:
        """:meth:`forward`, with the gateway's own errors (anything that is no upstream
        failure) answered 500 ``internal_error`` with the request id, and logged with their
        traceback."""
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.forward(method, url, headers, receive, tracked, buffered=buffered)
        except Exception:
            if started:
                raise  # the answer is under way: the client must see it broken
            logger.exception("proxy failed on %s %s/*", method, self.route.prefix)
            await send_json_error(
                send, 500, "internal_error", "internal error; quote the request id to support"
            )

    async def forward(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        receive: Receive | None,
        send: Send,
        *,
        buffered: bytes | None = None,
    ) -> None:
        """Send the request upstream (its body streamed from ``receive``, or ``buffered``)
        and relay the answer."""
        label = self.route.prefix
        self.retry_budget.record_request()
        attempts = 2 if method in RETRYABLE_METHODS and receive is None else 1
        started = time.perf_counter()
        try:
            await self.client.acquire(self.route.connect_timeout)
        except UpstreamBusyError as error:
            await send_upstream_error(send, label, UpstreamFailure.of(error))
            return
        try:
            response = await self.request(
                method, url, headers, receive=receive, body=buffered, attempts=attempts
            )
            if isinstance(response, UpstreamFailure):
                await send_upstream_error(send, label, response)
                return
            child(UPSTREAM_DURATION, label, method, status_class(response.status)).observe(
                time.perf_counter() - started
            )
            await self.relay(response, send)
        finally:
            self.client.release()

    async def request(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        *,
        receive: Receive | None = None,
        body: bytes | None = None,
        attempts: int = 1,
        decompress: bool = False,
    ) -> aiohttp.ClientResponse | UpstreamFailure:
        """The upstream's answer (its head read, its body not yet) or why there is none, under
        a CLIENT span whose trace context replaces any the client sent. Hold a client slot
        around it and release the answer when done. Attempts after the first are made only
        when the upstream could not be reached, within the retry budget."""
        carrier: dict[str, str] = {}
        with client_span(_TRACER, method, url) as span:
            propagate.inject(carrier)
            if carrier:
                headers = [(k, v) for k, v in headers if k.lower() not in carrier]
                headers += carrier.items()
            for attempt in range(attempts):
                try:
                    response = await self.send_request(
                        method, url, headers, receive=receive, body=body, decompress=decompress
                    )
                except aiohttp.ClientConnectorError as error:
                    if attempt + 1 < attempts and self.retry_budget.try_spend():
                        UPSTREAM_RETRIES.labels(self.route.prefix).inc()
                        continue
                    failure = UpstreamFailure.of(error)
                except UPSTREAM_ERRORS as error:
                    failure = UpstreamFailure.of(error)
                else:
                    if head_size(response.raw_headers) <= MAX_RESPONSE_HEAD_BYTES:
                        record_status(span, response.status)
                        return response
                    response.release()
                    failure = UNANSWERED
                record_failure(span, failure.code, failure.message)
                return failure
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns

    async def send_request(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        *,
        receive: Receive | None,
        body: bytes | None,
        decompress: bool,
    ) -> aiohttp.ClientResponse:
        session = self.client.session
        if receive is None and not body:
            return await session.request(
                method,
                url,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                auto_decompress=decompress,
            )
        async with asyncio.timeout(None) as deadline:
            upload = Upload(deadline, self.route.read_timeout)
            try:
                return await session.request(
                    method,
                    url,
                    headers=headers,
                    data=upload.from_client(receive, self.max_body_bytes)
                    if receive is not None
                    else upload.from_buffer(body or b""),
                    timeout=self.timeout,
                    allow_redirects=False,
                    auto_decompress=decompress,
                )
            finally:
                upload.sending = False

    async def relay(self, response: aiohttp.ClientResponse, send: Send) -> None:
        headers = end_to_end(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in response.raw_headers
        )
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in headers
                ],
            }
        )
        if response.content.is_eof():
            # The whole answer came with its head (the usual small JSON answer): one body
            # message, so the server writes it and the end of the response at once.
            try:
                body = await response.read()
            except aiohttp.ClientError:
                UPSTREAM_FAILURES.labels(self.route.prefix, "protocol").inc()
                raise
            finally:
                response.release()
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        try:
            async for chunk in response.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except aiohttp.ClientError:
            UPSTREAM_FAILURES.labels(self.route.prefix, "protocol").inc()
            raise  # the client must see a broken response, not a silently truncated one
        finally:
            response.release()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
