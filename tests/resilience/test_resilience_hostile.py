"""Hostile input: generated requests (schemathesis) against every service's OpenAPI and the
gateway's GraphQL, then hand-written abuse of the gateway and the services — oversize bodies,
deep, aliased and huge GraphQL documents, malformed JSON, invalid UTF-8, huge headers, null
bytes. Nothing may answer 5xx; every refusal is a clear 4xx; what the gateway can refuse on its
own never reaches a subgraph or an upstream, as the upstreams' own metrics show.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from nova_kit.embedded import free_port
from nova_kit.testing.processes import ServiceProcess
from tests.fuzzing import (
    GRAPHQL_CHECKS,
    NOVA_OPENAPI_CHECKS,
    WITHOUT_STATEFUL,
    FuzzRun,
    run_schemathesis,
)
from tests.resilience.conftest import Observe
from tests.resilience.harness import PROFILE, System, answer_code, load_client, register

SHORT = PROFILE.name == "short"
EXAMPLES = 5 if SHORT else 60
"""Examples per operation and phase; the coverage phase adds its boundary cases on top."""
PHASES = ("examples", "fuzzing") if SHORT else WITHOUT_STATEFUL
RUN_TIMEOUT = 240.0
"""No single schemathesis run may take longer (the deadline of a hung service)."""
IDENTITIES = ("anonymous", "admin") if SHORT else ("anonymous", "user", "admin")
"""Who the generated requests come from: no token, a user's, an administrator's."""
SESSION_ENDING = (
    r"(logout|change-password|changePassword|deleteAccount|DELETE /api/\w+/me$|/disable$)"
)
"""Operations left out of the signed-in runs: they end the session whose token the run uses (an
administrator may disable their own account, whose id the run learns from ``/me``); the
anonymous runs still send them."""
ADMIN_PASSWORD = "correct horse battery staple 42"

# The gateway's limits (defaults of NOVA_GATEWAY_*).
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000
MAX_ROOT_FIELDS = 20
GRAPHQL_MAX_BODY = 262_144
PROXY_MAX_BODY = 10 * 1024 * 1024
SERVICE_MAX_BODY = 1_048_576
"""nova-kit's default request body limit (auth, users)."""

UNREADABLE = "bad_request"
"""A body a service cannot read (malformed JSON, not UTF-8): 400 ``bad_request`` from every
service (nova-kit's one error policy)."""

UNHANDLED = re.compile(r'"level": "(error|critical)".*(unhandled|Traceback)', re.IGNORECASE)
"""A JSON log line of an error no handler expected (nova-kit logs those as ``unhandled error``)."""


# --- metrics ---------------------------------------------------------------------------------


def metric_total(text: str, name: str, keep: Callable[[dict[str, str]], bool] = bool) -> float:
    """Sum of the samples called ``name`` whose labels ``keep`` accepts (every sample when no
    filter is given)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and (keep is bool or keep(sample.labels)):
                total += sample.value
    return total


def _served(labels: dict[str, str]) -> bool:
    """A request an upstream served for a client: not a probe, not internal traffic (the worker
    calls ``/internal``), not an unmatched path."""
    route = labels.get("route", "")
    return not route.startswith(("/internal", "/health", "/ready", "/metrics"))


@dataclass(frozen=True)
class UpstreamCounts:
    auth: float
    users: float
    subgraph_fetches: float
    proxied: float

    def __sub__(self, other: UpstreamCounts) -> UpstreamCounts:
        return UpstreamCounts(
            self.auth - other.auth,
            self.users - other.users,
            self.subgraph_fetches - other.subgraph_fetches,
            self.proxied - other.proxied,
        )

    @property
    def any(self) -> bool:
        return any(v > 0 for v in (self.auth, self.users, self.subgraph_fetches, self.proxied))

    def __str__(self) -> str:
        return (
            f"auth {self.auth:g}, users {self.users:g}, subgraph fetches "
            f"{self.subgraph_fetches:g}, proxied {self.proxied:g}"
        )


async def upstream_counts(client: httpx.AsyncClient, system: System) -> UpstreamCounts:
    """Requests the upstreams served (their own ``http_server_requests_total``) and the calls
    the gateway made (subgraph fetches; proxied requests, answered or failed)."""
    auth, users, gateway = await asyncio.gather(
        *(client.get(f"{system.url(name)}/metrics") for name in ("auth", "users", "gateway"))
    )
    g = gateway.text
    return UpstreamCounts(
        metric_total(auth.text, "http_server_requests_total", _served),
        metric_total(users.text, "http_server_requests_total", _served),
        metric_total(g, "gateway_subgraph_fetches_total"),
        metric_total(g, "gateway_upstream_request_duration_seconds_count")
        + metric_total(g, "gateway_upstream_failures_total"),
    )


async def settled_counts(client: httpx.AsyncClient, system: System) -> UpstreamCounts:
    """:func:`upstream_counts` once they stop moving: a service counts a request after its
    answer is sent, so the count of a request the client already has back can still be on its
    way (a registration just before a case, seen on a slow machine). Bounded: at most 40 reads
    50 ms apart, then the last one."""
    counts = await upstream_counts(client, system)
    for _ in range(40):
        await asyncio.sleep(0.05)
        again = await upstream_counts(client, system)
        if again == counts:
            break
        counts = again
    return counts


# --- hand-written cases ----------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    status: int
    code: str
    expected: str
    upstream: UpstreamCounts
    must_stay_at_edge: bool
    ok: bool
    problems: list[str] = field(default_factory=list)


def raw_exchange(base_url: str, request: bytes, timeout: float = 15.0) -> tuple[int, bytes]:
    """Send bytes as they are (what httpx would refuse to send) and read one HTTP/1.1 answer:
    its status and body. The request must say ``Connection: close``."""
    host, port = base_url.removeprefix("http://").split(":")
    received = b""
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(request)
        for _ in range(10_000):
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    assert match is not None, f"no HTTP answer: {received[:200]!r}"
    return int(match.group(1)), body


async def chunked(total: int, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
    """A body without Content-Length (sent chunked)."""
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        yield b"a" * part
        sent += part


def deep_introspection(levels: int) -> str:
    """A valid document ``levels`` deep: ``__schema { types { fields { type { fields ...``."""
    inner = "name"
    nested = ["fields", "type"] * levels
    for name in reversed(nested[: levels - 2]):
        inner = f"{name} {{ {inner} }}"
    return f"{{ __schema {{ types {{ {inner} }} }} }}"


# --- the scenario ----------------------------------------------------------------------------


@pytest.mark.timeout(900)
@pytest.mark.scenario(
    8,
    "Hostile input",
    expected="schemathesis against auth's, users' and the gateway's OpenAPI and the gateway's "
    "GraphQL (anonymous, as a user, as an administrator): no 5xx, every 4xx a JSON error; "
    "oversize bodies, deep/aliased/huge GraphQL documents, malformed JSON, invalid UTF-8, huge "
    "headers, null bytes: a clear 4xx, and no subgraph or upstream call for what the gateway "
    "can refuse itself; afterwards every service healthy and no unhandled error logged",
)
async def test_hostile_input(system: System, observe: Observe, tmp_path: Path) -> None:
    gateway = system.gateway
    async with load_client(timeout=60) as client:
        # -- generated requests ---------------------------------------------------------------
        targets = {
            "auth": (f"{system.url('auth')}/schema/openapi.json", system.url("auth")),
            "users": (f"{system.url('users')}/schema/openapi.json", system.url("users")),
            "gateway REST": (f"{gateway}/api/openapi.json", gateway),
            "gateway GraphQL": (f"{gateway}/graphql", None),
        }
        runs: dict[str, list[FuzzRun]] = {}
        for name, (location, url) in targets.items():
            graphql = url is None
            for identity in IDENTITIES:
                headers: tuple[str, ...] = ()
                exclude: tuple[str, ...] = ()
                if identity != "anonymous":
                    token = await sign_in(client, system, administrator=identity == "admin")
                    headers = (f"Authorization: Bearer {token}",)
                    exclude = ("--exclude-name-regex", SESSION_ENDING)
                label = f"{name} {identity}"
                run = await asyncio.to_thread(
                    run_schemathesis,
                    location,
                    url=url,
                    report_dir=tmp_path / "schemathesis" / label.replace(" ", "-"),
                    headers=headers,
                    checks=GRAPHQL_CHECKS if graphql else NOVA_OPENAPI_CHECKS,
                    max_examples=EXAMPLES,
                    phases=PHASES,
                    request_timeout=15,
                    timeout=RUN_TIMEOUT,
                    extra_args=exclude,
                )
                runs.setdefault(name, []).append(run)
                print(f"[8] schemathesis {label}: {run.generated} cases, {dict(run.statuses)}")

        all_runs = [run for group in runs.values() for run in group]
        cases = {name: sum(run.generated for run in group) for name, group in runs.items()}
        server_errors = sum(run.server_errors for run in all_runs)
        client_errors = sum(run.client_errors for run in all_runs)
        failed = sum(run.failed for run in all_runs)
        errored = sum(run.errored for run in all_runs)
        observe(
            f"schemathesis ({EXAMPLES} examples per operation, phases {'/'.join(PHASES)}; "
            f"as {', '.join(IDENTITIES)}): "
            + ", ".join(f"{name} {n} cases" for name, n in cases.items())
            + f" ({sum(cases.values())} in all); {server_errors} x 5xx; {client_errors} x 4xx, "
            + ("all with the JSON error shape" if not failed else f"{failed} cases failed a check")
            + (f"; {errored} errored" if errored else "")
        )

        # -- hand-written cases against the gateway and the services ----------------------------
        token = (
            await register(client, gateway, f"hostile-{uuid.uuid4().hex[:10]}@example.com")
        ).access_token
        token_headers = {"Authorization": f"Bearer {token}"}
        outcomes: list[Outcome] = []

        async def case(
            name: str,
            send: Callable[[], object],
            *,
            status: int | tuple[int, ...],
            code: str | tuple[str, ...] | None,
            at_edge: bool,
        ) -> None:
            before = await settled_counts(client, system)
            answered = send()
            if asyncio.iscoroutine(answered):
                answered = await answered
            if isinstance(answered, httpx.Response):
                got_status, body = answered.status_code, answered.content
            else:
                assert isinstance(answered, tuple)
                got_status, body = answered
            calls = await settled_counts(client, system) - before
            got_code = answer_code(got_status, body)
            statuses = (status,) if isinstance(status, int) else status
            codes = (code,) if isinstance(code, str) else code
            expected = "/".join(map(str, statuses)) + (f" {'/'.join(codes)}" if codes else "")
            problems = []
            if got_status not in statuses:
                problems.append(f"status {got_status}, expected {expected}: {body[:200]!r}")
            if codes is not None and got_code not in codes:
                problems.append(f"code {got_code}, expected {'/'.join(codes)}")
            if at_edge and calls.any:
                problems.append(f"reached an upstream ({calls})")
            outcomes.append(
                Outcome(
                    name, got_status, got_code, expected, calls, at_edge, not problems, problems
                )
            )

        # GraphQL over HTTP: with this media type request errors are 4xx (application/json: 200)
        graphql_response = {"accept": "application/graphql-response+json"}

        def gql_post(body: bytes, content_type: str = "application/json") -> Callable[[], object]:
            return lambda: client.post(
                f"{gateway}/graphql",
                content=body,
                headers={"content-type": content_type, **graphql_response},
            )

        def gql(query: str) -> Callable[[], object]:
            return gql_post(json.dumps({"query": query}).encode())

        def raw(base: str, request: bytes) -> Callable[[], object]:
            return lambda: asyncio.to_thread(raw_exchange, base, request)

        edge = {"at_edge": True}
        await case(
            "GraphQL body over the limit",
            gql_post(
                json.dumps({"query": "{ me { id } }", "pad": "a" * GRAPHQL_MAX_BODY}).encode()
            ),
            status=413,
            code="payload_too_large",
            **edge,
        )
        await case(
            "GraphQL body over the limit, chunked",
            lambda: client.post(
                f"{gateway}/graphql",
                content=chunked(GRAPHQL_MAX_BODY + 4096, 64 * 1024),
                headers={"content-type": "application/json"},
            ),
            status=413,
            code="payload_too_large",
            **edge,
        )
        await case(
            "REST body over the limit",
            lambda: client.post(
                f"{gateway}/api/auth/login",
                content=b"a" * (PROXY_MAX_BODY + 1),
                headers={"content-type": "application/json"},
            ),
            status=413,
            code="payload_too_large",
            **edge,
        )
        await case(
            "REST body over the limit, chunked",
            lambda: client.post(
                f"{gateway}/api/auth/login",
                content=chunked(PROXY_MAX_BODY + 1),
                headers={"content-type": "application/json"},
            ),
            status=413,
            code="payload_too_large",
            **edge,
        )
        await case(
            f"query {MAX_DEPTH + 2} levels deep",
            gql(deep_introspection(MAX_DEPTH + 2)),
            status=400,
            code="MAX_DEPTH_EXCEEDED",
            **edge,
        )
        await case(
            f"{MAX_ALIASES + 10} aliases",
            gql("{ me { " + " ".join(f"a{i}: id" for i in range(MAX_ALIASES + 10)) + " } }"),
            status=400,
            code="MAX_ALIASES_EXCEEDED",
            **edge,
        )
        await case(
            f"{MAX_TOKENS + 1000} tokens",
            gql("{ me { " + " ".join("id" for _ in range(MAX_TOKENS + 1000)) + " } }"),
            status=400,
            code="TOKEN_LIMIT_EXCEEDED",
            **edge,
        )
        await case(
            f"{MAX_ROOT_FIELDS + 5} root fields",
            gql("{ " + " ".join("__typename" for _ in range(MAX_ROOT_FIELDS + 5)) + " }"),
            status=400,
            code="MAX_ROOT_FIELDS_EXCEEDED",
            **edge,
        )
        await case(
            "huge document (250 KB of selections)",
            gql("{ me { " + "id " * 83_000 + "} }"),
            status=400,
            code="TOKEN_LIMIT_EXCEEDED",
            **edge,
        )
        await case(
            "batch while batching is off",
            gql_post(json.dumps([{"query": "{ me { id } }"}] * 2).encode()),
            status=400,
            code="BAD_REQUEST",
            **edge,
        )
        await case(
            "mutation over GET",
            lambda: client.get(f"{gateway}/graphql", params={"query": "mutation { logout }"}),
            status=405,
            code="METHOD_NOT_ALLOWED",
            **edge,
        )
        await case(
            "malformed JSON",
            gql_post(b'{"query": "{ me { id } }"'),
            status=400,
            code="BAD_REQUEST",
            **edge,
        )
        await case(
            "invalid UTF-8 in the body",
            gql_post(b'{"query": "{ me { id \xff\xfe } }"}'),
            status=400,
            code="BAD_REQUEST",
            **edge,
        )
        await case(
            "invalid UTF-8 in the query string (percent-encoded)",
            lambda: client.get(
                f"{gateway}/graphql?query=%7B%20me%20%7B%20id%20%FF%FE%20%7D%20%7D",
                headers=graphql_response,
            ),
            status=400,
            code="GRAPHQL_PARSE_FAILED",
            **edge,
        )
        await case(
            "invalid UTF-8 in the query string (raw bytes)",
            raw(
                gateway,
                b"GET /graphql?query=\xff\xfe HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            ),
            status=400,
            code=None,
            **edge,
        )
        await case(
            "unknown content type, body not JSON",
            gql_post(b"<query>{ me { id } }</query>", "application/x-nova-unknown"),
            status=415,
            code="UNSUPPORTED_MEDIA_TYPE",
            **edge,
        )
        await case(
            "null byte in the document",
            gql("{ me { id\u0000 } }"),
            status=400,
            code="GRAPHQL_PARSE_FAILED",
            **edge,
        )
        await case(
            "null byte in a header",
            raw(
                gateway,
                b"GET /graphql HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n",
            ),
            status=400,
            code=None,
            **edge,
        )
        await case(
            "null byte in a REST path",
            lambda: client.get(f"{gateway}/api/users/%00", headers=token_headers),
            status=404,
            code="not_found",
            **edge,
        )
        await case(
            "64 KiB header",
            lambda: client.get(
                f"{gateway}/graphql?query={{__typename}}", headers={"x-big": "a" * 65536}
            ),
            status=431,
            code="request_header_fields_too_large",
            **edge,
        )
        await case(
            "1000 headers",
            lambda: client.get(
                f"{gateway}/graphql?query={{__typename}}",
                headers=[(f"x-h{i}", "v") for i in range(1000)],
            ),
            status=431,
            code="request_header_fields_too_large",
            **edge,
        )
        # What only an upstream can judge is proxied; it must still be a clear 4xx.
        proxied = {"at_edge": False}
        # The control: a valid query is counted where the refused ones were not.
        await case(
            "valid query (control)",
            lambda: client.post(
                f"{gateway}/graphql", json={"query": "{ me { id } }"}, headers=token_headers
            ),
            status=200,
            code=None,
            **proxied,
        )
        await case(
            "REST malformed JSON (proxied)",
            lambda: client.post(
                f"{gateway}/api/auth/login",
                content=b'{"email": ',
                headers={"content-type": "application/json"},
            ),
            status=400,
            code="bad_request",
            **proxied,
        )
        await case(
            "REST invalid UTF-8 (proxied)",
            lambda: client.post(
                f"{gateway}/api/auth/login",
                content=b'{"email": "\xff\xfe", "password": "x"}',
                headers={"content-type": "application/json"},
            ),
            status=400,
            code="bad_request",
            **proxied,
        )

        def direct(
            url: str, method: str, headers: dict[str, str], body: bytes
        ) -> Callable[[], object]:
            return lambda: client.request(
                method, url, content=body, headers={**headers, "content-type": "application/json"}
            )

        def big_header(url: str) -> Callable[[], object]:
            return lambda: client.get(url, headers={"x-big": "a" * 65536})

        direct_targets: list[tuple[str, str, str, dict[str, str]]] = [
            ("auth", "POST", "/api/auth/login", {}),
            ("users", "PATCH", "/api/users/me", token_headers),
        ]
        for service, method, path, credentials in direct_targets:
            url = f"{system.url(service)}{path}"
            await case(
                f"{service}: malformed JSON",
                direct(url, method, credentials, b'{"a": '),
                status=400,
                code=UNREADABLE,
                **proxied,
            )
            await case(
                f"{service}: invalid UTF-8",
                direct(url, method, credentials, b'{"a": "\xff\xfe"}'),
                status=400,
                code=UNREADABLE,
                **proxied,
            )
            await case(
                f"{service}: body over the limit",
                direct(url, method, credentials, b"a" * (SERVICE_MAX_BODY + 1)),
                status=413,
                code="payload_too_large",
                **proxied,
            )
            await case(
                f"{service}: null bytes in JSON",
                direct(url, method, credentials, b'{"a": "\\u0000\x00"}'),
                status=(400, 422),
                code=None,
                **proxied,
            )
            await case(
                f"{service}: 64 KiB header",
                big_header(f"{system.url(service)}/health"),
                status=431,
                code="request_header_fields_too_large",
                **proxied,
            )

        # Introspection where it is off (the prod default): a gateway of its own.
        production = await asyncio.to_thread(
            start_gateway_variant, system, {"NOVA_GATEWAY_INTROSPECTION": "false"}
        )
        try:
            await case(
                "introspection where it is off",
                lambda: client.post(
                    f"{production.base_url}/graphql",
                    json={"query": "{ __schema { types { name } } }"},
                    headers=graphql_response,
                ),
                status=400,
                code="INTROSPECTION_DISABLED",
                **edge,
            )
        finally:
            await asyncio.to_thread(production.stop)

        # -- afterwards -----------------------------------------------------------------------
        health = {
            name: (await client.get(f"{system.url(name)}/health")).status_code
            for name in ("gateway", "auth", "users", "worker")
        }
    unhandled = [
        f"{log.name}: {line[:300]}"
        for log in sorted(system.workdir.glob("*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if UNHANDLED.search(line)
    ]
    running = {
        name: system.process(name).running() for name in ("gateway", "auth", "users", "worker")
    }

    at_edge = [o for o in outcomes if o.must_stay_at_edge]
    leaked = [o for o in at_edge if o.upstream.any]
    bad = [o for o in outcomes if not o.ok]
    print(
        "\n".join(f"[8]   {o.name}: {o.status} {o.code} (upstream: {o.upstream})" for o in outcomes)
    )
    observe(
        f"gateway, refused at the edge: {len(at_edge) - len(leaked)}/{len(at_edge)} cases "
        f"with 0 subgraph/upstream calls — "
        + ", ".join(f"{o.name} {o.status} {o.code}" for o in at_edge)
    )
    proxied_outcomes = [o for o in outcomes if not o.must_stay_at_edge]
    observe(
        "proxied and direct (auth, users): "
        + ", ".join(f"{o.name} {o.status} {o.code}".strip() for o in proxied_outcomes)
    )
    observe(
        f"{len(outcomes) - len(bad)}/{len(outcomes)} hand-written cases as expected; "
        f"afterwards /health {health}; processes running {all(running.values())}; "
        f"{len(unhandled)} unhandled errors logged"
    )

    for name, group in runs.items():
        for run in group:
            assert run.generated > 0, f"{name}: nothing was generated\n{run.tail()}"
            assert run.failed == 0, f"{name}:\n{run.tail()}"
            assert run.returncode == 0, f"{name}:\n{run.tail()}"
            assert run.errored == 0, f"{name}: errors\n{run.tail()}"
    assert server_errors == 0
    assert not bad, "\n".join(f"{o.name}: {'; '.join(o.problems)}" for o in bad)
    control = next(o for o in outcomes if o.name == "valid query (control)")
    assert control.upstream.subgraph_fetches >= 1, control.upstream
    assert control.upstream.users >= 1, control.upstream
    assert all(status == 200 for status in health.values()), health
    assert all(running.values()), running
    assert not unhandled, "\n".join(unhandled[:5])


async def sign_in(client: httpx.AsyncClient, system: System, *, administrator: bool) -> str:
    """An access token of a new account: a user registered through the gateway, or an
    administrator made as an operator makes one (``nova-auth create-admin``)."""
    email = f"fuzz-{uuid.uuid4().hex[:10]}@example.com"
    if not administrator:
        return (await register(client, system.gateway, email)).access_token
    auth = system.process("auth")
    created = await asyncio.to_thread(
        subprocess.run,
        [auth.argv[0], "create-admin", "--email", email, "--password", ADMIN_PASSWORD],
        env={**os.environ, **auth.env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    login = await client.post(
        f"{system.gateway}/api/auth/login", json={"email": email, "password": ADMIN_PASSWORD}
    )
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


def start_gateway_variant(system: System, env: dict[str, str]) -> ServiceProcess:
    """One more gateway in front of the same upstreams, with ``env`` on top of the system's."""
    original = system.process("gateway")
    port = free_port()
    variant = ServiceProcess(
        "gateway-variant",
        original.argv,
        {**original.env, "NOVA_GATEWAY_PORT": str(port), **env},
        system.workdir / "gateway-variant.log",
        f"http://127.0.0.1:{port}",
    )
    for attempt in range(2):  # a port taken between free_port() and bind: once more
        variant.start()
        try:
            variant.wait_until_ready(timeout=90)
        except RuntimeError:
            variant.stop()
            if attempt:
                raise
            port = free_port()
            variant.env = {**variant.env, "NOVA_GATEWAY_PORT": str(port)}
            variant.base_url = f"http://127.0.0.1:{port}"
            continue
        except BaseException:
            variant.stop()
            raise
        break
    return variant
