"""The worker's Celery tasks: account events, e-mail and scheduled jobs.

Tasks are plain functions registered on the app by :func:`register_tasks` (the app is built
from settings, so there is no app at import time). Every task is idempotent: it claims a key
in ``worker.job_runs`` (or ``worker.email_deliveries``) before it does anything, retries
transient failures with exponential backoff and jitter, and is acknowledged only after it
finished (``acks_late``), so a worker that dies mid-task leaves the message to be run again.

``acks_late`` cannot cover a message lost in the broker's own hand-over (a worker killed just as
Redis gave it the message), so every account event is also confirmed to auth once its effects
are complete, by the event task or by the ``send_email`` task it queued; auth's outbox delivers
an unconfirmed event again, with backoff, and the idempotency keys make the repeat harmless.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from celery import Celery, Task
from celery.exceptions import Reject
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from nova_kit.events import EVENT_TASKS, AccountEvent
from nova_worker import events
from nova_worker.clients import AuthClient, PermanentError, TransientError
from nova_worker.config import WorkerSettings
from nova_worker.metrics import CONFIRMATIONS, DUPLICATES
from nova_worker.names import DEACTIVATE_INACTIVE_USERS, PING, SEND_EMAIL
from nova_worker.runtime import TaskRuntime, get_runtime
from nova_worker.services import EmailRequest, EmailService, JobInProgressError, JobService

logger = logging.getLogger(__name__)

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


def _queue_email(task: Task, email: events.Email, confirms: str | None) -> None:
    """Queue ``send_email`` for ``email``; its delivery confirms the event ``confirms``. The
    Celery instrumentation (``nova_kit.events.instrument_celery``) puts the task's trace context
    in the message: the e-mail's trace continues the event's.

    A broker that cannot take the message (Redis down; a thread of the threads pool is not
    cancelled when the connection drops) rejects the event's own message with a requeue, or
    leaves it unacknowledged for recovery: the event runs again, its effects once, and queues
    the e-mail then. Failing the task would acknowledge it, and the e-mail would be lost."""
    try:
        _send_email_task(task, email, confirms)
    except KombuOperationalError as error:
        raise Reject(error, requeue=True) from error


def _send_email_task(task: Task, email: events.Email, confirms: str | None) -> None:
    task.app.send_task(
        SEND_EMAIL,
        kwargs={
            "to": email.to,
            "template": email.template,
            "context": email.context,
            "idempotency_key": email.key,
            "confirms": confirms,
        },
        task_id=f"email:{email.key}",
    )


def _confirm(runtime: TaskRuntime, event_id: str) -> bool:
    """Tell auth the event is handled. A failure is logged, not raised: auth's outbox delivers
    the event again later, and that duplicate confirms it."""
    if runtime.auth is None:
        return False
    try:
        runtime.run(runtime.auth.confirm_events([event_id]))
    except (TransientError, PermanentError) as error:
        CONFIRMATIONS.labels("failed").inc()
        logger.warning(
            "could not confirm the event to auth; it will be delivered again",
            extra={"event_id": event_id, "error": str(error)[:300]},
        )
        return False
    CONFIRMATIONS.labels("ok").inc()
    return True


def _complete_event(
    task: Task, event: AccountEvent, outcome: dict[str, Any], email: events.Email | None
) -> dict[str, Any]:
    """After the event's own effects: queue its e-mail (whose delivery confirms the event), or
    confirm it now. Runs on every delivery, so a redelivered event finishes what was lost."""
    if email is not None:
        _queue_email(task, email, confirms=event.id)
        return {**outcome, "email_queued": email.template, "confirmed": False}
    return {**outcome, "email_queued": None, "confirmed": _confirm(get_runtime(), event.id)}


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

    async def work(_: AsyncSession) -> dict[str, Any]:
        assert runtime.users is not None
        return await events.create_profile(parsed, runtime.users)

    outcome = run_idempotent(task, f"event:{parsed.id}", work)
    return _complete_event(task, parsed, outcome, events.welcome_email(parsed))


def user_deleted(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    parsed = _event(event)
    runtime = get_runtime()

    async def work(_: AsyncSession) -> dict[str, Any]:
        assert runtime.users is not None
        return await events.delete_profile(parsed, runtime.users)

    outcome = run_idempotent(task, f"event:{parsed.id}", work)
    return _complete_event(task, parsed, outcome, None)


def _notice_event(
    task: Task,
    parsed: AccountEvent,
    notice: Callable[[AccountEvent, AuthClient], Coroutine[Any, Any, events.Email | None]],
) -> dict[str, Any]:
    """An event whose only effect is an e-mail to the account's owner, looked up in auth."""
    runtime = get_runtime()
    assert runtime.auth is not None
    email = runtime.run(notice(parsed, runtime.auth))

    async def work(_: AsyncSession) -> dict[str, Any]:
        return {"notified": email is not None}

    outcome = run_idempotent(task, f"event:{parsed.id}", work)
    return _complete_event(task, parsed, outcome, email)


def user_disabled(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    return _notice_event(task, _event(event), events.account_disabled_notice)


def user_password_changed(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    return _notice_event(task, _event(event), events.password_changed_notice)


def user_two_factor_enabled(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    return _notice_event(task, _event(event), events.two_factor_enabled_notice)


def user_two_factor_disabled(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    return _notice_event(task, _event(event), events.two_factor_disabled_notice)


def user_registration_attempted(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    return _notice_event(task, _event(event), events.already_registered_notice)


def user_verification_requested(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    public_url = get_runtime().settings.public_url
    return _notice_event(
        task, _event(event), partial(events.verification_email, public_url=public_url)
    )


def user_password_reset_requested(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    public_url = get_runtime().settings.public_url
    return _notice_event(
        task, _event(event), partial(events.password_reset_email, public_url=public_url)
    )


def user_email_verified(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    """Nothing to do but take note (the security log in auth has it): confirmed at once."""
    parsed = _event(event)

    async def work(_: AsyncSession) -> dict[str, Any]:
        return {"noted": True}

    outcome = run_idempotent(task, f"event:{parsed.id}", work)
    return _complete_event(task, parsed, outcome, None)


def user_identity_linked(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    return _notice_event(task, _event(event), events.identity_linked_notice)


def user_identity_unlinked(task: Task, event: dict[str, Any]) -> dict[str, Any]:
    """Nothing to do but confirm: the owner unlinked it themselves, signed in."""
    parsed = _event(event)

    async def work(_: AsyncSession) -> dict[str, Any]:
        return {"unlinked": parsed.data.get("provider")}

    outcome = run_idempotent(task, f"event:{parsed.id}", work)
    return _complete_event(task, parsed, outcome, None)


def send_email(
    task: Task,
    to: str,
    template: str,
    context: dict[str, Any],
    idempotency_key: str,
    *,
    confirms: str | None = None,
) -> dict[str, Any]:
    """Deliver one e-mail, once per ``idempotency_key``; then confirm the event that asked for
    it (``confirms``), whether this delivery sent it or an earlier one had."""
    runtime = get_runtime()
    try:
        sent = runtime.run(
            _email_service(runtime).deliver(EmailRequest(idempotency_key, to, template, context))
        )
    except JobInProgressError as error:
        raise _wait_for_other_copy(task, runtime, error) from error
    if not sent:
        DUPLICATES.labels(task.name).inc()
    confirmed = _confirm(runtime, confirms) if confirms else False
    return {"idempotency_key": idempotency_key, "sent": sent, "confirmed": confirmed}


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
        EVENT_TASKS["user.registration_attempted"]: user_registration_attempted,
        EVENT_TASKS["user.verification_requested"]: user_verification_requested,
        EVENT_TASKS["user.password_reset_requested"]: user_password_reset_requested,
        EVENT_TASKS["user.email_verified"]: user_email_verified,
        EVENT_TASKS["user.two_factor_enabled"]: user_two_factor_enabled,
        EVENT_TASKS["user.two_factor_disabled"]: user_two_factor_disabled,
        EVENT_TASKS["user.identity_linked"]: user_identity_linked,
        EVENT_TASKS["user.identity_unlinked"]: user_identity_unlinked,
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
