"""The nova-gateway application factory."""

from __future__ import annotations

from litestar import Litestar

from nova_kit.app import create_service_app
from nova_gateway.config import GatewaySettings


def create_app(settings: GatewaySettings) -> Litestar:
    return create_service_app(
        settings,
        uses_database=False,
        verify_tokens=True,
    )
