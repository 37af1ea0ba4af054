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

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import bindparam, func, literal_column, null, select, text, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, NoResultFound, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nova_kit.db import OneRowStatement, driver_transaction
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


@contextlib.asynccontextmanager
async def _driver_errors(key: str) -> AsyncIterator[None]:
    """asyncpg's errors as the ORM session raises them (``sqlalchemy.exc``), so that a task
    classifies a failure on the driver as it did one in a session: a lock held elsewhere is
    :class:`JobInProgressError`, a lost connection ``InterfaceError`` (a transient error, the
    task retries), any other server error a ``DBAPIError``."""
    try:
        yield
    except asyncpg.PostgresError as error:
        if getattr(error, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise JobInProgressError(f"{key} is being processed by another worker") from error
        raise DBAPIError(None, None, error) from error
    except asyncpg.InterfaceError as error:
        raise InterfaceError(None, None, error) from error
    except DBAPIError as error:  # the same statements through SQLAlchemy (traced)
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


_deliveries = EmailDeliveryModel.__table__.c
# The delivery's statements, run on the driver connection (ADR 0030, ADR 0035); parameters are
# named unlike any column (see OneRowStatement). The claim commits on its own, before the lock.
_CLAIM_DELIVERY = OneRowStatement(
    insert(EmailDeliveryModel)
    .values(
        idempotency_key=bindparam("delivery_key"),
        recipient=bindparam("to_address"),
        template=bindparam("template_name"),
        subject=bindparam("subject_line"),
        message_id=bindparam("msg_id"),
        status=literal_column(f"'{EMAIL_PENDING}'"),
        attempts=literal_column("0"),
    )
    .on_conflict_do_nothing(index_elements=[_deliveries.idempotency_key])
)
# The row locked (NOWAIT: a copy running elsewhere answers 55P03 at once) and, in the same round
# trip, the transaction's idle timeout set (``SET LOCAL`` as a function): the projection is
# computed as the row is read, so the timeout holds before the SMTP conversation starts.
_LOCK_DELIVERY = OneRowStatement(
    select(
        _deliveries.status,
        _deliveries.recipient,
        _deliveries.message_id,
        func.set_config(
            literal_column("'idle_in_transaction_session_timeout'"),
            bindparam("idle_timeout_ms"),
            true(),
        ).label("idle_timeout"),
    )
    .where(_deliveries.idempotency_key == bindparam("delivery_key"))
    .with_for_update(nowait=True)
)
_MARK_SENT = OneRowStatement(
    update(EmailDeliveryModel)
    .where(_deliveries.idempotency_key == bindparam("delivery_key"))
    .values(
        status=literal_column(f"'{EMAIL_SENT}'"),
        attempts=_deliveries.attempts + literal_column("1"),
        last_error=null(),
        sent_at=func.now(),
        updated_at=func.now(),
    )
)


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
        engine = sessions.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError("EmailService needs a session factory bound to an engine")
        self.engine = engine
        self.mailer = mailer
        self.sender = sender
        self.product = product
        self.idle_timeout_ms = str(max(lock_timeout_seconds, 1) * 1000)

    async def deliver(self, request: EmailRequest) -> bool:
        """Send unless already sent; ``True`` if this call sent it."""
        mail = render(request.template, request.context, self.product)
        key = request.idempotency_key
        async with _driver_errors(key):
            await _CLAIM_DELIVERY.one_or_none(
                self.engine,
                delivery_key=key,
                to_address=request.to,
                template_name=request.template,
                subject_line=mail.subject,
                msg_id=message_id(key, self.sender),
            )
        try:
            # A SIGTERM (Celery cancelling the task on a lost broker connection, a stop of the
            # process group) waits for the commit: an accepted message is then recorded sent.
            async with (
                deferred_sigterm(),
                _driver_errors(key),
                driver_transaction(self.engine) as statements,
            ):
                delivery = await statements.one_or_none(
                    _LOCK_DELIVERY, delivery_key=key, idle_timeout_ms=self.idle_timeout_ms
                )
                if delivery is None:
                    raise NoResultFound(f"no e-mail delivery row for {key}")
                if delivery["status"] == EMAIL_SENT:
                    logger.info("e-mail already sent", extra={"idempotency_key": key})
                    return False
                message = build_message(
                    sender=self.sender,
                    recipient=delivery["recipient"],
                    mail=mail,
                    msg_id=delivery["message_id"],
                    key=key,
                )
                await self.mailer.send(message)
                await statements.execute(_MARK_SENT, delivery_key=key)
            logger.info(
                "e-mail sent",
                extra={"idempotency_key": key, "template": request.template},
            )
            return True
        except JobInProgressError:
            raise
        except Exception as error:
            await self._record_failure(key, error)
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
