"""Prometheus RED metrics by route template, and the ``/metrics`` endpoint.

Names follow OpenTelemetry's HTTP semantic conventions in Prometheus form. Labels are bounded:
the route *template* (``/api/users/{user_id:uuid}``), never the raw path; the status *class*
(``2xx``), never user ids.

A service running several worker processes (``nova_kit.server``, ``workers`` above 1) keeps its
metrics in ``prometheus_client``'s multi-process mode: the supervisor sets
``PROMETHEUS_MULTIPROC_DIR`` for its workers, each worker writes its values to memory-mapped
files there, and ``/metrics`` (any worker) or the metrics port (the supervisor) reads them all:
counters and histograms are summed, ``http_server_active_requests`` and the pool gauges are
summed over the live workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from nova_kit.logs import HTTP_SCOPE

disable_created_metrics()  # type: ignore[no-untyped-call]

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
MULTIPROCESS = bool(os.environ.get(MULTIPROCESS_DIR_ENV))
"""Whether this process is one of several workers sharing their metrics through files."""

if TYPE_CHECKING:
    # Litestar only where an HTTP app uses these; a process without one (the worker, whose
    # database pool records metrics here) does not import it.
    from litestar import Response
    from litestar.types import ASGIApp, Message, Receive, Scope, Send
    from sqlalchemy.ext.asyncio import AsyncEngine

UNMATCHED_ROUTE = "<unmatched>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Latency buckets for a service whose answers are mostly in milliseconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUEST_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Duration of HTTP server requests, by method, route template and status class.",
    ["method", "route", "status_class"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "http_server_requests",
    "HTTP server requests, by method, route template and status class.",
    ["method", "route", "status_class"],
)
HTTP_ACTIVE_REQUESTS = Gauge(
    "http_server_active_requests",
    "HTTP server requests in flight, by method.",
    ["method"],
    multiprocess_mode="livesum",
)
BUILD_INFO = Gauge(
    "nova_build_info",
    "Always 1; labels carry the service name and version.",
    ["service", "version"],
    multiprocess_mode="max",
)


REDIS_ERRORS = Counter(
    "redis_client_errors",
    "Redis commands that failed, by client (ratelimit, revocations) and error "
    "(timeout, connection, other).",
    ["client", "error"],
)
DB_CONNECTION_WAIT = Histogram(
    "db_client_connection_wait_time_seconds",
    "Time to obtain a connection from the pool (OTel db.client.connection.wait_time).",
    ["pool"],
    buckets=LATENCY_BUCKETS,
)
DB_CONNECTION_TIMEOUTS = Counter(
    "db_client_connection_timeouts",
    "Pool checkouts that gave up after the pool timeout (OTel db.client.connection.timeouts).",
    ["pool"],
)
REVOCATION_UNAVAILABLE = Counter(
    "token_revocation_checks_unavailable",
    "Token revocation checks Redis could not answer in time, by policy (closed: refused, "
    "open: accepted).",
    ["policy"],
)
TOKEN_VERIFICATIONS = Counter(
    "token_verifications",
    "Access-token verifications, by outcome (ok, or the reason of the rejection).",
    ["outcome"],
)


def redis_error_kind(error: BaseException) -> str:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    if isinstance(error, RedisTimeoutError | TimeoutError):
        return "timeout"
    if isinstance(error, RedisConnectionError | ConnectionError | OSError):
        return "connection"
    return "other"


class PoolCollector(Collector):
    """Connection-pool usage of every engine a service registers (OTel ``db.client.connection``)."""

    def __init__(self) -> None:
        self.engines: dict[str, AsyncEngine] = {}

    def register(self, name: str, engine: AsyncEngine) -> None:
        self.engines[name] = engine

    def collect(self) -> Iterator[Metric]:
        usage = GaugeMetricFamily(
            "db_client_connections",
            "Connections of the service's database pool, by pool and state (used, idle).",
            labels=["pool", "state"],
        )
        limit = GaugeMetricFamily(
            "db_client_connections_max", "Pool size of the database pool.", labels=["pool"]
        )
        for name, engine in list(self.engines.items()):
            # Imported once there is an engine: a service without a database has no SQLAlchemy.
            from nova_kit.db import pool_status

            status = pool_status(engine)
            usage.add_metric([name, "used"], status["checked_out"])
            usage.add_metric([name, "idle"], status["idle"])
            limit.add_metric([name], status["size"])
        yield usage
        yield limit


DB_POOLS = PoolCollector()
if not MULTIPROCESS:
    REGISTRY.register(DB_POOLS)
    _POOL_USAGE: Gauge | None = None
    _POOL_LIMIT: Gauge | None = None
else:
    # The workers' pools, summed over the live workers; kept up to date on every checkout and
    # checkin (``nova_kit.db.TimedQueuePool``) since the worker answering a scrape cannot read
    # the others' pools.
    _POOL_USAGE = Gauge(
        "db_client_connections",
        "Connections of the service's database pool, by pool and state (used, idle).",
        ["pool", "state"],
        multiprocess_mode="livesum",
        registry=None,
    )
    _POOL_LIMIT = Gauge(
        "db_client_connections_max",
        "Pool size of the database pool.",
        ["pool"],
        multiprocess_mode="livesum",
        registry=None,
    )


def record_pool(name: str, checked_out: int, idle: int, size: int) -> None:
    """Publish a pool's usage for the other workers' scrapes (multi-process mode only)."""
    if _POOL_USAGE is None or _POOL_LIMIT is None:
        return
    _POOL_USAGE.labels(name, "used").set(checked_out)
    _POOL_USAGE.labels(name, "idle").set(idle)
    _POOL_LIMIT.labels(name).set(size)


def exposition_registry(directory: str | None = None) -> CollectorRegistry:
    """The registry a scrape reads: this process's, or every worker's files in multi-process
    mode."""
    directory = directory or os.environ.get(MULTIPROCESS_DIR_ENV)
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def serve_metrics_port(port: int, host: str, directory: str | None = None) -> WSGIServer:
    """``/metrics`` on its own port, in a thread (the supervisor's, with several workers)."""
    server, _ = start_http_server(port, addr=host, registry=exposition_registry(directory))
    return server


def forget_worker(pid: int, directory: str) -> None:
    """Drop a stopped worker's live gauges (its counters and histograms stay in the sums)."""
    multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def status_class(status: int) -> str:
    return f"{status // 100}xx"


@lru_cache(maxsize=4096)
def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once: the hot paths count every request, and
    ``labels`` takes a lock and builds a key on each call. Bounded: label values are route
    templates, methods, status classes and the like, never ids."""
    return metric.labels(*labels)


def request_method(scope: Scope) -> str:
    """The ``method`` label of a request: its method, or ``OTHER`` for an unknown one."""
    method = str(scope.get("method", "GET"))
    return method if method in KNOWN_METHODS else "OTHER"


def record_request(method: str, route: str | None, status: int, started: float) -> None:
    """Count a request answered ``status`` that began at ``started`` (``time.perf_counter()``)
    under its route template (``<unmatched>`` without one)."""
    labels = (method, route or UNMATCHED_ROUTE, status_class(status))
    child(HTTP_REQUEST_DURATION, *labels).observe(time.perf_counter() - started)
    child(HTTP_REQUESTS, *labels).inc()


class MetricsMiddleware:
    """Records RED metrics for every HTTP request, matched or not (404s count as unmatched)."""

    def __init__(self, app: ASGIApp, *, exclude: frozenset[str] = frozenset({"/metrics"})) -> None:
        self.app = app
        self.exclude = exclude

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != HTTP_SCOPE or scope["path"] in self.exclude:
            await self.app(scope, receive, send)
            return
        method = request_method(scope)
        status = 500
        start = time.perf_counter()

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        active = child(HTTP_ACTIVE_REQUESTS, method)
        active.inc()
        try:
            await self.app(scope, receive, record_status)
        finally:
            active.dec()
            record_request(method, str(scope.get("path_template") or ""), status, start)


EXPOSITION_MEDIA_TYPE = "; ".join(
    part for part in CONTENT_TYPE_LATEST.split("; ") if not part.lower().startswith("charset=")
)
"""Prometheus' text format without its ``charset``: Litestar adds ``charset=utf-8`` to every
``text/*`` response itself, and one is all a Content-Type may carry."""


def render_metrics(registry: CollectorRegistry | None = None) -> Response[bytes]:
    from litestar import Response

    return Response(
        content=generate_latest(registry or exposition_registry()),
        media_type=EXPOSITION_MEDIA_TYPE,
        headers={"Cache-Control": "no-store"},
    )
