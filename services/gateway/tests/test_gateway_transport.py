"""The subgraph transport against a real loopback HTTP/1.1 server: kept-alive connections,
timeouts, malformed and failed answers, retries, forwarded headers, trace context and the
sharing of identical in-flight queries; the HTTP/1.1 client under it (answer framings,
compressed answers, ``Connection: close``, headers that must never reach the wire)."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from nova_gateway.app import create_app
from nova_gateway.config import GatewaySettings
from nova_gateway.federation.errors import SubgraphFetchError
from nova_gateway.federation.execution.http1 import MAX_HEADERS
from nova_gateway.federation.execution.transport import (
    SUBREQUEST_HTTP_ERROR,
    SUBREQUEST_MALFORMED_RESPONSE,
    SUBREQUEST_TIMEOUT,
    SubgraphRequest,
    SubgraphTransport,
    TransportConfig,
)
from nova_kit.tracing import ExportAwareTracerProvider, configure_tracing

QUERY = SubgraphRequest("{ me { name } }", {})
MUTATION = SubgraphRequest("mutation { renameUser { name } }", {}, is_mutation=True)
OK = b'{"data": {"me": {"name": "Ada"}}}'


@dataclass
class Received:
    connection: int
    headers: dict[str, str]
    body: dict[str, Any]
    head: bytes = b""


@dataclass
class Reply:
    status: int = 200
    body: bytes = OK
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    """Close the connection after reading the request, without answering."""
    raw: bytes | None = None
    """The whole answer as written (status line, headers, body), instead of the above."""
    close: bool = False
    """Close the connection after answering."""


class LoopbackServer:
    """A small HTTP/1.1 server: keep-alive, Content-Length bodies, one scripted reply for all
    requests; records every request with the number of the connection it came on."""

    def __init__(self) -> None:
        self.reply = Reply()
        self.received: list[Received] = []
        self.connections = 0
        self.release = asyncio.Event()
        self.release.set()
        self._arrived = asyncio.Event()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/graphql"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        self._server.close_clients()
        await self._server.wait_closed()

    async def requests(self, count: int) -> None:
        """Wait until ``count`` requests have arrived."""
        while len(self.received) < count:
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append(Received(number, headers, json.loads(body), head))
                self._arrived.set()
                reply = self.reply
                if reply.drop:
                    break
                await self.release.wait()
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
                writer.write(
                    reply.raw
                    if reply.raw is not None
                    else f"HTTP/1.1 {reply.status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(reply.body)}\r\n{extra}\r\n".encode()
                    + reply.body
                )
                await writer.drain()
                if reply.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[LoopbackServer]:
    running = LoopbackServer()
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def transport(server: LoopbackServer) -> AsyncIterator[SubgraphTransport]:
    sender = SubgraphTransport({"accounts": server.url}, TransportConfig(timeouts={"accounts": 1}))
    yield sender
    await sender.close()


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def fetch_error(
    transport: SubgraphTransport, request: SubgraphRequest = QUERY
) -> SubgraphFetchError:
    with pytest.raises(SubgraphFetchError) as caught:
        await transport.fetch("accounts", request, {})
    return caught.value


async def test_sequential_fetches_reuse_one_kept_alive_connection(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    for _ in range(5):
        assert await transport.fetch("accounts", QUERY, {}) == {"data": {"me": {"name": "Ada"}}}
    assert [r.connection for r in server.received] == [1] * 5
    assert server.connections == 1
    assert server.received[0].body == {"query": "{ me { name } }", "variables": {}}
    assert server.received[0].headers["content-type"] == "application/json"


async def test_concurrent_fetches_open_connections_up_to_the_pool_size(
    server: LoopbackServer,
) -> None:
    sender = SubgraphTransport(
        {"accounts": server.url},
        TransportConfig(max_connections=2, deduplicate_queries=False),
    )
    server.reply.delay = 0.05
    try:
        await asyncio.gather(*(sender.fetch("accounts", QUERY, {}) for _ in range(6)))
        await asyncio.gather(*(sender.fetch("accounts", QUERY, {}) for _ in range(6)))
    finally:
        await sender.close()
    assert len(server.received) == 12
    assert server.connections == 2


async def test_a_subgraph_slower_than_its_timeout(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    server.reply.delay = 3
    timeouts = metric("gateway_subgraph_fetches_total", subgraph="accounts", outcome="timeout")
    started = asyncio.get_running_loop().time()
    error = await fetch_error(transport)
    assert asyncio.get_running_loop().time() - started < 2.5
    assert error.code == SUBREQUEST_TIMEOUT
    assert error.message == "subgraph accounts timed out after 1s"
    assert (
        metric("gateway_subgraph_fetches_total", subgraph="accounts", outcome="timeout")
        == timeouts + 1
    )


@pytest.mark.parametrize(
    "body", [b'{"data": {"broken', b"<html>hello</html>", b"[1, 2]", b'{"other": 1}', b""]
)
async def test_a_body_that_is_not_a_graphql_response_is_malformed(
    server: LoopbackServer, transport: SubgraphTransport, body: bytes
) -> None:
    server.reply.body = body
    error = await fetch_error(transport)
    assert error.code == SUBREQUEST_MALFORMED_RESPONSE
    assert error.message == "subgraph accounts returned an invalid GraphQL response"


async def test_http_errors(server: LoopbackServer, transport: SubgraphTransport) -> None:
    server.reply = Reply(status=502, body=b"Bad Gateway")
    error = await fetch_error(transport)
    assert (error.code, error.message) == (
        SUBREQUEST_HTTP_ERROR,
        "subgraph accounts answered HTTP 502",
    )
    # A GraphQL body is passed on whatever the status.
    server.reply = Reply(status=500, body=b'{"errors": [{"message": "boom"}]}')
    assert await transport.fetch("accounts", QUERY, {}) == {"errors": [{"message": "boom"}]}


async def test_a_dropped_connection_is_an_error_and_is_not_retried(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    server.reply.drop = True
    for request in (QUERY, MUTATION):
        error = await fetch_error(transport, request)
        assert error.code == SUBREQUEST_HTTP_ERROR
        assert error.message.startswith("request to subgraph accounts failed")
    assert len(server.received) == 2, "the request reached the subgraph: never sent twice"


async def test_an_unreachable_subgraph(server: LoopbackServer) -> None:
    url = server.url
    await server.stop()
    sender = SubgraphTransport({"accounts": url}, TransportConfig())
    try:
        error = await fetch_error(sender)
    finally:
        await sender.close()
    assert error.code == SUBREQUEST_HTTP_ERROR
    assert error.message.startswith("subgraph accounts is unreachable")
    await server.start()


@pytest.mark.parametrize("url", ["ftp://accounts/graphql", "accounts:4001/graphql", "http:///x"])
async def test_a_url_the_client_cannot_use_fails_the_fetch(url: str) -> None:
    sender = SubgraphTransport({"accounts": url}, TransportConfig())
    try:
        error = await fetch_error(sender)
    finally:
        await sender.close()
    assert (error.code, error.message) == (
        SUBREQUEST_HTTP_ERROR,
        "subgraph accounts has no usable URL",
    )


async def test_headers_are_forwarded_with_the_fetch_span_trace_context(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    provider = configure_tracing("gateway")
    assert isinstance(provider, ExportAwareTracerProvider)
    was_recording = provider.recording
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        with trace.get_tracer("test").start_as_current_span("request") as parent:
            await transport.fetch(
                "accounts", QUERY, {"authorization": "Bearer abc", "x-request-id": "req-1"}
            )
        (fetch,) = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]
    finally:
        exporter.shutdown()
        # The process records spans only while this test needs them: the tests after it in
        # the same process see the gateway as it runs without an exporter (its hot path).
        provider.recording = was_recording
    (received,) = server.received
    assert received.headers["authorization"] == "Bearer abc"
    assert received.headers["x-request-id"] == "req-1"
    trace_id = trace.format_trace_id(parent.get_span_context().trace_id)
    version, sent_trace_id, span_id, _ = received.headers["traceparent"].split("-")
    assert (version, sent_trace_id) == ("00", trace_id)
    assert span_id == trace.format_span_id(fetch.context.span_id), "the fetch span's context"
    assert fetch.parent is not None
    assert fetch.parent.span_id == parent.get_span_context().span_id
    assert fetch.name == "POST"
    assert fetch.attributes is not None
    assert fetch.attributes["http.request.method"] == "POST"
    assert fetch.attributes["url.full"] == server.url
    assert fetch.attributes["http.response.status_code"] == 200


async def test_cookies_set_by_a_subgraph_are_not_sent_back(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    server.reply.headers = {"set-cookie": "session=someone-else; Path=/"}
    await transport.fetch("accounts", QUERY, {})
    await transport.fetch("accounts", QUERY, {})
    assert all("cookie" not in r.headers for r in server.received)


async def test_identical_queries_in_flight_are_sent_once(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    shared = metric("gateway_subgraph_fetches_deduplicated_total", subgraph="accounts")
    server.release.clear()
    waiting = [
        asyncio.create_task(
            transport.fetch(
                "accounts", QUERY, {"authorization": "Bearer a", "x-request-id": f"req-{i}"}
            )
        )
        for i in range(5)
    ]
    await server.requests(1)
    other_user = asyncio.create_task(
        transport.fetch("accounts", QUERY, {"authorization": "Bearer b"})
    )
    other_query = asyncio.create_task(
        transport.fetch("accounts", SubgraphRequest("{ me { name } }", {"x": 1}), {})
    )
    await asyncio.sleep(0.05)
    server.release.set()
    answers = await asyncio.gather(*waiting)
    await asyncio.gather(other_user, other_query)
    assert len(server.received) == 3, "one request for the five, one per other user and query"
    assert metric("gateway_subgraph_fetches_deduplicated_total", subgraph="accounts") == shared + 4
    assert all(answer == {"data": {"me": {"name": "Ada"}}} for answer in answers)
    answers[0]["data"]["me"]["name"] = "changed"
    assert answers[1]["data"]["me"]["name"] == "Ada", "every waiter gets its own copy"
    # Once answered, the same query is sent again.
    await transport.fetch("accounts", QUERY, {"authorization": "Bearer a"})
    assert len(server.received) == 4


async def test_a_waiter_that_gives_up_does_not_cancel_the_shared_fetch(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    server.release.clear()
    first = asyncio.create_task(transport.fetch("accounts", QUERY, {}))
    second = asyncio.create_task(transport.fetch("accounts", QUERY, {}))
    await server.requests(1)
    first.cancel()
    server.release.set()
    assert await second == {"data": {"me": {"name": "Ada"}}}
    assert len(server.received) == 1


async def test_a_shared_failure_reaches_every_waiter(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    server.release.clear()
    server.reply = Reply(status=503, body=b"unavailable")
    waiting = [asyncio.create_task(transport.fetch("accounts", QUERY, {})) for _ in range(3)]
    await server.requests(1)
    server.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, SubgraphFetchError) for r in results)
    assert {r.code for r in results if isinstance(r, SubgraphFetchError)} == {SUBREQUEST_HTTP_ERROR}
    assert len(server.received) == 1


@pytest.mark.parametrize("dedupe", [True, False])
async def test_mutations_and_a_transport_without_sharing_send_every_fetch(
    server: LoopbackServer, dedupe: bool
) -> None:
    sender = SubgraphTransport(
        {"accounts": server.url}, TransportConfig(deduplicate_queries=dedupe)
    )
    server.release.clear()
    request = MUTATION if dedupe else QUERY
    try:
        waiting = [asyncio.create_task(sender.fetch("accounts", request, {})) for _ in range(3)]
        await server.requests(3)
        server.release.set()
        await asyncio.gather(*waiting)
    finally:
        await sender.close()
    assert len(server.received) == 3


async def test_concurrent_identical_operations_share_subgraph_fetches_end_to_end(
    subgraphs: dict[str, Any],
) -> None:
    """Through the whole gateway, served by uvicorn: overlapping identical operations each get
    the complete, correct answer (entities merged into their own copy of the data) from one
    fetch per step."""
    query = "{ topProducts(first: 2) { name reviews { body author { username } } } }"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/graphql"
    settings = GatewaySettings(
        environment="test",
        supergraph=str(Path(__file__).parent / "fixtures" / "supergraph.graphql"),
        supergraph_poll_seconds=0,
        subgraph_urls={name: subgraph.url for name, subgraph in subgraphs.items()},
        jwks_url=None,
        log_json=False,
        freeze_heap=False,
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(1000):  # uvicorn offers no start event
            if server.started:
                break
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(timeout=10) as client:
            expected = (await client.post(url, json={"query": query})).json()
            assert "errors" not in expected
            for subgraph in subgraphs.values():
                subgraph.requests.clear()
            subgraphs["products"].fault.mode = "slow"
            subgraphs["products"].fault.delay_seconds = 0.3
            responses = await asyncio.gather(
                *(client.post(url, json={"query": query}) for _ in range(4))
            )
    finally:
        server.should_exit = True
        await serving
    assert [r.json() for r in responses] == [expected] * 4
    assert len(subgraphs["products"].requests) == 1
    assert len(subgraphs["reviews"].requests) == 1


# --- the HTTP/1.1 client: framings, encodings, headers ---------------------------------

ANSWER_OK = {"data": {"me": {"name": "Ada"}}}


def answer(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    head = "".join(f"{header}\r\n" for header in headers)
    return f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{head}\r\n".encode() + body


async def test_a_chunked_answer(server: LoopbackServer, transport: SubgraphTransport) -> None:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (OK[:10], OK[10:]))
    server.reply.raw = answer(chunks + b"0\r\n\r\n", "transfer-encoding: chunked")
    for _ in range(3):
        assert await transport.fetch("accounts", QUERY, {}) == ANSWER_OK
    assert server.connections == 1, "a chunked answer leaves the connection reusable"


async def test_an_interim_answer_is_skipped(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    server.reply.raw = b"HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n" + answer(
        OK, f"content-length: {len(OK)}"
    )
    for _ in range(2):
        assert await transport.fetch("accounts", QUERY, {}) == ANSWER_OK
    assert server.connections == 1


async def test_an_answer_that_ends_with_the_connection(server: LoopbackServer) -> None:
    server.reply.raw = answer(OK)  # neither a length nor chunks: the body ends at the close
    server.reply.close = True
    sender = SubgraphTransport({"accounts": server.url}, TransportConfig())
    try:
        for _ in range(2):
            assert await sender.fetch("accounts", QUERY, {}) == ANSWER_OK
    finally:
        await sender.close()
    assert server.connections == 2


async def test_connection_close_is_honoured(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    server.reply.raw = answer(OK, f"content-length: {len(OK)}", "connection: close")
    server.reply.close = True
    for _ in range(3):
        assert await transport.fetch("accounts", QUERY, {}) == ANSWER_OK
    assert server.connections == 3


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),
    ],
)
async def test_a_compressed_answer_is_decompressed(
    server: LoopbackServer, transport: SubgraphTransport, encoding: str, compress: object
) -> None:
    assert callable(compress)
    body = compress(OK)
    server.reply.raw = answer(body, f"content-length: {len(body)}", f"content-encoding: {encoding}")
    assert await transport.fetch("accounts", QUERY, {}) == ANSWER_OK
    assert b"accept-encoding" not in server.received[0].head.lower()


@pytest.mark.parametrize(
    "headers",
    [["content-encoding: br"], [f"x-h{i}: v" for i in range(MAX_HEADERS + 1)]],
    ids=["unknown-encoding", "too-many-headers"],
)
async def test_an_answer_the_client_cannot_read_fails_the_fetch(
    server: LoopbackServer, transport: SubgraphTransport, headers: list[str]
) -> None:
    server.reply.raw = answer(OK, f"content-length: {len(OK)}", *headers)
    error = await fetch_error(transport)
    assert error.code == SUBREQUEST_HTTP_ERROR


async def test_an_invalid_answer_fails_the_fetch_and_the_connection_is_not_kept(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    server.reply.raw = b"NOT HTTP AT ALL\r\n\r\n"
    with pytest.raises(SubgraphFetchError) as caught:
        await transport.fetch("accounts", QUERY, {})
    assert caught.value.code == SUBREQUEST_HTTP_ERROR
    server.reply.raw = answer(OK, f"content-length: {len(OK)}")
    assert await transport.fetch("accounts", QUERY, {}) == ANSWER_OK
    assert server.connections == 2


async def test_framing_headers_are_never_forwarded(
    server: LoopbackServer, transport: SubgraphTransport
) -> None:
    server.reply.raw = answer(OK, f"content-length: {len(OK)}")
    forwarded = {
        "authorization": "Bearer abc",
        "content-length": "0",
        "transfer-encoding": "chunked",
        "host": "elsewhere",
        "connection": "close",
        "content-type": "text/plain",
    }
    assert await transport.fetch("accounts", QUERY, forwarded) == ANSWER_OK
    lines = server.received[0].head.decode("latin-1").lower().split("\r\n")
    names = [line.split(":", 1)[0] for line in lines[1:] if line]
    assert names.count("content-length") == 1
    assert names.count("host") == 1
    assert names.count("content-type") == 1
    assert "transfer-encoding" not in names
    assert "connection" not in names
    assert "authorization: bearer abc" in lines
    assert "content-type: application/json" in lines


@pytest.mark.parametrize("value", ["a\r\nx-injected: 1", "a\nb", "a\rb", "a\x00b"])
async def test_a_header_that_would_break_the_request_is_refused(
    server: LoopbackServer, transport: SubgraphTransport, value: str
) -> None:
    server.reply.raw = answer(OK, f"content-length: {len(OK)}")
    with pytest.raises(SubgraphFetchError) as caught:
        await transport.fetch("accounts", QUERY, {"x-request-id": value})
    assert caught.value.code == SUBREQUEST_HTTP_ERROR
    assert server.received == [], "nothing was sent"
