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
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Celery
from prometheus_client import Counter
from sqlalchemy import delete, select
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


class Outbox:
    """Publishes outbox rows to Celery; one per process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        producer: Celery,
        *,
        publish_timeout_seconds: float = 2.0,
        batch_size: int = 100,
        backoff_seconds: float = 5.0,
    ) -> None:
        self.sessions = sessions
        self.producer = producer
        self.publish_timeout = publish_timeout_seconds
        self.batch_size = batch_size
        self.backoff_seconds = backoff_seconds
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
        """Publish one batch of unpublished rows; the number published."""
        return await self._publish_locked(None)

    async def _publish_locked(self, ids: Sequence[uuid.UUID] | None) -> int:
        query = select(OutboxEventModel).where(OutboxEventModel.published_at.is_(None))
        if ids is not None:
            query = query.where(OutboxEventModel.id.in_(ids))
        query = (
            query.order_by(OutboxEventModel.occurred_at)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        published = 0
        async with self.sessions() as session, session.begin():
            rows = (await session.scalars(query)).all()
            for row in rows:
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
                row.published_at = datetime.now(UTC)
                row.attempts += 1
                row.last_error = None
                EVENTS_PUBLISHED.labels(row.type).inc()
                published += 1
        return published

    async def _send(self, event: AccountEvent) -> None:
        loop = asyncio.get_running_loop()
        # The executor thread does not inherit the request's context: take its trace here, so
        # the worker's task continues the trace of the request that caused the event.
        send = functools.partial(publish_event, self.producer, event, trace_context=trace_headers())
        future = loop.run_in_executor(self._executor, send)
        await asyncio.wait_for(future, self.publish_timeout)

    async def purge_published(self, *, keep_seconds: float, limit: int = 5000) -> int:
        """Delete rows published more than ``keep_seconds`` ago (the broker has had them)."""
        horizon = datetime.now(UTC) - timedelta(seconds=keep_seconds)
        stale = (
            select(OutboxEventModel.id).where(OutboxEventModel.published_at < horizon).limit(limit)
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
