"""An ASGI app served by uvicorn on a loopback port, in a background thread, for tests and
benchmarks that need a real HTTP server in the same process (a fake upstream, a subgraph, the
gateway itself)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Literal, Self

import uvicorn

__all__ = ["ThreadedServer"]


class ThreadedServer:
    """``with ThreadedServer(app) as server: httpx.get(server.url)``.

    The socket is bound when the object is made (port 0: a free one, or ``port``), so
    :attr:`port` and :attr:`url` are known before the server starts and no other process can
    take the port in between. Forwarded headers are left to the app, as in production
    (``proxy_headers=False``); access logs are off.
    """

    def __init__(
        self,
        app: Any,
        *,
        port: int = 0,
        path: str = "",
        lifespan: Literal["auto", "on", "off"] = "auto",
        name: str = "server",
        **config: Any,
    ) -> None:
        self.name = name
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", port))
        self.port: int = self.socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base_url}{path}"
        options: dict[str, Any] = {
            "lifespan": lifespan,
            "interface": "asgi3",  # uvicorn would take a bound method for ASGI 2
            "log_config": None,
            "log_level": "warning",
            "access_log": False,
            "proxy_headers": False,
            **config,
        }
        self.server = uvicorn.Server(uvicorn.Config(app, **options))
        self.error: BaseException | None = None
        """What ended the server's thread, if anything did (a failed start-up exits uvicorn)."""
        self.thread = threading.Thread(target=self._run, daemon=True, name=name)

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.socket])
        except BaseException as error:  # reported by start(), not lost in the thread
            self.error = error

    def start(self, timeout: float = 20.0) -> Self:
        """Start serving; raises ``RuntimeError`` if the server is not up within ``timeout``."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:  # uvicorn offers no start event
            if time.monotonic() > deadline or not self.thread.is_alive():
                self.stop()
                reason = f": {self.error!r}" if self.error else ""
                raise RuntimeError(f"{self.name} did not start on port {self.port}{reason}")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        self.socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
