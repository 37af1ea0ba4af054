"""The worker's Celery tasks: account events, e-mail and scheduled jobs.

Tasks are plain functions registered on the app by :func:`register_tasks` (the app is built
from settings, so there is no app at import time). Every task is idempotent: it claims a key
in ``worker.job_runs`` (or ``worker.email_deliveries``) before it does anything, retries
transient failures with exponential backoff and jitter, and is acknowledged only after it
finished (``acks_late``), so a worker that dies mid-task leaves the message to be run again.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Celery, Task
from opentelemetry import propagate
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from nova_kit.events import EVENT_TASKS, AccountEvent
from nova_worker import events
from nova_worker.clients import TransientError
from nova_worker.config import WorkerSettings
from nova_worker.metrics import DUPLICATES
from nova_worker.runtime import TaskRuntime, get_runtime
from nova_worker.services import EmailRequest, EmailService, JobInProgressError, JobService

logger = logging.getLogger(__name__)

SEND_EMAIL = "nova.worker.send_email"
DEACTIVATE_INACTIVE_USERS = "nova.worker.deactivate_inactive_users"
PING = "nova.worker.ping"

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
)


def _jobs(runtime: TaskRuntime) -> JobService:
    return JobService(runtime.require_sessions(), runtime.settings.task_time_limit_seconds)


def _email_service(runtime: TaskRuntime) -> EmailService:
    assert runtime.mailer is not None
    return EmailService(
        runtime.require_sessions(),
        runtime.mailer,
        sender=runtime.settings.mail_from,
        product=runtime.settings.product_name,
        lock_timeout_seconds=runtime.settings.task_time_limit_seconds,
    )


def _queue_email(task: Task) -> events.QueueEmail:
    def queue(key: str, to: str, template: str, context: dict[str, Any]) -> None:
        headers: dict[str, str] = {}
        propagate.inject(headers)  # the e-mail's trace continues the event's
        task.app.send_task(
            SEND_EMAIL,
            kwargs={"to": to, "template": template, "context": context, "idempotency_key": key},
            task_id=f"email:{key}",
            headers=headers,
        )

    return queue


def _wait_for_other_copy(task: Task, runtime: TaskRuntime, error: JobInProgressError) -> Any:
    """Retry later: another process runs this key now, and may yet fail or be killed.

    Waiting has its own budget, long enough to outlast the longest task, so a duplicate never
    fails only because the first copy took its time.
    """
    settings = runtime.settings
    longest = max(settings.task_time_limit_seconds, settings.deactivate_time_limit_seconds)
    budget = task.max_retries + math.ceil(longest / settings.in_progress_retry_seconds) + 1
    countdown = settings.in_progress_retry_seconds * random.uniform(0.5, 1.5)  # noqa: S311
    return task.retry(exc=error, countdown=countdown, max_retries=budget)


def run_idempotent(
    task: Task,
    key: str,
    work: Callable[[AsyncSession], Any],
) -> dict[str, Any]:
    """Run ``work`` once per ``key`` on this process's loop; count duplicates."""
    runtime = get_runtime()
    try:
        outcome = runtime.run(_jobs(runtime).run_once(key, task.name, task.request.id, work))
    except JobInProgressError as error:
        raise _wait_for_other_copy(task, runtime, error) from error
    if not outcome.ran:
        DUPLICATES.labels(task.name).inc()
    return {"key": key, "ran": outcome.ran, "result": outcome.result}


def _event(raw: dict[str, Any]) -> AccountEvent:
    try:
        return AccountEvent.from_dict(raw)
    except (KeyError, TypeError, ValueError) as error:
        # A malformed event will not improve with retries: fail it (it stays in the logs and
        # in the result backend) rather than loop.
        raise ValueError(f"malformed event: {error}") from error


def user_registered(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    parsed = _event(event)
    runtime = get_runtime()
    assert runtime.users is not None

    async def work(_: AsyncSession) -> dict[str, Any]:
        assert runtime.users is not None
        return await events.handle_user_registered(parsed, runtime.users, _queue_email(task))

    return run_idempotent(task, f"event:{parsed.id}", work)


def user_deleted(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    parsed = _event(event)
    runtime = get_runtime()

    async def work(_: AsyncSession) -> dict[str, Any]:
        assert runtime.users is not None
        return await events.handle_user_deleted(parsed, runtime.users)

    return run_idempotent(task, f"event:{parsed.id}", work)


def user_disabled(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    parsed = _event(event)
    runtime = get_runtime()

    async def work(_: AsyncSession) -> dict[str, Any]:
        assert runtime.auth is not None
        return await events.handle_user_disabled(parsed, runtime.auth, _queue_email(task))

    return run_idempotent(task, f"event:{parsed.id}", work)


def user_password_changed(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    parsed = _event(event)
    runtime = get_runtime()

    async def work(_: AsyncSession) -> dict[str, Any]:
        assert runtime.auth is not None
        return await events.handle_user_password_changed(parsed, runtime.auth, _queue_email(task))

    return run_idempotent(task, f"event:{parsed.id}", work)


def send_email(
    task: Task,
    to: str,
    template: str,
    context: dict[str, Any],
    idempotency_key: str,
) -> dict[str, Any]:
    runtime = get_runtime()
    try:
        sent = runtime.run(
            _email_service(runtime).deliver(EmailRequest(idempotency_key, to, template, context))
        )
    except JobInProgressError as error:
        raise _wait_for_other_copy(task, runtime, error) from error
    if not sent:
        DUPLICATES.labels(task.name).inc()
    return {"idempotency_key": idempotency_key, "sent": sent}


def deactivate_inactive_users(task: Task, cutoff: str | None = None) -> dict[str, Any]:
    """Ask auth to disable accounts unused since the cutoff (``inactive_days`` ago)."""
    runtime = get_runtime()
    assert runtime.auth is not None
    moment = (
        datetime.fromisoformat(cutoff)
        if cutoff
        else datetime.now(UTC) - timedelta(days=runtime.settings.inactive_days)
    )

    async def work(_: AsyncSession) -> dict[str, Any]:
        assert runtime.auth is not None
        disabled = await runtime.auth.deactivate_inactive(moment)
        logger.info(
            "inactive accounts disabled", extra={"disabled": disabled, "cutoff": moment.isoformat()}
        )
        return {"disabled": disabled, "cutoff": moment.isoformat()}

    return run_idempotent(task, f"deactivate-inactive:{task.request.id}", work)


def ping(task: Task) -> str:
    """A no-op: answers ``pong`` (smoke checks and the throughput benchmark)."""
    return "pong"


def register_tasks(app: Celery, settings: WorkerSettings) -> dict[str, Task]:
    """Register every task on ``app`` with its limits and retry policy."""
    retry_policy: dict[str, Any] = {
        "autoretry_for": TRANSIENT_ERRORS,
        "retry_backoff": True,
        "retry_backoff_max": settings.retry_backoff_max_seconds,
        "retry_jitter": True,
        "max_retries": settings.max_retries,
        "acks_late": True,
        "reject_on_worker_lost": True,
    }
    limits = {
        "soft_time_limit": settings.task_soft_time_limit_seconds,
        "time_limit": settings.task_time_limit_seconds,
    }
    handlers: dict[str, Callable[..., Any]] = {
        EVENT_TASKS["user.registered"]: user_registered,
        EVENT_TASKS["user.deleted"]: user_deleted,
        EVENT_TASKS["user.disabled"]: user_disabled,
        EVENT_TASKS["user.password_changed"]: user_password_changed,
        SEND_EMAIL: send_email,
    }
    registered: dict[str, Task] = {}
    for name, function in handlers.items():
        registered[name] = app.task(name=name, bind=True, **retry_policy, **limits)(function)
    deactivate_limit = settings.deactivate_time_limit_seconds
    registered[DEACTIVATE_INACTIVE_USERS] = app.task(
        name=DEACTIVATE_INACTIVE_USERS,
        bind=True,
        **retry_policy,
        soft_time_limit=max(deactivate_limit - 30, deactivate_limit // 2),
        time_limit=deactivate_limit,
    )(deactivate_inactive_users)
    registered[PING] = app.task(name=PING, bind=True, acks_late=True)(ping)
    return registered
