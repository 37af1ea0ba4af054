"""OpenTelemetry tracing: OTLP export when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, W3C propagation.

``OTEL_TRACES_EXPORTER=console`` also prints every finished span as one JSON line, so a
developer sees traces in ``make dev``'s log stream without a collector.

Without an endpoint (and without the console exporter) nothing records spans: a
:class:`ExportAwareTracerProvider` gives every request and outgoing call a span context of its
own — the caller's trace id and sampled flag, or a new trace id — so ``trace_id`` still reaches
the logs and ``traceparent`` still goes to the next service, at none of the cost of recording
spans nobody exports (attributes, timestamps, one span per SQL statement).
"""

from __future__ import annotations

import logging
import os
import weakref
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.instrumentation.asgi import asgi_getter
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider, sampling
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from litestar.types import Scope
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

_provider: TracerProvider | None = None
_IDS = RandomIdGenerator()


def propagated_span(
    context: Context | None = None, sampler: sampling.Sampler | None = None, name: str = ""
) -> trace.Span:
    """A span that records nothing but has a span context of its own.

    A child of the current span context keeps its trace id, flags and state with a new span id
    (so the next service's parent is this process, as with a recording span). With no valid
    parent a new trace starts, and ``sampler`` (this process's, ``ParentBased(ALWAYS_ON)`` by
    default) decides its sampled flag as it would for a recorded root: a process that records
    nothing must not switch tracing off for the services it calls.
    """
    parent = trace.get_current_span(context).get_span_context()
    if parent.is_valid:
        return trace.NonRecordingSpan(
            trace.SpanContext(
                parent.trace_id,
                _IDS.generate_span_id(),
                is_remote=False,
                trace_flags=parent.trace_flags,
                trace_state=parent.trace_state,
            )
        )
    trace_id = _IDS.generate_trace_id()
    decision = (sampler or sampling.DEFAULT_ON).should_sample(context, trace_id, name)
    flags = trace.TraceFlags(
        trace.TraceFlags.SAMPLED
        if decision.decision is sampling.Decision.RECORD_AND_SAMPLE
        else trace.TraceFlags.DEFAULT
    )
    return trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id,
            _IDS.generate_span_id(),
            is_remote=False,
            trace_flags=flags,
            trace_state=decision.trace_state or trace.TraceState(),
        )
    )


class ExportAwareTracerProvider(TracerProvider):
    """The SDK's tracer provider, whose tracers record spans only once a span processor (an
    exporter) is added; until then they give :func:`propagated_span` spans."""

    recording = False

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self.recording = True

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _ExportAwareTracer(self, super().get_tracer(*args, **kwargs))


class _ExportAwareTracer(trace.NoOpTracer):
    def __init__(self, provider: ExportAwareTracerProvider, tracer: trace.Tracer) -> None:
        self._provider = provider
        self._tracer = tracer

    def start_span(
        self, name: str, context: Context | None = None, *args: Any, **kwargs: Any
    ) -> trace.Span:
        if self._provider.recording:
            return self._tracer.start_span(name, context, *args, **kwargs)
        return propagated_span(context, self._provider.sampler, name)


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
    console = "console" in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",")
    provider = ExportAwareTracerProvider(
        resource=Resource.create({"service.name": f"nova-{service}", "service.version": version})
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint = f"{endpoint}/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        logger.info("exporting traces", extra={"otlp_endpoint": endpoint})
    if console:
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


_TRACED_ENGINES: weakref.WeakSet[Any] = weakref.WeakSet()


def instrument_engine(engine: AsyncEngine) -> None:
    """Spans for every SQL statement run through ``engine``, when spans are exported."""
    if not (isinstance(_provider, ExportAwareTracerProvider) and _provider.recording):
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, enable_commenter=False)
    _TRACED_ENGINES.add(engine.sync_engine)


def sql_traced(engine: AsyncEngine) -> bool:
    """Whether ``engine``'s statements get spans (reads that bypass SQLAlchemy's execution
    then go through it, so that no statement is missing from a trace)."""
    return engine.sync_engine in _TRACED_ENGINES


def spans_recorded() -> bool:
    """Whether this process records spans (an exporter is configured)."""
    if isinstance(_provider, ExportAwareTracerProvider):
        return _provider.recording
    return _provider is not None


_PROPAGATED_FIELDS: frozenset[bytes] = frozenset()


def attach_server_context(scope: Scope, name: str) -> object:
    """What the ASGI server span does for a request when no span is recorded, without it: the
    caller's trace context (``traceparent``, ``tracestate``, ``baggage``) becomes the current
    context, under a span context of this process's own (:func:`propagated_span`), so logs
    carry the trace id and outgoing calls continue the trace. Returns the token to
    :func:`detach_server_context` with."""
    global _PROPAGATED_FIELDS  # noqa: PLW0603 - the propagator's fields, read once
    if not _PROPAGATED_FIELDS:
        _PROPAGATED_FIELDS = frozenset(
            name.encode("latin-1") for name in propagate.get_global_textmap().fields
        )
    parent = otel_context.get_current()
    if any(key in _PROPAGATED_FIELDS for key, _ in scope["headers"]):
        parent = propagate.extract(scope, getter=asgi_getter)  # type: ignore[misc]
    sampler = _provider.sampler if _provider is not None else None
    span = propagated_span(parent, sampler, name)
    return otel_context.attach(trace.set_span_in_context(span, parent))


def detach_server_context(token: object) -> None:
    otel_context.detach(token)  # type: ignore[arg-type]


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
