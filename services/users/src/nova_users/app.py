"""The nova-users application factory."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide

from nova_kit.app import KeySourceFactory, create_service_app
from nova_users.admin import users_admin
from nova_users.config import UsersSettings
from nova_users.controllers import InternalProfileController, ProfileController
from nova_users.graphql import graphql_controller
from nova_users.state import provide_users_state, store_users_state


def create_app(settings: UsersSettings, *, key_source: KeySourceFactory | None = None) -> Litestar:
    """Build the users service. ``key_source`` replaces auth's JWKS (tests sign their own)."""
    admin = users_admin(settings) if settings.admin_enabled else None
    return create_service_app(
        settings,
        route_handlers=[
            ProfileController,
            InternalProfileController,
            graphql_controller(),
            *([admin.route_handler()] if admin else []),
        ],
        uses_database=True,
        uses_redis=True,
        verify_tokens=True,
        key_source=key_source,
        on_startup=[store_users_state, *([admin.start] if admin else [])],
        dependencies={"users_state": Provide(provide_users_state, sync_to_thread=False)},
        max_body_bytes=65_536,
    )
