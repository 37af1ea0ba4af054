"""The account-event outbox: written with the change, published to Celery after commit.

A service method adds an :class:`OutboxEventModel` row in the same transaction as the change it
describes (:func:`record_event`). Right after commit it asks the :class:`Outbox` to publish those
rows; a background sweeper publishes whatever is still unpublished (Redis was down, the process
died between commit and publish) every ``outbox_sweep_interval_seconds``.

Both paths lock the rows they publish with ``SELECT … FOR UPDATE SKIP LOCKED`` and mark them
published in the same transaction, so replicas never publish a row twice in the normal course;
a crash between the broker accepting a message and the commit can repeat it, which the worker
absorbs (it handles each event id at most once in effect).

Celery's ``send_task`` is blocking, so it runs on a dedicated thread with a bounded wait, a short
broker connection timeout and no retries: a dead broker costs a registration at most
``outbox_publish_timeout_seconds``, and for ``outbox_backoff_seconds`` after a failure the inline
publish is skipped altogether (the sweeper keeps trying).

A broker accepting a message is not the worker handling it: a Redis-backed Celery worker killed
at the wrong instant can lose a message it has just taken. So the consumer confirms each event
once its effects are complete (``POST /internal/events/confirmations``), and the sweeper
publishes an unconfirmed event again ``outbox_redelivery_seconds`` after it was published,
doubling the wait each time up to ``outbox_redelivery_max_seconds``, for at most
``outbox_max_deliveries`` deliveries in all. A redelivered event the worker has already handled
costs one duplicate check; one it lost is handled now.

Events that carry a single-use token for the worker to mail (``user.verification_requested``,
``user.password_reset_requested``: ``data.token``) lose it when they are confirmed: from then
on the outbox keeps no usable token, as ``auth.one_time_tokens`` keeps only digests.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Celery
from prometheus_client import Counter
from sqlalchemy import String, delete, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nova_auth.models import OutboxEventModel
from nova_kit.events import (
    AccountEvent,
    EventType,
    create_celery_producer,
    publish_event,
    trace_headers,
)

logger = logging.getLogger(__name__)

EVENTS_PUBLISHED = Counter(
    "nova_auth_outbox_published_total", "Account events published to the broker", ["type"]
)
PUBLISH_FAILURES = Counter(
    "nova_auth_outbox_publish_failures_total", "Failed attempts to publish account events"
)
EVENTS_REDELIVERED = Counter(
    "nova_auth_outbox_redelivered_total",
    "Account events published again because no consumer confirmed them in time",
    ["type"],
)
EVENTS_CONFIRMED = Counter(
    "nova_auth_outbox_confirmed_total", "Account events their consumer confirmed as handled"
)
EVENTS_ABANDONED = Counter(
    "nova_auth_outbox_abandoned_total",
    "Account events left unconfirmed after their last allowed delivery",
    ["type"],
)
MAILED_TOKEN_FIELD = "token"  # noqa: S105 - the name of a field, not a secret


def record_event(
    session: AsyncSession, type_: EventType, user_id: uuid.UUID, data: dict[str, Any] | None = None
) -> OutboxEventModel:
    """Add an outbox row to the caller's transaction."""
    row = OutboxEventModel(
        id=uuid.uuid4(),
        type=type_,
        user_id=user_id,
        occurred_at=datetime.now(UTC),
        data=dict(data or {}),
    )
    session.add(row)
    return row


def to_event(row: OutboxEventModel) -> AccountEvent:
    return AccountEvent.from_dict(
        {
            "id": str(row.id),
            "type": row.type,
            "user_id": str(row.user_id),
            "occurred_at": row.occurred_at.isoformat(),
            "data": dict(row.data or {}),
        }
    )


@dataclass(frozen=True, slots=True)
class Redelivery:
    """When an unconfirmed event is published again: ``first_seconds`` after its first delivery,
    doubling up to ``max_seconds``, for at most ``max_deliveries`` deliveries in all.
    ``first_seconds == 0`` turns redelivery off (nothing confirms events)."""

    first_seconds: float = 300.0
    max_seconds: float = 3600.0
    max_deliveries: int = 10

    @property
    def enabled(self) -> bool:
        return self.first_seconds > 0

    def wait_after(self, deliveries: int) -> float | None:
        """Seconds the consumer has to confirm after the ``deliveries``-th delivery (then the
        event is delivered again, or given up after the last); None when redelivery is off."""
        if not self.enabled:
            return None
        return float(min(self.first_seconds * 2 ** max(0, deliveries - 1), self.max_seconds))

    def exhausted(self, deliveries: int) -> bool:
        return deliveries >= self.max_deliveries


class Outbox:
    """Publishes outbox rows to Celery, and again until confirmed; one per process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        producer: Celery,
        *,
        publish_timeout_seconds: float = 2.0,
        batch_size: int = 100,
        backoff_seconds: float = 5.0,
        redelivery: Redelivery | None = None,
    ) -> None:
        self.sessions = sessions
        self.producer = producer
        self.publish_timeout = publish_timeout_seconds
        self.batch_size = batch_size
        self.backoff_seconds = backoff_seconds
        self.redelivery = redelivery or Redelivery()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._retry_after = 0.0

    @classmethod
    def for_redis(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        redis_url: str,
        *,
        publish_timeout_seconds: float = 2.0,
        batch_size: int = 100,
        backoff_seconds: float = 5.0,
        redelivery: Redelivery | None = None,
    ) -> Outbox:
        producer = create_celery_producer(redis_url, name="nova-auth-outbox")
        # Fail fast on a dead broker: one connection attempt, socket timeouts inside the
        # publish timeout, so a send given up on never lands later (and duplicates a sweep).
        socket_timeout = max(0.1, publish_timeout_seconds / 2)
        producer.conf.broker_connection_timeout = socket_timeout
        producer.conf.broker_connection_retry = False
        producer.conf.broker_connection_max_retries = 0
        producer.conf.broker_transport_options = {
            **producer.conf.broker_transport_options,
            "max_retries": 0,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
        }
        return cls(
            sessions,
            producer,
            publish_timeout_seconds=publish_timeout_seconds,
            batch_size=batch_size,
            backoff_seconds=backoff_seconds,
            redelivery=redelivery,
        )

    async def publish_after_commit(self, rows: Sequence[OutboxEventModel]) -> int:
        """Publish just-committed rows now, unless the broker failed moments ago. Never raises."""
        if not rows or time.monotonic() < self._retry_after:
            return 0
        try:
            return await self._publish_locked([row.id for row in rows])
        except Exception:
            logger.exception("publishing account events after commit failed; the sweeper retries")
            return 0

    async def sweep(self) -> int:
        """Publish one batch of unpublished or unconfirmed-and-due rows; the number published."""
        return await self._publish_locked(None)

    async def _publish_locked(self, ids: Sequence[uuid.UUID] | None) -> int:
        query = select(OutboxEventModel)
        if ids is not None:
            query = query.where(
                OutboxEventModel.id.in_(ids), OutboxEventModel.published_at.is_(None)
            )
        else:
            query = query.where(
                or_(
                    OutboxEventModel.published_at.is_(None),
                    OutboxEventModel.redeliver_at <= datetime.now(UTC),
                )
            )
        query = (
            query.order_by(OutboxEventModel.occurred_at)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        published = 0
        async with self.sessions() as session, session.begin():
            rows = (await session.scalars(query)).all()
            for row in rows:
                if row.published_at is not None and self.redelivery.exhausted(row.deliveries):
                    self._abandon(row)
                    continue
                try:
                    await self._send(to_event(row))
                except Exception as error:
                    PUBLISH_FAILURES.inc()
                    self._retry_after = time.monotonic() + self.backoff_seconds
                    row.attempts += 1
                    row.last_error = f"{type(error).__name__}: {error}"[:500]
                    logger.warning(
                        "could not publish account event",
                        extra={"event_id": str(row.id), "error": row.last_error},
                    )
                    break
                self._mark_published(row)
                published += 1
        return published

    def _mark_published(self, row: OutboxEventModel) -> None:
        now = datetime.now(UTC)
        if row.published_at is None:
            row.published_at = now
        else:
            EVENTS_REDELIVERED.labels(row.type).inc()
        row.attempts += 1
        row.deliveries += 1
        row.last_error = None
        EVENTS_PUBLISHED.labels(row.type).inc()
        wait = self.redelivery.wait_after(row.deliveries)
        row.redeliver_at = None if wait is None else now + timedelta(seconds=wait)

    def _abandon(self, row: OutboxEventModel) -> None:
        """The last delivery went unconfirmed too: stop, and say so (alert, runbook)."""
        row.redeliver_at = None
        EVENTS_ABANDONED.labels(row.type).inc()
        logger.error(
            "account event still unconfirmed after its last delivery",
            extra={"event_id": str(row.id), "event_type": row.type, "deliveries": row.deliveries},
        )

    async def confirm(self, ids: Sequence[uuid.UUID]) -> int:
        """Record that the consumer handled these events; the number newly confirmed.

        Unknown ids (purged, or never ours) and events confirmed before are ignored, so a
        consumer may confirm again whatever it is unsure of."""
        if not ids:
            return 0
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(OutboxEventModel)
                .where(OutboxEventModel.id.in_(set(ids)), OutboxEventModel.confirmed_at.is_(None))
                .values(
                    confirmed_at=datetime.now(UTC),
                    redeliver_at=None,
                    # the mailed token is delivered: the row keeps no usable copy of it
                    data=OutboxEventModel.data.op("-")(literal(MAILED_TOKEN_FIELD, String)),
                )
                .returning(OutboxEventModel.id)
            )
            confirmed = len(result.all())
        EVENTS_CONFIRMED.inc(confirmed)
        return confirmed

    async def _send(self, event: AccountEvent) -> None:
        loop = asyncio.get_running_loop()
        # The executor thread does not inherit the request's context: take its trace here, so
        # the worker's task continues the trace of the request that caused the event.
        send = functools.partial(publish_event, self.producer, event, trace_context=trace_headers())
        future = loop.run_in_executor(self._executor, send)
        await asyncio.wait_for(future, self.publish_timeout)

    async def purge_published(self, *, keep_seconds: float, limit: int = 5000) -> int:
        """Delete rows published more than ``keep_seconds`` ago and due no more deliveries."""
        horizon = datetime.now(UTC) - timedelta(seconds=keep_seconds)
        stale = (
            select(OutboxEventModel.id)
            .where(OutboxEventModel.published_at < horizon, OutboxEventModel.redeliver_at.is_(None))
            .limit(limit)
        )
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(OutboxEventModel)
                .where(OutboxEventModel.id.in_(stale))
                .returning(OutboxEventModel.id)
            )
            return len(result.all())

    async def run_sweeper(self, interval_seconds: float, stop: asyncio.Event) -> None:
        """Sweep until ``stop`` is set: a full batch sweeps again at once, else waits."""
        while not stop.is_set():
            published = 0
            try:
                published = await self.sweep()
            except Exception:
                logger.exception("outbox sweep failed")
            if published >= self.batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_seconds)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            self.producer.close()
