"""Tracing with no exporter: nothing recorded, trace context still carried to logs and callees."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import sampling
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from nova_kit.tracing import ExportAwareTracerProvider

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_request_without_a_caller_starts_a_trace_of_its_own() -> None:
    tracer = ExportAwareTracerProvider().get_tracer("test")
    with tracer.start_as_current_span("GET /x", kind=trace.SpanKind.SERVER) as span:
        context = span.get_span_context()
        assert context.is_valid
        assert not span.is_recording()
        assert trace.get_current_span().get_span_context() == context
        with tracer.start_as_current_span("SELECT") as child:
            assert child.get_span_context().trace_id == context.trace_id
            assert child.get_span_context().span_id != context.span_id
    other = tracer.start_span("GET /y")
    assert other.get_span_context().trace_id != context.trace_id


def test_a_trace_started_here_keeps_callees_tracing_by_the_samplers_decision() -> None:
    """A process without an exporter that starts a trace passes on the sampled flag its sampler
    gives a root (ALWAYS_ON by default), so a callee that exports still records the request."""
    headers: dict[str, str] = {}
    with ExportAwareTracerProvider().get_tracer("test").start_as_current_span("GET /x"):
        TraceContextTextMapPropagator().inject(headers)
    assert headers["traceparent"].endswith("-01")

    headers.clear()
    never = ExportAwareTracerProvider(sampler=sampling.ParentBased(sampling.ALWAYS_OFF))
    with never.get_tracer("test").start_as_current_span("GET /x"):
        TraceContextTextMapPropagator().inject(headers)
    assert headers["traceparent"].endswith("-00")


def test_the_callers_trace_and_sampled_flag_pass_on_with_this_process_as_parent() -> None:
    tracer = ExportAwareTracerProvider().get_tracer("test")
    incoming = TraceContextTextMapPropagator().extract({"traceparent": CALLER})
    headers: dict[str, str] = {}
    with (
        tracer.start_as_current_span("GET /x", context=incoming) as server,
        tracer.start_as_current_span("GET upstream", kind=trace.SpanKind.CLIENT) as client,
    ):
        TraceContextTextMapPropagator().inject(headers)
    version, trace_id, parent, flags = headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", CALLER.split("-")[1], "01")
    assert parent == format(client.get_span_context().span_id, "016x")
    assert parent not in (CALLER.split("-")[2], format(server.get_span_context().span_id, "016x"))


def test_spans_record_once_an_exporter_is_added() -> None:
    provider = ExportAwareTracerProvider()
    tracer = provider.get_tracer("test")  # instrumentations keep the tracer they got first
    assert not tracer.start_span("before").is_recording()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracer.start_as_current_span("after") as span:
        assert span.is_recording()
    assert [s.name for s in exporter.get_finished_spans()] == ["after"]
