"""One trace through the whole system, as an OTLP collector receives it: a login, a federated
``me``, a proxied REST call and a ``user.registered`` task.

A small OTLP/HTTP receiver on 127.0.0.1 decodes ``ExportTraceServiceRequest`` protobufs. Real
auth, users and gateway processes export to it (``OTEL_EXPORTER_OTLP_ENDPOINT``). One GraphQL
request and one REST request through the gateway must each arrive as one trace: the gateway's
server span, its client spans to the subgraphs or the upstream, the auth/users server spans as
their children, and the SQL those handlers ran, with every parent link inside the trace.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto

from nova_kit.embedded import free_port
from nova_kit.events import EVENT_TASKS
from nova_kit.testing.stack import Stack, running_stack
from tests.observability.observability_helpers import (
    PASSWORD,
    register,
    wait_for,
)

pytestmark = pytest.mark.slow

SERVER = SpanProto.SpanKind.SPAN_KIND_SERVER
CLIENT = SpanProto.SpanKind.SPAN_KIND_CLIENT
SQL_SCOPE = "opentelemetry.instrumentation.sqlalchemy"
CONSUMER = SpanProto.SpanKind.SPAN_KIND_CONSUMER
ME = "{ me { id displayName email } }"
REGISTERED = EVENT_TASKS["user.registered"]


@dataclass(frozen=True)
class Span:
    service: str
    scope: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]

    def attribute(self, *names: str) -> Any:
        """The first of ``names`` the span carries (old and stable semantic conventions)."""
        for name in names:
            if name in self.attributes:
                return self.attributes[name]
        return None

    @property
    def method(self) -> Any:
        return self.attribute("http.request.method", "http.method")

    @property
    def status(self) -> Any:
        return self.attribute("http.response.status_code", "http.status_code")

    @property
    def url(self) -> str:
        return str(self.attribute("url.full", "http.url") or "")


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return None if kind is None else getattr(value, kind)


class OtlpReceiver:
    """Accepts ``POST /v1/traces`` (OTLP/HTTP, protobuf) and keeps every span."""

    def __init__(self) -> None:
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = 404
                if self.path == "/v1/traces":
                    receiver.accept(body)
                    status = 200
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(status)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def accept(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = []
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        Span(
                            service=str(resource.get("service.name")),
                            scope=scope_spans.scope.name,
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                    )
        with self._lock:
            self.requests += 1
            self._spans.extend(spans)

    def spans(self, trace_id: str | None = None) -> list[Span]:
        with self._lock:
            return [s for s in self._spans if trace_id is None or s.trace_id == trace_id]

    def __enter__(self) -> OtlpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def uninstrumented_httpx() -> Iterator[None]:
    """This test process sends its own ``traceparent`` headers. Another test in the same process
    may have built an app, which instruments httpx globally and would replace those headers with
    a trace of its own; take the instrumentation off while these tests run."""
    instrumentor = HTTPXClientInstrumentor()
    was_instrumented = instrumentor.is_instrumented_by_opentelemetry
    if was_instrumented:
        instrumentor.uninstrument()
    yield
    if was_instrumented:
        instrumentor.instrument()


@pytest.fixture(scope="module")
def receiver(uninstrumented_httpx: None) -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def stack(
    database_url: str,
    redis_url: str,
    receiver: OtlpReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
    }
    with running_stack(
        database_url,
        redis_url,
        tmp_path_factory.mktemp("trace-stack"),
        env=env,
        worker=True,
        per_service_env={"worker": {"NOVA_WORKER_SMTP_PORT": str(free_port())}},
    ) as running:
        yield running


@pytest.fixture(scope="module")
def bearer(stack: Stack) -> dict[str, str]:
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        _, token = register(client)
    return {"Authorization": f"Bearer {token}"}


def port_of(base_url: str) -> int | None:
    return urlsplit(base_url).port


def server_span(spans: list[Span], service: str, target: str) -> Span | None:
    for span in spans:
        if (
            span.service == f"nova-{service}"
            and span.kind == SERVER
            and span.attribute("url.path", "http.target") == target
        ):
            return span
    return None


def wait_for_trace(
    receiver: OtlpReceiver, trace_id: str, handlers: dict[str, str], *, caller: str = ""
) -> list[Span]:
    """The spans of ``trace_id`` once it holds the server span of every ``service: path`` in
    ``handlers``, some SQL, and no span whose parent is missing (but ``caller``'s).

    A parent ends after its children, so once it has arrived its whole subtree has too."""

    def complete() -> list[Span] | None:
        spans = receiver.spans(trace_id)
        ids = {s.span_id for s in spans} | {caller}
        if any(server_span(spans, service, path) is None for service, path in handlers.items()):
            return None
        if not any(s.scope == SQL_SCOPE for s in spans):
            return None
        return None if any(s.parent_id and s.parent_id not in ids for s in spans) else spans

    return wait_for(complete, timeout=30, what=f"trace {trace_id} to reach {handlers}")


def assert_one_tree(spans: list[Span]) -> Span:
    """Every span's parent is in the trace, exactly one span has none; return the root."""
    ids = {span.span_id for span in spans}
    assert len(ids) == len(spans), "span ids are unique"
    orphans = [s for s in spans if s.parent_id and s.parent_id not in ids]
    assert not orphans, [f"{s.service} {s.name}" for s in orphans]
    roots = [s for s in spans if not s.parent_id]
    assert len(roots) == 1, [f"{s.service} {s.name}" for s in roots]
    return roots[0]


def route_matches(route: str, path: str) -> bool:
    """Whether a route template (``/api/users/{user_id}``, ``/api/users/*``) matches a path."""
    pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(route)).replace(r"\*", ".*")
    return re.fullmatch(pattern, path.split("?", 1)[0]) is not None


def assert_http_conventions(span: Span, method: str, status: int) -> None:
    assert span.method == method, span
    assert span.status == status, span
    if span.kind == SERVER:
        route = span.attribute("http.route")
        assert isinstance(route, str), span
        assert route_matches(route, str(span.attribute("url.path", "http.target"))), span
        assert span.name.startswith(method), span
    else:
        assert span.url.startswith("http://127.0.0.1:"), span
        assert span.name.startswith(method), span


def children(spans: list[Span], parent: Span) -> list[Span]:
    return [s for s in spans if s.parent_id == parent.span_id]


def log_records(stack: Stack, service: str) -> list[dict[str, Any]]:
    """The JSON log lines a process wrote so far."""
    records = []
    for line in stack.processes[service].log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def test_a_graphql_request_is_one_trace_from_gateway_to_subgraphs_and_their_sql(
    stack: Stack, receiver: OtlpReceiver, bearer: dict[str, str]
) -> None:
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        before = {s.trace_id for s in receiver.spans()}
        response = client.post("/graphql", json={"query": ME}, headers=bearer)
    assert response.status_code == 200, response.text
    me = response.json()["data"]["me"]
    assert me["email"].endswith("@example.com")

    def gateway_span() -> Span | None:
        fresh = [s for s in receiver.spans() if s.trace_id not in before]
        return server_span(fresh, "gateway", "/graphql")

    root = wait_for(gateway_span, timeout=20, what="the gateway's /graphql server span")
    graphql = dict.fromkeys(("gateway", "auth", "users"), "/graphql")
    spans = wait_for_trace(receiver, root.trace_id, graphql)

    assert assert_one_tree(spans) == root, "the gateway's server span starts the trace"
    assert_http_conventions(root, "POST", 200)
    assert root.attribute("http.route") == "/graphql"

    for subgraph in ("auth", "users"):
        subgraph_url = f"{stack.urls[subgraph]}/graphql"
        fetches = [
            s
            for s in spans
            if s.service == "nova-gateway" and s.kind == CLIENT and s.url == subgraph_url
        ]
        assert len(fetches) == 1, f"one fetch to the {subgraph} subgraph: {fetches}"
        (fetch,) = fetches
        assert fetch.parent_id == root.span_id
        assert_http_conventions(fetch, "POST", 200)
        handler = server_span(spans, subgraph, "/graphql")
        assert handler is not None, f"{subgraph} server span"
        assert handler.parent_id == fetch.span_id, f"{subgraph} continues the gateway's fetch"
        assert_http_conventions(handler, "POST", 200)
        assert handler.attribute("http.route") == "/graphql"
        assert handler.name == "POST /graphql"

    sql = [s for s in spans if s.scope == SQL_SCOPE]
    handlers = {s.span_id: s for s in spans if s.kind == SERVER and s.service != "nova-gateway"}
    under_handlers = [s for s in sql if s.parent_id in handlers]
    assert under_handlers, "SQL runs inside the subgraph handlers"
    for statement in under_handlers:
        assert statement.kind == CLIENT
        assert statement.attributes.get("db.system") == "postgresql"
        assert handlers[statement.parent_id].service == statement.service
    profile_reads = [
        s
        for s in under_handlers
        if s.service == "nova-users" and "users.profiles" in str(s.attributes.get("db.statement"))
    ]
    assert profile_reads, "the users subgraph read the profile inside the trace"
    assert {s.service for s in spans} == {"nova-gateway", "nova-auth", "nova-users"}

    # the gateway's log lines about this request carry its trace id
    def logged() -> list[dict[str, Any]] | None:
        records = log_records(stack, "gateway")
        return [r for r in records if r.get("trace_id") == root.trace_id] or None

    records = wait_for(logged, timeout=10, what="gateway log lines with the trace id")
    # (subgraph fetches are logged at DEBUG only; what it logs at INFO carries one request id)
    assert len({r.get("request_id") for r in records}) == 1
    assert all(r.get("request_id") for r in records), records


def test_a_rest_request_continues_the_callers_trace_through_the_proxy(
    stack: Stack, receiver: OtlpReceiver, bearer: dict[str, str]
) -> None:
    trace_id, caller_span = os.urandom(16).hex(), os.urandom(8).hex()
    traceparent = f"00-{trace_id}-{caller_span}-01"
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        response = client.get("/api/users/me", headers={**bearer, "traceparent": traceparent})
    assert response.status_code == 200, response.text

    handlers = {"gateway": "/api/users/me", "users": "/api/users/me"}
    spans = wait_for_trace(receiver, trace_id, handlers, caller=caller_span)
    entry = server_span(spans, "gateway", "/api/users/me")
    assert entry is not None
    assert entry.parent_id == caller_span, "the gateway continues the caller's traceparent"
    assert_http_conventions(entry, "GET", 200)

    upstream_url = f"{stack.urls['users']}/api/users/me"
    proxied = [s for s in children(spans, entry) if s.kind == CLIENT and s.url == upstream_url]
    assert len(proxied) == 1, [s.name for s in children(spans, entry)]
    assert_http_conventions(proxied[0], "GET", 200)
    handler = server_span(spans, "users", "/api/users/me")
    assert handler is not None
    assert handler.parent_id == proxied[0].span_id
    assert_http_conventions(handler, "GET", 200)
    assert any(s.scope == SQL_SCOPE for s in children(spans, handler))
    # every span but the gateway's entry hangs below it
    ids = {s.span_id for s in spans}
    assert [s for s in spans if s.parent_id not in ids] == [entry]


def test_a_login_is_one_trace_from_the_gateway_through_auth_to_its_sql(
    stack: Stack, receiver: OtlpReceiver
) -> None:
    email = f"login-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        registered = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        assert registered.status_code == 202, registered.text
        before = {s.trace_id for s in receiver.spans()}
        response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text

    def entry() -> Span | None:
        fresh = [s for s in receiver.spans() if s.trace_id not in before]
        return server_span(fresh, "gateway", "/api/auth/login")

    root = wait_for(entry, timeout=30, what="the gateway's server span of the login")
    login = "/api/auth/login"
    spans = wait_for_trace(receiver, root.trace_id, {"gateway": login, "auth": login})
    assert assert_one_tree(spans) == root, "the gateway's server span starts the trace"
    assert_http_conventions(root, "POST", 200)
    upstream_url = f"{stack.urls['auth']}{login}"
    (proxied,) = [s for s in children(spans, root) if s.kind == CLIENT and s.url == upstream_url]
    handler = server_span(spans, "auth", login)
    assert handler is not None
    assert handler.parent_id == proxied.span_id, "auth continues the gateway's proxied call"
    assert_http_conventions(handler, "POST", 200)
    assert handler.attribute("http.route") == login
    statements = [s for s in spans if s.scope == SQL_SCOPE and s.service == "nova-auth"]
    assert any("auth.accounts" in str(s.attributes.get("db.statement")) for s in statements), [
        s.attributes.get("db.statement") for s in statements
    ]
    assert {s.service for s in spans} == {"nova-gateway", "nova-auth"}


def test_server_spans_are_named_by_route_template_not_by_raw_path(
    stack: Stack, receiver: OtlpReceiver, bearer: dict[str, str]
) -> None:
    trace_id = os.urandom(16).hex()
    some_id = uuid.uuid4()
    with httpx.Client(base_url=stack.urls["users"], timeout=30) as client:
        response = client.get(
            f"/api/users/{some_id}",
            headers={**bearer, "traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"},
        )
    assert response.status_code == 404, response.text

    def handler() -> Span | None:
        return server_span(receiver.spans(trace_id), "users", f"/api/users/{some_id}")

    span = wait_for(handler, timeout=20, what="the users server span")
    assert span.attribute("http.route") == "/api/users/{user_id}"
    assert span.name == "GET /api/users/{user_id}"


def test_proxied_requests_are_named_by_route_prefix_at_the_gateway(
    stack: Stack, receiver: OtlpReceiver, bearer: dict[str, str]
) -> None:
    trace_id = os.urandom(16).hex()
    some_id = uuid.uuid4()
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        response = client.get(
            f"/api/users/{some_id}",
            headers={**bearer, "traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"},
        )
    assert response.status_code == 404, response.text

    def entry() -> Span | None:
        return server_span(receiver.spans(trace_id), "gateway", f"/api/users/{some_id}")

    span = wait_for(entry, timeout=30, what="the gateway's server span")
    assert str(some_id) not in span.name
    assert span.attribute("http.route") == "/api/users/*"


def ancestors(spans: list[Span], span: Span) -> list[Span]:
    """``span``'s parent, grandparent, ... as far as they are in ``spans``."""
    by_id = {s.span_id: s for s in spans}
    found = []
    current = by_id.get(span.parent_id)
    while current is not None and current not in found:
        found.append(current)
        current = by_id.get(current.parent_id)
    return found


def test_an_account_event_continues_the_registration_trace_into_the_worker(
    stack: Stack, receiver: OtlpReceiver
) -> None:
    trace_id = os.urandom(16).hex()
    traceparent = f"00-{trace_id}-{os.urandom(8).hex()}-01"
    email = f"trace-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        response = client.post(
            "/api/auth/register",
            json={"email": email, "password": PASSWORD},
            headers={"traceparent": traceparent},
        )
        assert response.status_code == 202, response.text
        signed_in = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    account_id = signed_in.json()["account"]["id"]
    registration = wait_for(
        lambda: server_span(receiver.spans(trace_id), "auth", "/api/auth/register"),
        timeout=30,
        what="auth's registration span",
    )
    assert registration.attribute("http.route") == "/api/auth/register"

    # auth publishes user.registered; the worker's task upserts the profile in users
    upsert_path = f"/internal/profiles/{account_id}"
    upsert = wait_for(
        lambda: server_span(receiver.spans(trace_id), "users", upsert_path),
        timeout=60,
        what=f"users' span for the worker's upsert, in the registration's trace\n{stack.logs()}",
    )
    assert upsert.method == "PUT"
    assert upsert.attribute("http.route") == "/internal/profiles/{user_id}"

    def task_span() -> Span | None:
        return next(
            (
                s
                for s in receiver.spans(trace_id)
                if s.service == "nova-worker" and s.kind == CONSUMER and REGISTERED in s.name
            ),
            None,
        )

    # the task's span ends (and is exported) after its HTTP calls
    task = wait_for(task_span, timeout=30, what=f"the worker's span of {REGISTERED}")
    spans = receiver.spans(trace_id)
    above_upsert = ancestors(spans, upsert)
    assert above_upsert, "users continues the worker's HTTP call"
    assert above_upsert[0].service == "nova-worker"
    assert above_upsert[0].kind == CLIENT
    assert task in above_upsert, "the worker's HTTP call runs inside the task's span"
    assert registration in ancestors(spans, task), "the task continues auth's registration"
