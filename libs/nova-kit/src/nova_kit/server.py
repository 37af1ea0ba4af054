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
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

import uvicorn
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from nova_kit.health import READINESS_STATE_KEY, Readiness
from nova_kit.settings import ServiceSettings

logger = logging.getLogger(__name__)


QUIET_SECONDS = 0.5


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


def server_config(app: ASGIApp, settings: ServiceSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
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


def serve(app: Litestar, settings: ServiceSettings) -> None:
    wrapper = CloseWhileDraining(app)
    config = server_config(wrapper, settings)
    DrainingServer(
        config,
        app,
        wrapper,
        delay=settings.shutdown_delay_seconds,
        longest=settings.graceful_shutdown_seconds / 2,
    ).run()
