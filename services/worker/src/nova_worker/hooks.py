"""What the worker's processes do on Celery's signals, and the consumer's heartbeat step.

- task metrics (received, outcome, duration), counted in the process that runs the task;
- the task runtime: the main process's with the threads pool (built when the worker is
  ready, closed when it shuts down), each prefork child's (built on ``worker_process_init``,
  closed on ``worker_process_shutdown``);
- the time limits of the threads pool, whose tasks Celery does not time: a clock per task
  thread, started on ``task_prerun`` and stopped on ``task_postrun`` (``nova_worker.runtime``);
- :class:`ConsumerHeartbeat`, the consumer's liveness.

Only the worker imports this module (``create_celery_app``); Beat and publishers do not.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from celery import Celery, bootsteps, signals

from nova_worker import runtime
from nova_worker.metrics import TASK_DURATION, TASKS, TaskTimer
from nova_worker.probes import Heartbeat

logger = logging.getLogger(__name__)

OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}


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


_timer = TaskTimer()


def _threads_pool(task: Any) -> bool:
    settings = getattr(getattr(task, "app", None), "nova_settings", None)
    return getattr(settings, "pool", None) == "threads"


def time_limits(task: Any) -> tuple[float | None, float | None]:
    """The (soft, hard) time limits of the task ``task`` is running, as Celery's pool reads
    them: the message's own, else the task's, else the app's defaults."""
    hard, soft = getattr(task.request, "timelimit", None) or (None, None)
    conf = task.app.conf
    return (
        soft or task.soft_time_limit or conf.task_soft_time_limit,
        hard or task.time_limit or conf.task_time_limit,
    )


def _on_worker_ready(**_: Any) -> None:
    # The threads pool's tasks share the main process's runtime: build it before the first.
    if runtime.threaded():
        runtime.start_process_runtime()


def _on_worker_shutdown(**_: Any) -> None:
    # The threads and solo pools run tasks in this process: close its runtime with it.
    runtime.stop_process_runtime()


def _on_process_init(**_: Any) -> None:
    runtime.start_process_runtime()


def _on_process_shutdown(**_: Any) -> None:
    runtime.stop_process_runtime()


def _on_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id:
        _timer.start(task_id)
    if task is not None and _threads_pool(task):
        runtime.start_task_clock(*time_limits(task))


def _on_postrun(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    if task is not None and _threads_pool(task):
        runtime.stop_task_clock()
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


def connect(app: Celery) -> None:
    """Connect the handlers (process-wide, once) and add the heartbeat step to ``app``."""
    global _connected  # noqa: PLW0603 - Celery signals are process-wide; connect them once
    app.steps["consumer"].add(ConsumerHeartbeat)
    if _connected:
        return
    signals.worker_ready.connect(_on_worker_ready, weak=False)
    signals.worker_shutdown.connect(_on_worker_shutdown, weak=False)
    signals.worker_process_init.connect(_on_process_init, weak=False)
    signals.worker_process_shutdown.connect(_on_process_shutdown, weak=False)
    signals.task_prerun.connect(_on_prerun, weak=False)
    signals.task_postrun.connect(_on_postrun, weak=False)
    signals.task_received.connect(_on_received, weak=False)
    signals.task_revoked.connect(_on_revoked, weak=False)
    signals.task_rejected.connect(_on_rejected, weak=False)
    _connected = True
