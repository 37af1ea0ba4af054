"""The nova-users application factory."""

from __future__ import annotations

from litestar import Litestar

from nova_kit.app import create_service_app
from nova_users.config import UsersSettings


def create_app(settings: UsersSettings) -> Litestar:
    return create_service_app(
        settings,
        uses_database=True,
        verify_tokens=True,
    )
