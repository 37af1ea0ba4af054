"""Run a service's ASGI app under uvicorn with graceful shutdown.

On SIGTERM uvicorn stops accepting connections, lets in-flight requests finish for up to
``graceful_shutdown_seconds`` and then runs the app's shutdown (closing pools). Kubernetes
gives the pod a ``preStop`` sleep first, so endpoints are gone before the drain starts.
"""

from __future__ import annotations

import uvicorn
from litestar import Litestar

from nova_kit.settings import ServiceSettings


def server_config(app: Litestar, settings: ServiceSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        server_header=False,
        timeout_graceful_shutdown=int(settings.graceful_shutdown_seconds),
        timeout_keep_alive=30,
    )


def serve(app: Litestar, settings: ServiceSettings) -> None:
    uvicorn.Server(server_config(app, settings)).run()
