"""Account events on Celery: the contract between the services that publish and the worker.

Publishers (auth's outbox) send by task *name* — they never import the worker's package::

    producer = create_celery_producer(redis_url)
    publish_event(producer, AccountEvent.new("user.registered", user_id, {"email": ...}))

The worker registers one task per event type under :data:`EVENT_TASKS` and receives the event
as ``kwargs={"event": {...}}``. Both sides take their Celery broker options from
:func:`broker_options`, so keys, queues and serialisation always match.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from celery import Celery
from opentelemetry import context as otel_context
from opentelemetry import propagate

EventType = Literal[
    "user.registered",
    "user.registration_attempted",
    "user.disabled",
    "user.deleted",
    "user.password_changed",
    "user.verification_requested",
    "user.email_verified",
    "user.password_reset_requested",
    "user.two_factor_enabled",
    "user.two_factor_disabled",
    "user.identity_linked",
    "user.identity_unlinked",
]

EVENTS_QUEUE = "events"
EVENT_TASKS: dict[str, str] = {
    "user.registered": "nova.events.user_registered",
    "user.registration_attempted": "nova.events.user_registration_attempted",
    "user.disabled": "nova.events.user_disabled",
    "user.deleted": "nova.events.user_deleted",
    "user.password_changed": "nova.events.user_password_changed",
    "user.verification_requested": "nova.events.user_verification_requested",
    "user.email_verified": "nova.events.user_email_verified",
    "user.password_reset_requested": "nova.events.user_password_reset_requested",
    "user.two_factor_enabled": "nova.events.user_two_factor_enabled",
    "user.two_factor_disabled": "nova.events.user_two_factor_disabled",
    "user.identity_linked": "nova.events.user_identity_linked",
    "user.identity_unlinked": "nova.events.user_identity_unlinked",
}
BROKER_KEY_PREFIX = "nova:celery:"
# Above the longest hard task time limit, so Redis never redelivers a task that is still running.
VISIBILITY_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class AccountEvent:
    id: str
    type: EventType
    user_id: str
    occurred_at: str
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(
        cls, type_: EventType, user_id: str, data: dict[str, Any] | None = None
    ) -> AccountEvent:
        return cls(
            id=str(uuid.uuid4()),
            type=type_,
            user_id=user_id,
            occurred_at=datetime.now(UTC).isoformat(),
            data=dict(data or {}),
        )

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> AccountEvent:
        if raw.get("type") not in EVENT_TASKS:
            raise ValueError(f"unknown event type {raw.get('type')!r}")
        return cls(
            id=str(raw["id"]),
            type=raw["type"],
            user_id=str(raw["user_id"]),
            occurred_at=str(raw["occurred_at"]),
            data=dict(raw.get("data") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def broker_options() -> dict[str, Any]:
    """Celery settings shared by publishers and the worker."""
    return {
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "global_keyprefix": BROKER_KEY_PREFIX,
            "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
            "socket_timeout": 5,
            "socket_connect_timeout": 5,
        },
        "task_default_queue": "default",
        "task_routes": {name: {"queue": EVENTS_QUEUE} for name in EVENT_TASKS.values()},
    }


def create_celery_producer(redis_url: str, name: str = "nova-producer") -> Celery:
    app = Celery(name, broker=redis_url, set_as_current=False)
    app.conf.update(broker_options())
    app.conf.broker_connection_timeout = 2
    instrument_celery()
    return app


def instrument_celery() -> None:
    """Trace Celery messages with OpenTelemetry's Celery instrumentation, once per process: a
    PRODUCER span around every publish, whose context the message carries (``traceparent``),
    and a CONSUMER span around every task, continuing the context of its message."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    instrumentor = CeleryInstrumentor()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def trace_headers() -> dict[str, str]:
    """The current W3C trace context (``traceparent``, ``tracestate``, ``baggage``)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def publish_event(
    producer: Celery,
    event: AccountEvent,
    *,
    retry: bool = False,
    trace_context: dict[str, str] | None = None,
) -> None:
    """Send ``event`` to the worker; raises if the broker is unreachable (the outbox retries).

    The message is published inside ``trace_context`` when the caller kept the one of the
    request that caused the event (an outbox row, a thread of its own), else the current one,
    and carries it in its headers — the Celery instrumentation's PRODUCER span's when it is
    installed (:func:`instrument_celery`) — so the worker's task continues the request's trace.
    """
    parent = (
        propagate.extract(trace_context)
        if trace_context is not None
        else otel_context.get_current()
    )
    token = otel_context.attach(parent)
    try:
        headers = {"nova_event_type": event.type, **trace_headers()}
        producer.send_task(
            EVENT_TASKS[event.type],
            kwargs={"event": event.to_dict()},
            queue=EVENTS_QUEUE,
            task_id=event.id,
            retry=retry,
            headers=headers,
        )
    finally:
        otel_context.detach(token)
