"""What the worker's main process runs beside Celery: probes, metrics and message recovery.

Installed by ``nova-worker worker`` through Celery's worker signals:

- ``worker_init``: the 9808 endpoint starts (``/health`` answers "starting" until the
  consumer's first heartbeat);
- ``worker_ready``: ``/ready`` may turn green; unacked-message recovery starts;
- ``worker_shutting_down``: ``/ready`` answers 503 while running tasks finish (warm shutdown);
- ``worker_shutdown``: recovery and the endpoint stop.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals

from nova_worker import runtime
from nova_worker.config import WorkerSettings
from nova_worker.metrics import build_registry
from nova_worker.probes import Heartbeat, ProbeServer, ProbeState
from nova_worker.recovery import UnackedRecovery

logger = logging.getLogger(__name__)


class WorkerOperations:
    def __init__(self, app: Celery, settings: WorkerSettings, *, port: int | None = None) -> None:
        self.app = app
        self.settings = settings
        redis_url = settings.require_redis_url()
        self.heartbeat = Heartbeat(settings.heartbeat_file)
        self.heartbeat.clear()
        app.nova_heartbeat = self.heartbeat
        self.state = ProbeState(
            heartbeat=self.heartbeat,
            max_age=settings.heartbeat_max_age_seconds,
            startup_grace=settings.startup_grace_seconds,
            broker_url=redis_url,
            registry=build_registry(redis_url, list(settings.queues), self.heartbeat.age),
            readiness_timeout=settings.readiness_timeout_seconds,
            task_loop_age=runtime.loop_age,
        )
        self.port = settings.metrics_port if port is None else port
        self.server: ProbeServer | None = None
        self.recovery = UnackedRecovery(
            app,
            redis_url,
            interval=settings.recovery_interval_seconds,
            grace=settings.recovery_grace_seconds,
            ttl=settings.incarnation_ttl_seconds,
        )
        app.nova_consumer_started = [self.recovery.forget_held]

    def install(self) -> None:
        signals.worker_init.connect(self._on_init, weak=False)
        signals.worker_ready.connect(self._on_ready, weak=False)
        signals.worker_shutting_down.connect(self._on_shutting_down, weak=False)
        signals.worker_shutdown.connect(self._on_shutdown, weak=False)
        signals.task_received.connect(self._on_received, weak=False)

    def _on_init(self, **_: Any) -> None:
        if self.port:
            host = self.settings.metrics_host or self.settings.host
            self.server = ProbeServer(self.state, host, self.port)
            self.server.start()

    def _on_ready(self, **_: Any) -> None:
        self.state.ready = True
        self.recovery.start()
        logger.info("worker ready", extra={"incarnation": self.recovery.incarnation})

    def _on_received(self, request: Any = None, **_: Any) -> None:
        message = getattr(request, "message", None)
        tag = getattr(message, "delivery_tag", None)
        if tag is not None:
            self.recovery.hold(str(tag), request)

    def _on_shutting_down(self, **_: Any) -> None:
        self.state.draining = True

    def _on_shutdown(self, **_: Any) -> None:
        self.recovery.stop()
        if self.server is not None:
            self.server.stop()
