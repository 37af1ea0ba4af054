"""The Celery application of nova-worker, built from settings.

``create_celery_app(settings)`` is the factory: importing this module reads no environment
and opens no connection. Celery's own command line (``celery -A nova_worker.celery_app
inspect ping``) needs an importable app: the module attribute ``app`` is built lazily from
``WorkerSettings()`` on first access.

The configuration is chosen so that no work is lost:

- ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged only after
  its task finished, and requeued when the pool child running it dies;
- ``worker_prefetch_multiplier`` (``NOVA_WORKER_PREFETCH_MULTIPLIER``, 4): a worker reserves a
  few messages per pool process, which stay unacknowledged in Redis like running ones (held
  for recovery, requeued on a warm shutdown); Celery's fair scheduling hands them only to idle
  processes, so a long task does not hold up the messages reserved after it;
- the broker's ``visibility_timeout`` (``nova_kit.events``) is above every hard time limit,
  which settings validate, so Redis never hands a running task to a second worker;
- ``worker_cancel_long_running_tasks_on_connection_loss``: tasks whose message can no longer
  be acknowledged after a broker outage are cancelled and run again, not half-finished;
- broker connection retries on start-up and at run time, forever, JSON only.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, ClassVar

from celery import Celery, bootsteps, signals
from kombu.entity import Exchange, Queue

from nova_kit.events import BROKER_KEY_PREFIX, EVENTS_QUEUE, broker_options, instrument_celery
from nova_worker import broker, runtime
from nova_worker.config import WorkerSettings
from nova_worker.metrics import TASK_DURATION, TASKS, TaskTimer
from nova_worker.probes import Heartbeat
from nova_worker.tasks import DEACTIVATE_INACTIVE_USERS, register_tasks

logger = logging.getLogger(__name__)

DEACTIVATE_ENTRY = "deactivate-inactive-users"

OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}


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
        worker_cancel_long_running_tasks_on_connection_loss=True,
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


class ConsumerHeartbeat(bootsteps.StartStopStep):  # type: ignore[misc]  # celery is untyped
    """Touches the worker heartbeat from a timer of the consumer's own event loop.

    The consumer starts this step again after every reconnection to the broker, when it also
    runs the app's ``nova_consumer_started`` hooks: messages received over the previous
    connection can no longer be acknowledged by this worker, and recovery must requeue them.
    """

    requires: ClassVar[set[str]] = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None

    def start(self, parent: Any) -> None:
        for hook in getattr(parent.app, "nova_consumer_started", ()):
            hook()
        heartbeat: Heartbeat | None = getattr(parent.app, "nova_heartbeat", None)
        if heartbeat is None:
            return
        interval = float(parent.app.conf.get("nova_heartbeat_interval", 5.0))
        heartbeat.beat()
        self.tref = parent.timer.call_repeatedly(interval, heartbeat.beat)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def shutdown(self, parent: Any) -> None:
        self.stop(parent)


def create_celery_app(settings: WorkerSettings) -> Celery:
    """The worker's Celery app: configuration, queues, tasks, schedule and signals."""
    app = Celery("nova-worker", set_as_current=False)
    app.conf.update(celery_config(settings))
    app.conf.update(nova_heartbeat_interval=settings.heartbeat_interval_seconds)
    register_tasks(app, settings)
    for module_name in settings.task_modules:
        module = importlib.import_module(module_name)
        module.register_tasks(app, settings)
    app.steps["consumer"].add(ConsumerHeartbeat)
    app.nova_settings = settings
    runtime.configure(settings)
    _connect_signals()
    # A CONSUMER span per task, continuing the publisher's trace (its message's traceparent),
    # and a PRODUCER span per task the worker queues itself.
    instrument_celery()
    return app


_timer = TaskTimer()


def _on_process_init(**_: Any) -> None:
    runtime.start_process_runtime()


def _on_process_shutdown(**_: Any) -> None:
    runtime.stop_process_runtime()


def _on_prerun(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _timer.start(task_id)


def _on_postrun(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    name = getattr(task, "name", "unknown")
    elapsed = _timer.stop(task_id) if task_id else None
    if elapsed is not None:
        TASK_DURATION.labels(name).observe(elapsed)
    TASKS.labels(name, OUTCOMES.get(state or "", (state or "unknown").lower())).inc()


def _on_received(request: Any = None, **_: Any) -> None:
    if request is None:
        return
    TASKS.labels(request.name, "received").inc()


def _on_revoked(request: Any = None, **_: Any) -> None:
    TASKS.labels(getattr(request, "name", "unknown"), "revoked").inc()


def _on_rejected(message: Any = None, **_: Any) -> None:
    TASKS.labels("unknown", "rejected").inc()


_connected = False


def _connect_signals() -> None:
    global _connected  # noqa: PLW0603 - Celery signals are process-wide; connect them once
    if _connected:
        return
    signals.worker_process_init.connect(_on_process_init, weak=False)
    signals.worker_process_shutdown.connect(_on_process_shutdown, weak=False)
    signals.task_prerun.connect(_on_prerun, weak=False)
    signals.task_postrun.connect(_on_postrun, weak=False)
    signals.task_received.connect(_on_received, weak=False)
    signals.task_revoked.connect(_on_revoked, weak=False)
    signals.task_rejected.connect(_on_rejected, weak=False)
    _connected = True


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


__all__ = ["celery_config", "create_celery_app", "get_app"]
