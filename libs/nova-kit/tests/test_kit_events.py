"""Account events on Celery carry the trace of the request that caused them."""

from __future__ import annotations

import json
import os

from opentelemetry import trace
from redis import Redis

from nova_kit.events import (
    BROKER_KEY_PREFIX,
    EVENTS_QUEUE,
    AccountEvent,
    create_celery_producer,
    publish_event,
)
from nova_kit.tracing import ExportAwareTracerProvider, configure_tracing


def empty_events_queue(redis_url: str) -> None:
    """Messages other tests left on the shared queue must not be read as this test's."""
    client = Redis.from_url(redis_url)
    try:
        client.delete(f"{BROKER_KEY_PREFIX}{EVENTS_QUEUE}")
    finally:
        client.close()


def published_headers(redis_url: str) -> dict[str, str]:
    client = Redis.from_url(redis_url)
    try:
        raw = client.rpop(f"{BROKER_KEY_PREFIX}{EVENTS_QUEUE}")
    finally:
        client.close()
    assert isinstance(raw, bytes), "no message on the events queue"
    headers: dict[str, str] = json.loads(raw)["headers"]
    return headers


def test_an_event_carries_the_trace_it_was_given_not_the_current_one(redis_url: str) -> None:
    """The outbox publishes from a thread of its own, after the request: the trace context the
    row kept is the one the worker continues, whatever span is current when it is sent."""
    configure_tracing("kit-test")  # the Celery instrumentation's spans, as in a service
    empty_events_queue(redis_url)
    producer = create_celery_producer(redis_url)
    request_trace = os.urandom(16).hex()
    kept = {"traceparent": f"00-{request_trace}-{os.urandom(8).hex()}-01"}
    event = AccountEvent.new("user.registered", "u-1", {"email": "a@example.com"})
    tracer = ExportAwareTracerProvider().get_tracer("test")
    try:
        with tracer.start_as_current_span("an unrelated sweep"):
            publish_event(producer, event, trace_context=kept)
            headers = published_headers(redis_url)
        assert headers["nova_event_type"] == "user.registered"
        assert headers["traceparent"].split("-")[1] == request_trace
        assert headers["traceparent"] != kept["traceparent"], "the producer's span is the parent"

        with tracer.start_as_current_span("POST /api/auth/register") as span:
            publish_event(producer, event)
            headers = published_headers(redis_url)
        current = trace.format_trace_id(span.get_span_context().trace_id)
        assert headers["traceparent"].split("-")[1] == current
    finally:
        producer.close()
