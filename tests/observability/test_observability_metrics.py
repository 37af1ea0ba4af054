"""What the services really export at ``/metrics``, checked against ``docs/metrics.md``.

Real gateway, auth, users and worker processes (real PostgreSQL and Redis, an SMTP sink) get
traffic that touches every family: registration, logins that succeed and fail, a refresh, GraphQL
across both subgraphs, REST through the proxy, unmatched paths, worker tasks and a duplicate
delivery. Then every process is scraped:

- every documented family is exported by the services the reference names, and every family a
  service exports with series is documented for that service, with the documented labels;
- no label value looks like a raw path with ids, a UUID or an e-mail address;
- hundreds of requests to different ids do not add a single series.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from nova_kit.events import EVENT_TASKS, create_celery_producer
from nova_kit.testing.stack import SERVICES, Stack, running_stack
from nova_worker.sink import SmtpSink
from tests.observability.observability_helpers import (
    DocumentedMetric,
    Family,
    documented_metrics,
    exercise_account,
    own_families,
    scrape,
    wait_for,
)

pytestmark = pytest.mark.slow

Scrapes = dict[str, dict[str, Family]]

UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
# Path segments that are ids: numbers, long hex, long opaque tokens (which contain digits).
ID_SEGMENT = re.compile(r"\d+|[0-9a-f]{16,}|(?=\D*\d)[A-Za-z0-9_-]{22,}", re.I)
OPAQUE = re.compile(r"[0-9a-f]{16,}|(?=\D*\d)[A-Za-z0-9_-]{32,}", re.I)
# Label values that are bounded although they look like ids: the supergraph's digest.
HASH_LABELS = frozenset({"sha256"})
SAMPLE_LINE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? ")

PING = "nova.worker.ping"
SEND_EMAIL = "nova.worker.send_email"
REGISTERED = EVENT_TASKS["user.registered"]


@pytest.fixture(scope="module")
def stack(
    database_url: str,
    redis_url: str,
    sink: SmtpSink,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("metrics-stack")
    with running_stack(
        database_url,
        redis_url,
        workdir,
        worker=True,
        per_service_env={
            # hundreds of requests from one address must not hit the edge's rate limits
            "gateway": {
                "NOVA_GATEWAY_RATE_LIMIT_PER_CLIENT": "100000",
                "NOVA_GATEWAY_RATE_LIMIT_PER_SUBJECT": "100000",
                "NOVA_GATEWAY_SUPERGRAPH_POLL_SECONDS": "1",
            },
            "worker": {
                "NOVA_WORKER_SMTP_HOST": "127.0.0.1",
                "NOVA_WORKER_SMTP_PORT": str(sink.port),
            },
        },
    ) as running:
        yield running


def sum_of(stack: Stack, family: str, labels: dict[str, str]) -> float:
    text = httpx.get(f"{stack.urls['worker']}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(family):
            continue
        series, _, value = line.rpartition(" ")
        if series.split("{", 1)[0] != family:
            continue
        if all(f'{key}="{wanted}"' in series for key, wanted in labels.items()):
            total += float(value)
    return total


def exercise_http(stack: Stack) -> dict[str, str]:
    """Requests touching every HTTP family of gateway, auth and users; the account's bearer."""
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        bearer = exercise_account(client, "metrics")
    with httpx.Client(timeout=30) as direct:
        # users' own port: public profiles need no token; an unknown id is a 404
        unknown = direct.get(f"{stack.urls['users']}/api/users/{uuid.uuid4()}")
        assert unknown.status_code == 404, unknown.text
        assert unknown.json()["code"] == "user_not_found"
    return bearer


def exercise_worker(stack: Stack, redis_url: str) -> None:
    """Ping tasks, and one e-mail delivered twice under one idempotency key."""
    producer = create_celery_producer(redis_url, name="nova-observability-test")
    try:
        for _ in range(3):
            producer.send_task(PING, queue="default")
        key = f"metrics-{uuid.uuid4().hex[:8]}"
        email = {
            "to": "someone@example.com",
            "template": "plain",
            "context": {"subject": "Hello", "body": "Hello from the metrics test."},
            "idempotency_key": key,
        }
        for _ in range(2):
            producer.send_task(SEND_EMAIL, kwargs=email, queue="default")
    finally:
        producer.close()
    wait_for(
        lambda: sum_of(stack, "worker_tasks_total", {"task": PING, "outcome": "succeeded"}) >= 3,
        timeout=60,
        what=f"three {PING} tasks to succeed\n{stack.logs()}",
    )
    wait_for(
        lambda: sum_of(stack, "worker_tasks_total", {"task": REGISTERED, "outcome": "succeeded"}),
        timeout=60,
        what=f"the worker to handle the registration event\n{stack.logs()}",
    )
    wait_for(
        lambda: sum_of(stack, "worker_duplicate_deliveries_total", {"task": SEND_EMAIL}) >= 1,
        timeout=60,
        what=f"the second delivery of one e-mail to count as a duplicate\n{stack.logs()}",
    )


@dataclass(frozen=True)
class Traffic:
    bearer: dict[str, str]
    scrapes: Scrapes


@pytest.fixture(scope="module")
def traffic(stack: Stack, redis_url: str) -> Traffic:
    bearer = exercise_http(stack)
    exercise_worker(stack, redis_url)
    wait_for(
        lambda: any(
            sample.labels == {"outcome": "unchanged"}
            for sample in scrape(stack.gateway)["gateway_supergraph_reloads_total"].samples
        ),
        timeout=15,
        what="the gateway to poll its unchanged supergraph",
    )
    return Traffic(bearer, {name: scrape(url) for name, url in stack.urls.items()})


@pytest.fixture(scope="module")
def scrapes(traffic: Traffic) -> Scrapes:
    return traffic.scrapes


@pytest.fixture(scope="module")
def documented() -> dict[str, DocumentedMetric]:
    metrics = documented_metrics()
    assert len(metrics) > 20
    return metrics


def test_the_reference_names_real_types_and_services(
    documented: dict[str, DocumentedMetric],
) -> None:
    for name, metric in documented.items():
        assert metric.type in {"counter", "gauge", "histogram"}, name
        assert metric.services, name
        assert metric.services <= set(SERVICES), name
        assert metric.used_by, name
        assert name.endswith("_total") == (metric.type == "counter"), name


def test_every_documented_family_is_exported_by_the_services_the_reference_names(
    scrapes: Scrapes, documented: dict[str, DocumentedMetric]
) -> None:
    missing = [
        f"{service}: {name}"
        for name, metric in documented.items()
        for service in sorted(metric.services)
        if name not in scrapes[service]
    ]
    assert not missing, "documented but not exported:\n" + "\n".join(missing)
    wrong_type = [
        f"{service}: {name} is a {scrapes[service][name].type}, documented as {metric.type}"
        for name, metric in documented.items()
        for service in sorted(metric.services)
        if scrapes[service][name].type != metric.type
    ]
    assert not wrong_type, "\n".join(wrong_type)


def test_every_exported_family_is_documented_for_its_service(
    scrapes: Scrapes, documented: dict[str, DocumentedMetric]
) -> None:
    undocumented = []
    for service, families in scrapes.items():
        for name, family in own_families(families).items():
            metric = documented.get(name)
            if metric is None:
                undocumented.append(f"{service}: {name} ({family.type})")
            elif family.samples and service not in metric.services:
                undocumented.append(f"{service}: {name} has series but is not documented for it")
    assert not undocumented, "exported but not in docs/metrics.md:\n" + "\n".join(undocumented)


def test_exported_labels_are_the_documented_labels(
    scrapes: Scrapes, documented: dict[str, DocumentedMetric]
) -> None:
    checked = 0
    for service, families in scrapes.items():
        for name, family in own_families(families).items():
            if not family.samples or name not in documented:
                continue
            checked += 1
            assert family.label_names() == documented[name].labels, f"{service}: {name}"
    # the traffic above gives series to most families
    assert checked >= 30


def test_traffic_shows_up_under_route_templates_and_outcomes(scrapes: Scrapes) -> None:
    def series(service: str, name: str) -> list[dict[str, str]]:
        return [s.labels for s in scrapes[service][name].samples]

    users_routes = {s["route"] for s in series("users", "http_server_requests_total")}
    assert "/api/users/me" in users_routes
    assert "/api/users/{user_id}" in users_routes
    gateway_routes = {s["route"] for s in series("gateway", "http_server_requests_total")}
    assert {"/graphql", "/api/auth/*", "/api/users/*", "<unmatched>"} <= gateway_routes
    logins = {
        s["outcome"]
        for s in series("auth", "nova_auth_operations_total")
        if s["operation"] == "login"
    }
    assert logins == {"ok", "invalid_credentials"}
    fetched = {
        (s["subgraph"], s["outcome"]) for s in series("gateway", "gateway_subgraph_fetches_total")
    }
    assert {("auth", "success"), ("users", "success")} <= fetched
    assert {s["state"] for s in series("auth", "db_client_connections")} == {"used", "idle"}
    assert {s["queue"] for s in series("worker", "worker_queue_depth")} >= {"default", "events"}


def looks_like_an_id(value: str) -> bool:
    """A UUID, an e-mail address, an opaque token, or a path with an id segment in it."""
    if UUID.search(value) or "@" in value:
        return True
    if "/" not in value:
        return bool(OPAQUE.fullmatch(value))
    return any(ID_SEGMENT.fullmatch(part) for part in value.split("/") if part)


def test_the_cardinality_guard_recognises_ids() -> None:
    for raw in (
        "/api/users/5f0c6a56-1111-4b7e-9c1d-0123456789ab",
        "/api/users/42",
        "/files/0123456789abcdef0123",
        "ada@example.com",
        "5f0c6a5611114b7e9c1d0123456789ab",
        "/api/sessions/dGhpcyBpcyBhbiBvcGFxdWUgdG9rZW4x",
    ):
        assert looks_like_an_id(raw), raw
    for bounded in (
        "/api/users/{user_id}",
        "/api/users/*",
        "<unmatched>",
        "2xx",
        "0",
        "/api/auth/password-reset-confirmation",
        "deactivate-inactive-users-every-night",
    ):
        assert not looks_like_an_id(bounded), bounded


def test_no_label_value_is_a_raw_path_an_id_or_an_address(scrapes: Scrapes) -> None:
    offending = [
        f"{service}: {sample.name}{{{label}={value!r}}}"
        for service, families in scrapes.items()
        for family in families.values()
        for sample in family.samples
        for label, value in sample.labels.items()
        if label not in HASH_LABELS and looks_like_an_id(value)
    ]
    assert not offending, "\n".join(offending)
    checked = sum(len(s.labels) for f in scrapes["gateway"].values() for s in f.samples)
    assert checked > 100


def series(base_url: str) -> set[str]:
    """Every series (name and labels, without the value) of a scrape."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    return {line.rpartition(" ")[0] for line in text.splitlines() if SAMPLE_LINE.match(line)}


def requests_to_many_ids(stack: Stack, bearer: dict[str, str], count: int) -> None:
    """Requests to ``count`` different ids: REST and GraphQL, matched and unmatched routes."""
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        for index in range(count):
            some_id = uuid.uuid4()
            kind = index % 5
            if kind == 0:
                response = client.get(f"/api/users/{some_id}", headers=bearer)
            elif kind == 1:
                response = client.get(f"/nowhere/{some_id}/{index}")
            elif kind == 2:
                response = client.post(
                    "/graphql",
                    json={
                        "query": "query($id: ID!) { user(id: $id) { id } }",
                        "variables": {"id": str(some_id)},
                    },
                    headers=bearer,
                )
            elif kind == 3:
                response = client.get(f"/api/auth/admin/accounts/{some_id}", headers=bearer)
            else:
                response = client.get(f"/api/users/{index}", headers=bearer)
            assert response.status_code < 500, response.text


def test_requests_to_different_ids_add_no_series(stack: Stack, traffic: Traffic) -> None:
    bearer = traffic.bearer
    # a first round creates every label combination these requests can produce
    requests_to_many_ids(stack, bearer, 50)
    http = {name: url for name, url in stack.urls.items() if name != "worker"}
    before = {name: series(url) for name, url in http.items()}
    requests_to_many_ids(stack, bearer, 300)
    after = {name: series(url) for name, url in http.items()}
    for name in http:
        assert after[name] == before[name], (
            f"{name}: new series {sorted(after[name] - before[name])}, "
            f"gone {sorted(before[name] - after[name])}"
        )
    assert sum(len(found) for found in before.values()) > 300
