"""The nova-worker application factory."""

from __future__ import annotations

from litestar import Litestar

from nova_kit.app import create_service_app
from nova_worker.config import WorkerSettings


def create_app(settings: WorkerSettings) -> Litestar:
    return create_service_app(
        settings,
        uses_database=True,
        verify_tokens=True,
    )
