"""The worker's probe and scrape endpoint on port 9808: ``/health``, ``/ready``, ``/metrics``.

Celery has no liveness probe of its own (celery#4079). The consumer touches a heartbeat (a
file, and a timestamp in memory) from a timer of its own event loop, so the heartbeat stops
when the consumer stops consuming, not merely when the process is alive:

- ``GET /health`` (liveness) is 200 while the heartbeat is fresh (or during start-up grace);
- ``GET /ready`` (readiness) is 200 once the worker is ready and Redis answers a ping, with
  the body and status codes of every service's ``/ready`` (``nova_kit.readiness``);
- ``GET /metrics`` renders the task metrics of every pool process and the broker gauges.

The server is a small threaded stdlib HTTP server in the worker's main process: it needs no
event loop, so it is unaffected by the pool forking children.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis import Redis

from nova_kit.readiness import Check, NotReadyError, Readiness, readiness_report

logger = logging.getLogger(__name__)


def file_age(path: Path) -> float | None:
    """Seconds since ``path`` was last touched, or ``None`` if it does not exist."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except FileNotFoundError:
        return None


class Heartbeat:
    """A timestamp in memory plus a file whose modification time other processes can read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last: float | None = None

    def beat(self) -> None:
        self.last = time.monotonic()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            temporary.write_text(f"{time.time():.3f}\n")
            temporary.replace(self.path)
        except OSError:
            logger.warning("could not write the heartbeat file", extra={"path": str(self.path)})

    def age(self) -> float | None:
        return None if self.last is None else time.monotonic() - self.last

    def clear(self) -> None:
        self.last = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class ProbeState:
    """What the probe handlers look at; shared between the worker's signals and the server."""

    def __init__(
        self,
        *,
        heartbeat: Heartbeat,
        max_age: float,
        startup_grace: float,
        broker_url: str | None,
        registry: CollectorRegistry,
        readiness_timeout: float = 1.0,
        task_loop_age: Callable[[], float | None] | None = None,
    ) -> None:
        self.heartbeat = heartbeat
        # The threads pool's task loop (``nova_worker.runtime``): code blocking it stalls every
        # task, and no signal can stop a thread, so liveness fails and the process restarts.
        self.task_loop_age = task_loop_age
        self.max_age = max_age
        self.startup_grace = startup_grace
        self.registry = registry
        self.started = time.monotonic()
        self.ready = False
        self.draining = False
        self._broker = (
            Redis.from_url(broker_url, socket_timeout=1.0, socket_connect_timeout=1.0)
            if broker_url
            else None
        )
        checks: dict[str, Check] = {"broker": self._ping_broker} if self._broker else {}
        checks["consumer"] = self._consumer
        self._readiness = Readiness(checks=checks, timeout=readiness_timeout)

    def health(self) -> tuple[int, dict[str, Any]]:
        loop_age = self.task_loop_age() if self.task_loop_age else None
        if loop_age is not None and loop_age > self.max_age:
            return 503, {
                "status": "unhealthy",
                "code": "task_loop_stalled",
                "message": f"the task event loop has not turned for {loop_age:.0f}s "
                f"(limit {self.max_age:g}s)",
            }
        age = self.heartbeat.age()
        if age is not None and age <= self.max_age:
            return 200, {"status": "ok", "heartbeat_age_seconds": round(age, 3)}
        if age is None and time.monotonic() - self.started <= self.startup_grace:
            return 200, {"status": "starting"}
        return 503, {
            "status": "unhealthy",
            "code": "consumer_stalled",
            "message": (
                "the consumer has not sent a heartbeat"
                if age is None
                else f"the consumer heartbeat is {age:.0f}s old (limit {self.max_age:g}s)"
            ),
        }

    def readiness(self) -> tuple[int, dict[str, Any]]:
        """The kit's readiness report (what every service's ``/ready`` answers) over the
        broker and the consumer; one short-lived event loop per probe request."""
        return asyncio.run(readiness_report(self._readiness))

    async def _ping_broker(self) -> None:
        assert self._broker is not None
        await asyncio.to_thread(self._broker.ping)

    async def _consumer(self) -> None:
        if self.draining:
            raise NotReadyError("draining")
        if not self.ready:
            raise NotReadyError("starting")


def _handler(state: ProbeState) -> type[BaseHTTPRequestHandler]:
    routes: dict[str, Callable[[], tuple[int, dict[str, Any]]]] = {
        "/health": state.health,
        "/ready": state.readiness,
    }

    class ProbeHandler(BaseHTTPRequestHandler):
        server_version = "nova-worker"
        sys_version = ""
        send_body = True

        def do_HEAD(self) -> None:
            """The same status and headers as ``GET``, without the body."""
            self.do_GET(send_body=False)

        def do_GET(self, send_body: bool = True) -> None:
            self.send_body = send_body
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body = generate_latest(state.registry)
                self._send(200, body, CONTENT_TYPE_LATEST)
                return
            route = routes.get(path)
            if route is None:
                status, payload = 404, {"code": "not_found", "message": f"no route {path}"}
            else:
                status, payload = route()
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.send_header("cache-control", "no-store")
            self.end_headers()
            if self.send_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return ProbeHandler


class ProbeServer:
    """Serves the probe handlers on ``host:port`` from a daemon thread."""

    def __init__(self, state: ProbeState, host: str, port: int) -> None:
        self.state = state
        self.httpd = ThreadingHTTPServer((host, port), _handler(state))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, name="nova-probes", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self.thread.start()
        logger.info("probe endpoint listening", extra={"port": self.port})

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
