"""Exactly-once effects on top of at-least-once delivery.

Celery on Redis delivers a message at least once: a redelivery after a worker died, a retry,
or the publisher sending the same event twice. Every task therefore claims an idempotency key
before doing anything:

1. ``INSERT ... ON CONFLICT`` creates the key's row (or counts one more attempt) and commits;
2. a second transaction locks the row (``SELECT ... FOR UPDATE NOWAIT``). A row that is
   already ``succeeded`` means the work was done: nothing happens. A row locked by another
   process means the work is running right now: the task retries a little later;
3. the work runs while the lock is held; database effects join the same transaction, so they
   commit together with ``succeeded``. If the process dies, PostgreSQL drops its connection,
   rolls the transaction back and releases the lock, and the redelivered message starts over.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nova_worker.clients import TransientError
from nova_worker.mail import Mailer, build_message, message_id, render
from nova_worker.models import (
    EMAIL_FAILED,
    EMAIL_PENDING,
    EMAIL_SENT,
    JOB_FAILED,
    JOB_PENDING,
    JOB_SUCCEEDED,
    EmailDeliveryModel,
    JobRunModel,
)
from nova_worker.termination import deferred_sigterm

logger = logging.getLogger(__name__)

LOCK_NOT_AVAILABLE = "55P03"


class JobInProgressError(TransientError):
    """Another process holds this idempotency key right now; try again later."""


@dataclass(frozen=True, slots=True)
class JobOutcome:
    key: str
    ran: bool
    result: dict[str, Any] | None


Work = Callable[[AsyncSession], Awaitable[dict[str, Any] | None]]


def _sqlstate(error: DBAPIError) -> str | None:
    original = getattr(error, "orig", None)
    for candidate in (original, getattr(original, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


async def _lock_row(session: AsyncSession, statement: Any, key: str) -> Any:
    try:
        return (await session.execute(statement)).scalar_one()
    except DBAPIError as error:
        if _sqlstate(error) == LOCK_NOT_AVAILABLE:
            raise JobInProgressError(f"{key} is being processed by another worker") from error
        raise


def _short(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


class JobService:
    """Runs a piece of work at most once per idempotency key (see the module docstring)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], lock_timeout_seconds: int
    ) -> None:
        self.sessions = sessions
        # A lock held longer than the task's hard time limit belongs to a stuck transaction.
        self.idle_timeout_ms = max(lock_timeout_seconds, 1) * 1000

    async def run_once(self, key: str, task: str, task_id: str | None, work: Work) -> JobOutcome:
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(JobRunModel)
                .values(key=key, task=task, status=JOB_PENDING, attempts=1, last_task_id=task_id)
                .on_conflict_do_update(
                    index_elements=[JobRunModel.key],
                    set_={
                        "attempts": JobRunModel.attempts + 1,
                        "last_task_id": task_id,
                        "updated_at": func.now(),
                    },
                    where=JobRunModel.status != JOB_SUCCEEDED,
                )
            )
        try:
            async with self.sessions() as session, session.begin():
                await session.execute(
                    text(f"SET LOCAL idle_in_transaction_session_timeout = {self.idle_timeout_ms}")
                )
                job = await _lock_row(
                    session,
                    select(JobRunModel).where(JobRunModel.key == key).with_for_update(nowait=True),
                    key,
                )
                if job.status == JOB_SUCCEEDED:
                    logger.info("duplicate delivery ignored", extra={"key": key, "task": task})
                    return JobOutcome(key, ran=False, result=job.result)
                result = await work(session)
                job.status = JOB_SUCCEEDED
                job.result = result
                job.last_error = None
                job.updated_at = func.now()
                job.finished_at = func.now()
            return JobOutcome(key, ran=True, result=result)
        except JobInProgressError:
            raise
        except Exception as error:
            await self._record_failure(key, error)
            raise

    async def _record_failure(self, key: str, error: BaseException) -> None:
        try:
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(JobRunModel)
                    .where(JobRunModel.key == key, JobRunModel.status != JOB_SUCCEEDED)
                    .values(status=JOB_FAILED, last_error=_short(error), updated_at=func.now())
                )
        except (OperationalError, DBAPIError, OSError):
            logger.warning("could not record a job failure", extra={"key": key}, exc_info=True)


@dataclass(frozen=True, slots=True)
class EmailRequest:
    idempotency_key: str
    to: str
    template: str
    context: dict[str, Any]


class EmailService:
    """Sends an e-mail once per idempotency key, logging every delivery in ``email_deliveries``.

    The row is locked while the SMTP conversation runs, so concurrent duplicates wait their
    turn and then find it ``sent``. A SIGTERM waits for the commit (:mod:`nova_worker.termination`);
    only if the process is killed outright (SIGKILL, an OOM kill) after the SMTP server accepted
    the message and before the commit can a copy be sent again (with the same ``Message-ID``).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        mailer: Mailer,
        *,
        sender: str,
        product: str,
        lock_timeout_seconds: int,
    ) -> None:
        self.sessions = sessions
        self.mailer = mailer
        self.sender = sender
        self.product = product
        self.idle_timeout_ms = max(lock_timeout_seconds, 1) * 1000

    async def deliver(self, request: EmailRequest) -> bool:
        """Send unless already sent; ``True`` if this call sent it."""
        mail = render(request.template, request.context, self.product)
        msg_id = message_id(request.idempotency_key, self.sender)
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(EmailDeliveryModel)
                .values(
                    idempotency_key=request.idempotency_key,
                    recipient=request.to,
                    template=request.template,
                    subject=mail.subject,
                    message_id=msg_id,
                    status=EMAIL_PENDING,
                    attempts=0,
                )
                .on_conflict_do_nothing(index_elements=[EmailDeliveryModel.idempotency_key])
            )
        try:
            # A SIGTERM (Celery cancelling the task on a lost broker connection, a stop of the
            # process group) waits for the commit: an accepted message is then recorded sent.
            async with deferred_sigterm(), self.sessions() as session, session.begin():
                await session.execute(
                    text(f"SET LOCAL idle_in_transaction_session_timeout = {self.idle_timeout_ms}")
                )
                delivery = await _lock_row(
                    session,
                    select(EmailDeliveryModel)
                    .where(EmailDeliveryModel.idempotency_key == request.idempotency_key)
                    .with_for_update(nowait=True),
                    request.idempotency_key,
                )
                if delivery.status == EMAIL_SENT:
                    logger.info(
                        "e-mail already sent", extra={"idempotency_key": request.idempotency_key}
                    )
                    return False
                message = build_message(
                    sender=self.sender,
                    recipient=delivery.recipient,
                    mail=mail,
                    msg_id=delivery.message_id,
                    key=request.idempotency_key,
                )
                await self.mailer.send(message)
                delivery.status = EMAIL_SENT
                delivery.attempts = delivery.attempts + 1
                delivery.last_error = None
                delivery.sent_at = func.now()
                delivery.updated_at = func.now()
            logger.info(
                "e-mail sent",
                extra={"idempotency_key": request.idempotency_key, "template": request.template},
            )
            return True
        except JobInProgressError:
            raise
        except Exception as error:
            await self._record_failure(request.idempotency_key, error)
            raise

    async def _record_failure(self, key: str, error: BaseException) -> None:
        try:
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(EmailDeliveryModel)
                    .where(
                        EmailDeliveryModel.idempotency_key == key,
                        EmailDeliveryModel.status != EMAIL_SENT,
                    )
                    .values(
                        status=EMAIL_FAILED,
                        attempts=EmailDeliveryModel.attempts + 1,
                        last_error=_short(error),
                        updated_at=func.now(),
                    )
                )
        except (OperationalError, DBAPIError, OSError):
            logger.warning("could not record an e-mail failure", extra={"key": key}, exc_info=True)
