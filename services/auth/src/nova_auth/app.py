"""The nova-auth application factory."""

from __future__ import annotations

from litestar import Litestar

from nova_kit.app import create_service_app
from nova_auth.config import AuthSettings


def create_app(settings: AuthSettings) -> Litestar:
    return create_service_app(
        settings,
        uses_database=True,
        verify_tokens=False,
    )
