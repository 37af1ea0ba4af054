"""The Celery application of nova-worker, built from settings.

``create_celery_app(settings)`` is the factory: importing this module reads no environment
and opens no connection. Celery's own command line (``celery -A nova_worker.celery_app
inspect ping``) needs an importable app: the module attribute ``app`` is built lazily from
``WorkerSettings()`` on first access.

The configuration is chosen so that no work is lost:

- ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged only after
  its task finished, and (prefork) requeued when the pool child running it dies;
- ``worker_prefetch_multiplier`` (``NOVA_WORKER_PREFETCH_MULTIPLIER``, 4): a worker reserves a
  few messages per pool slot, which stay unacknowledged in Redis like running ones (held
  for recovery, requeued on a warm shutdown); they go to whichever slot is free first (the
  threads pool's queue, prefork's fair scheduling), so a long task does not hold up the
  messages reserved after it;
- the broker's ``visibility_timeout`` (``nova_kit.events``) is above every hard time limit,
  which settings validate, so Redis never hands a running task to a second worker;
- ``worker_cancel_long_running_tasks_on_connection_loss`` (prefork): tasks whose message can
  no longer be acknowledged after a broker outage are cancelled and run again, not
  half-finished. A thread cannot be cancelled: with the threads pool such a task finishes,
  and its message, which the worker no longer holds, is requeued by recovery
  (``nova_worker.recovery``) and finds its work done;
- broker connection retries on start-up and at run time, forever, JSON only.

Beat uses :func:`create_beat_app`: the same configuration without the tasks.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from celery import Celery
from kombu.entity import Exchange, Queue

from nova_kit.events import BROKER_KEY_PREFIX, EVENTS_QUEUE, broker_options, instrument_celery
from nova_worker import broker
from nova_worker.config import WorkerSettings
from nova_worker.names import DEACTIVATE_INACTIVE_USERS

logger = logging.getLogger(__name__)

DEACTIVATE_ENTRY = "deactivate-inactive-users"


def celery_config(settings: WorkerSettings) -> dict[str, Any]:
    """Every Celery setting of the worker, starting from the options shared with publishers."""
    redis_url = settings.require_redis_url()
    config = broker_options()
    transport = dict(config["broker_transport_options"])
    transport.setdefault("health_check_interval", 10)
    routes = dict(config["task_routes"])
    queues = list(dict.fromkeys([*settings.queues, EVENTS_QUEUE, settings.default_queue]))
    config.update(
        broker_url=redis_url,
        # a lost broker connection must not end the worker (see nova_worker.broker)
        broker_transport=broker.TRANSPORT,
        broker_transport_options=transport,
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_connection_timeout=4,
        broker_channel_error_retry=True,
        # No result backend by default: outcomes are recorded in worker.job_runs and
        # worker.email_deliveries. A Redis result backend would also fail exactly when the
        # broker does, and Celery then acknowledges (loses) the tasks it cancels on that
        # connection loss instead of leaving them to be redelivered.
        result_backend=(
            settings.result_backend.get_secret_value() if settings.result_backend else None
        ),
        result_backend_transport_options={"global_keyprefix": BROKER_KEY_PREFIX},
        # Without a backend there is nothing to expire (and no backend_cleanup entry in Beat).
        result_expires=settings.result_expires_seconds if settings.result_backend else None,
        task_ignore_result=settings.result_backend is None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_track_started=True,
        task_time_limit=settings.task_time_limit_seconds,
        task_soft_time_limit=settings.task_soft_time_limit_seconds,
        task_default_queue=settings.default_queue,
        task_queues=[
            # The exchange Celery creates for a queue it did not know, as publishers do.
            Queue(name, Exchange(name, type="direct"), routing_key=name)  # type: ignore[no-untyped-call]
            for name in queues
        ],
        task_routes=routes,
        worker_prefetch_multiplier=settings.prefetch_multiplier,
        worker_cancel_long_running_tasks_on_connection_loss=settings.pool != "threads",
        worker_max_tasks_per_child=settings.max_tasks_per_child,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_enable_remote_control=True,
        worker_send_task_events=False,
        timezone="UTC",
        enable_utc=True,
        beat_scheduler="nova_worker.beat:NovaScheduler",
        beat_schedule_filename=str(settings.beat_schedule_file),
        beat_max_loop_interval=settings.beat_max_loop_seconds,
        beat_schedule={
            DEACTIVATE_ENTRY: {
                "task": DEACTIVATE_INACTIVE_USERS,
                "schedule": settings.deactivate_crontab,
                # A run that waited a whole day in the queue is superseded by the next one.
                "options": {"queue": settings.default_queue, "expires": 23 * 3600},
            }
        },
        nova_beat_heartbeat_file=str(settings.beat_heartbeat_file),
    )
    return config


def _base_app(settings: WorkerSettings) -> Celery:
    app = Celery("nova-worker", set_as_current=False)
    app.conf.update(celery_config(settings))
    app.nova_settings = settings
    return app


def create_celery_app(settings: WorkerSettings) -> Celery:
    """The worker's Celery app: configuration, queues, tasks, schedule and signals."""
    # Imported here: Beat (``create_beat_app``) needs none of the tasks' code.
    from nova_worker import hooks, runtime
    from nova_worker.tasks import register_tasks

    app = _base_app(settings)
    app.conf.update(nova_heartbeat_interval=settings.heartbeat_interval_seconds)
    register_tasks(app, settings)
    for module_name in settings.task_modules:
        module = importlib.import_module(module_name)
        module.register_tasks(app, settings)
    hooks.connect(app)
    runtime.configure(settings)
    # A CONSUMER span per task, continuing the publisher's trace (its message's traceparent),
    # and a PRODUCER span per task the worker queues itself.
    instrument_celery()
    return app


def create_beat_app(settings: WorkerSettings) -> Celery:
    """Beat's app: the configuration and the schedule, no tasks. Beat sends each entry by its
    task name and runs none, so it imports no task code (nor the database, HTTP and SMTP
    clients the tasks use). Its messages carry no trace context: a scheduled task's trace
    starts in the worker."""
    return _base_app(settings)


_app: Celery | None = None


def get_app() -> Celery:
    """The app of this process, built from ``WorkerSettings()`` on first use."""
    global _app  # noqa: PLW0603 - Celery's command line needs one importable app
    if _app is None:
        from nova_kit.settings import load_settings

        _app = create_celery_app(load_settings(WorkerSettings))
    return _app


def set_app(app: Celery) -> None:
    global _app  # noqa: PLW0603
    _app = app


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        return get_app()
    raise AttributeError(name)


__all__ = ["celery_config", "create_beat_app", "create_celery_app", "get_app"]
