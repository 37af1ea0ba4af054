"""Run a service's ASGI app under uvicorn with a graceful, two-step shutdown.

On SIGTERM (or SIGINT) the service first *drains*: ``/ready`` answers 503 at once, and every
request — the ones in flight and the ones still arriving — keeps being served, each answer with
``Connection: close`` so no client keeps a connection the server is about to drop. The drain
lasts at least ``shutdown_delay_seconds`` (load balancers, the gateway's pools and clients move
away meanwhile) and then until the service has been quiet — nothing in flight, nothing new —
for half a second, at most half of ``graceful_shutdown_seconds``. Then uvicorn stops accepting
connections, lets what is still in flight finish for up to ``graceful_shutdown_seconds`` and
runs the app's shutdown (closing pools). A second signal skips the drain.

Without the drain, a request a client has already written into a keep-alive connection that the
server has not read yet is lost: uvicorn closes connections it considers idle the moment it
stops. Kubernetes adds its ``preStop`` sleep in front of all this (endpoints are removed while
the pod still serves).

With ``workers`` above 1 (``NOVA_WORKERS``, or the service's ``NOVA_<SERVICE>_WORKERS``) the
process becomes a small supervisor: it binds the listening socket once and starts that many
copies of its own command line, each inheriting the socket (the kernel spreads connections
among them) and each running the server above. A signal to the supervisor is passed to every
worker, so every one drains as described; a worker that dies otherwise is started again, unless
it died while starting (then the supervisor stops them all and exits with its code).
Prometheus metrics are then kept in ``prometheus_client``'s multi-process mode (a directory of
memory-mapped files every worker writes), so ``/metrics`` from any worker — or the metrics port,
served by the supervisor — reports the sum over all of them (see ``nova_kit.metrics``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from types import FrameType
from typing import Any, cast

import uvicorn
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from nova_kit.health import READINESS_STATE_KEY, Readiness
from nova_kit.metrics import MULTIPROCESS_DIR_ENV, forget_worker, serve_metrics_port
from nova_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)


QUIET_SECONDS = 0.5
SOCKET_FD_ENV = "NOVA_SERVER_SOCKET_FD"
"""Set in a worker's environment by the supervisor: the inherited listening socket's fd."""
WORKER_INDEX_ENV = "NOVA_WORKER_INDEX"
RESTART_PAUSE_SECONDS = 1.0
ECHO_SECONDS = 0.25
EARLY_EXIT_SECONDS = 10.0
"""A worker that exits this soon after it was started could not start: the supervisor stops."""


class CloseWhileDraining:
    """ASGI wrapper that counts requests and, while draining, answers each with
    ``Connection: close`` (uvicorn then closes the connection after it), as Go's
    ``Server.Shutdown`` turns keep-alives off."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.draining = False
        self.in_flight = 0
        self.last_request = 0.0

    def quiet_for(self, seconds: float) -> bool:
        return self.in_flight == 0 and time.monotonic() - self.last_request >= seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        self.last_request = time.monotonic()
        try:
            if not self.draining:
                await self.app(scope, receive, send)
                return

            async def closing(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = [*message.get("headers", []), (b"connection", b"close")]
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, closing)
        finally:
            self.in_flight -= 1
            self.last_request = time.monotonic()


COALESCE_LIMIT = 64 * 1024
"""Bytes a connection holds back before writing them at once."""


class CoalescingTransport:
    """A connection's transport whose writes made in one turn of the event loop reach the socket
    in one ``write`` at the end of that turn (or at once past :data:`COALESCE_LIMIT`).

    uvicorn writes a response's head when the app sends ``http.response.start`` and its body at
    ``http.response.body``: two system calls, and two segments on the wire, for an answer that
    is whole at once — a twentieth of a small request's CPU in the gateway. Held until the end of
    the turn, they go as one. Nothing waits longer than that turn: a head sent before a slow
    body still leaves at once. Closing (or handing the connection to another protocol) writes
    what is held first.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: list[bytes] = []
        self._size = 0
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size >= COALESCE_LIMIT:
            self.flush()

    def flush(self) -> None:
        if not self._held:
            return
        held, self._held, self._size = self._held, [], 0
        if self._transport.is_closing():
            return  # the connection is gone: nothing can be delivered
        self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held, self._size = [], 0
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self._transport.set_protocol(protocol)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(cast("asyncio.Transport", CoalescingTransport(transport)))


def server_config(app: ASGIApp, settings: ServiceSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http=CoalescingHttpToolsProtocol,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,
        access_log=False,
        # The app resolves forwarded headers itself (nova_kit.proxies), from trusted peers only.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=int(settings.graceful_shutdown_seconds),
        timeout_keep_alive=30,
    )


class DrainingServer(uvicorn.Server):
    """uvicorn's server with the drain step in front of its own shutdown."""

    def __init__(
        self,
        config: uvicorn.Config,
        app: Litestar,
        wrapper: CloseWhileDraining,
        *,
        delay: float,
        longest: float,
    ) -> None:
        super().__init__(config)
        self.app = app
        self.wrapper = wrapper
        self.delay_seconds = delay
        self.longest_seconds = max(delay, longest)
        self.drain_started: float | None = None
        self.drain_signal: int = signal.SIGTERM

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._echo(sig):
            return
        if self.drain_started is not None or self.delay_seconds <= 0:
            super().handle_exit(sig, frame)
            return
        # Runs in the signal handler: only set flags; the main loop's tick does the rest.
        self.drain_started = time.monotonic()
        self.drain_signal = sig
        self.wrapper.draining = True
        readiness = self.app.state.get(READINESS_STATE_KEY)
        if isinstance(readiness, Readiness):
            readiness.draining = True

    def _echo(self, sig: int) -> bool:
        """A worker gets a terminal's Ctrl-C (or a signal to the process group) twice, from the
        terminal and from its supervisor: the copy arriving right after the first is not a
        second signal."""
        return (
            is_worker()
            and self.drain_started is not None
            and sig == self.drain_signal
            and time.monotonic() - self.drain_started < ECHO_SECONDS
        )

    def drained(self) -> bool:
        if self.drain_started is None:
            return False
        elapsed = time.monotonic() - self.drain_started
        if elapsed >= self.longest_seconds:
            return True
        return elapsed >= self.delay_seconds and self.wrapper.quiet_for(QUIET_SECONDS)

    async def on_tick(self, counter: int) -> bool:
        if not self.should_exit and self.drained():
            assert self.drain_started is not None
            logger.info("drained for %.1fs; stopping", time.monotonic() - self.drain_started)
            super().handle_exit(self.drain_signal, None)
        return await super().on_tick(counter)


def is_worker() -> bool:
    """Whether this process is one of a supervisor's workers."""
    return SOCKET_FD_ENV in os.environ


def serve(app: Litestar, settings: ServiceSettings) -> None:
    if settings.workers > 1 and not is_worker():
        Supervisor(settings).run()
        return
    wrapper = CloseWhileDraining(app)
    config = server_config(wrapper, settings)
    sockets: list[socket.socket] | None = None
    if is_worker():
        sockets = [socket.socket(fileno=int(os.environ[SOCKET_FD_ENV]))]
    DrainingServer(
        config,
        app,
        wrapper,
        delay=settings.shutdown_delay_seconds,
        longest=settings.graceful_shutdown_seconds / 2,
    ).run(sockets=sockets)


def bind_socket(settings: ServiceSettings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Starts ``settings.workers`` copies of this process's command line on one shared socket,
    passes SIGTERM/SIGINT on to them, starts a worker that died on its own again, and returns
    once every worker has stopped."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.workers: dict[int, subprocess.Popen[bytes]] = {}
        self.started: dict[int, float] = {}
        self.stopping = False
        self.exit_code = 0

    def run(self) -> None:
        sock = bind_socket(self.settings)
        given = os.environ.get(MULTIPROCESS_DIR_ENV)
        directory = given or tempfile.mkdtemp(prefix="nova-metrics-")
        if given:
            for entry in os.scandir(directory):
                if entry.name.endswith(".db"):
                    os.unlink(entry.path)
        metrics = None
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            if self.settings.metrics_port:
                metrics = serve_metrics_port(
                    self.settings.metrics_port, self.settings.host, directory
                )
            for index in range(self.settings.workers):
                self._start(index, sock, directory)
            logger.info("serving with %d workers", self.settings.workers)
            self._watch(sock, directory)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            sock.close()
            if metrics is not None:
                metrics.shutdown()
                metrics.server_close()
            if not given:
                shutil.rmtree(directory, ignore_errors=True)
        if self.exit_code:
            raise SystemExit(self.exit_code)

    def _start(self, index: int, sock: socket.socket, directory: str) -> None:
        self.started[index] = time.monotonic()
        env = {
            **os.environ,
            SOCKET_FD_ENV: str(sock.fileno()),
            WORKER_INDEX_ENV: str(index),
            MULTIPROCESS_DIR_ENV: directory,
        }
        command = [sys.executable, *sys.orig_argv[1:]]
        # The command line this process was started with: trusted by definition.
        self.workers[index] = subprocess.Popen(  # noqa: S603
            command, env=env, pass_fds=(sock.fileno(),)
        )

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        self.stopping = True
        for worker in self.workers.values():
            if worker.poll() is None:
                worker.send_signal(sig)

    def _watch(self, sock: socket.socket, directory: str) -> None:
        while self.workers:
            time.sleep(0.2)
            for index, worker in list(self.workers.items()):
                code = worker.poll()
                if code is None:
                    continue
                forget_worker(worker.pid, directory)
                del self.workers[index]
                if self.stopping:
                    if code not in (0, -signal.SIGTERM, -signal.SIGINT):
                        self.exit_code = self.exit_code or 1
                    continue
                if time.monotonic() - self.started[index] < EARLY_EXIT_SECONDS:
                    # It could not start: starting it again would fail the same way. Stop, and
                    # let whatever runs the service (Kubernetes) restart it with its back-off.
                    logger.error("worker %d exited with %s while starting; stopping", index, code)
                    self.exit_code = code if code and code > 0 else 1
                    self._on_signal(signal.SIGTERM, None)
                    continue
                logger.warning("worker %d exited with %s; starting it again", index, code)
                time.sleep(RESTART_PAUSE_SECONDS)
                if not self.stopping:
                    self._start(index, sock, directory)
