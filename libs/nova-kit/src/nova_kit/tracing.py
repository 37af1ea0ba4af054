"""OpenTelemetry tracing: OTLP export when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, W3C propagation.

``OTEL_TRACES_EXPORTER=console`` also prints every finished span as one JSON line, so a
developer sees traces in ``make dev``'s log stream without a collector.

Without an endpoint the tracer provider still creates spans (so ``trace_id`` reaches the logs
and ``traceparent`` is propagated) but exports nothing.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

_provider: TracerProvider | None = None


def configure_tracing(
    service: str, version: str = "0.1.0", otlp_endpoint: str | None = None
) -> TracerProvider:
    """Install the global tracer provider once per process (later calls return the first)."""
    global _provider  # noqa: PLW0603 - one provider per process, as OpenTelemetry requires
    if _provider is not None:
        return _provider
    propagate.set_global_textmap(
        CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    )
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"nova-{service}", "service.version": version})
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint = f"{endpoint}/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        logger.info("exporting traces", extra={"otlp_endpoint": endpoint})
    if "console" in os.environ.get("OTEL_TRACES_EXPORTER", "").split(","):
        # A developer's trace viewer without a cluster: one JSON line per finished span.
        provider.add_span_processor(
            SimpleSpanProcessor(
                ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n")
            )
        )
    trace.set_tracer_provider(provider)
    _provider = provider
    _instrument_httpx()
    return provider


def _instrument_httpx() -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def instrument_engine(engine: AsyncEngine) -> None:
    """Spans for every SQL statement run through ``engine``."""
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, enable_commenter=False)


class RouteSpanMiddleware(ASGIMiddleware):
    """Names the server span after the route template once routing has found it.

    The ASGI span starts before routing, so it can only know the raw path; this middleware runs
    inside the route and renames it ``GET /api/users/{user_id}`` with ``http.route`` set — low
    cardinality, as the HTTP semantic conventions ask.
    """

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        template = scope.get("path_template")
        if template:
            name_server_span(str(scope.get("method", "GET")), str(template))
        await next_app(scope, receive, send)


def name_server_span(method: str, route: str) -> None:
    """Name the current server span ``METHOD route`` and set ``http.route`` (for handlers that
    learn their route late, such as mounted apps)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)


def shutdown_tracing() -> None:
    if _provider is not None:
        _provider.force_flush(timeout_millis=2000)
