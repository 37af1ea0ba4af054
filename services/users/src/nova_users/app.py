"""The nova-users application factory."""

from __future__ import annotations

from litestar import Litestar
from sqlalchemy.ext.asyncio import async_sessionmaker

from nova_kit.app import KeySourceFactory, Runtime, create_service_app
from nova_users.admin import AdminController
from nova_users.config import UsersSettings
from nova_users.controllers import InternalProfileController, ProfileController
from nova_users.graphql import graphql_controller
from nova_users.models import UsersSession


def use_users_sessions(runtime: Runtime) -> None:
    """Sessions of this service hide soft-deleted rows by default (see ``models.py``)."""
    if runtime.engine is None:
        raise RuntimeError("nova-users needs its database")
    runtime.sessions = async_sessionmaker(
        runtime.engine, expire_on_commit=False, autoflush=False, sync_session_class=UsersSession
    )


def create_app(settings: UsersSettings, *, key_source: KeySourceFactory | None = None) -> Litestar:
    """Build the users service. ``key_source`` replaces auth's JWKS (tests sign their own)."""
    return create_service_app(
        settings,
        route_handlers=[
            ProfileController,
            InternalProfileController,
            AdminController,
            graphql_controller(),
        ],
        uses_database=True,
        uses_redis=True,
        verify_tokens=True,
        key_source=key_source,
        on_startup=[use_users_sessions],
        max_body_bytes=65_536,
    )
