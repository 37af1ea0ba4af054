"""The nova-auth application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from litestar import Litestar
from litestar.di import Provide

from nova_auth.admin import auth_admin
from nova_auth.config import AuthSettings
from nova_auth.controllers import (
    AccountAdminController,
    AuthController,
    InternalAccountController,
    InternalEventController,
    ServiceTokenController,
    jwks,
)
from nova_auth.graphql import graphql_controller
from nova_auth.identity_controllers import IdentityController, OidcController
from nova_auth.keys import KeyRing, load_dev_key, parse_signing_keys
from nova_auth.services.housekeeping import Housekeeping
from nova_auth.state import AUTH_STATE, build_auth_state, provide_auth_state
from nova_auth.two_factor_controllers import TwoFactorAdminController, TwoFactorController
from nova_kit.app import Runtime, create_service_app
from nova_kit.logs import configure_logging
from nova_kit.settings import SettingsError
from nova_kit.tokens import KeySource

logger = logging.getLogger(__name__)


def build_key_ring(settings: AuthSettings) -> KeyRing:
    """The configured signing keys; a development key in dev/test when none is configured."""
    if settings.signing_keys is not None:
        return KeyRing(parse_signing_keys(settings.signing_keys.get_secret_value()))
    if not settings.is_dev:
        raise SettingsError(f"{settings.env_name('signing_keys')} is not set")
    return KeyRing([load_dev_key(settings.dev_key_file)])


@dataclass
class _Background:
    """The background tasks of this process: the outbox sweeper and housekeeping."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def create_app(settings: AuthSettings) -> Litestar:
    # Logging first, so a generated development key is announced in the service's log format.
    configure_logging(settings.service_name, settings.log_level, json_lines=settings.log_json)
    ring = build_key_ring(settings)
    background = _Background()

    def key_source(_: Runtime) -> KeySource:
        return ring.key_source()

    async def start(runtime: Runtime) -> None:
        state = build_auth_state(settings, runtime, ring)
        await state.hashing.prepare()
        AUTH_STATE.put(runtime.state, state)
        background.stop = asyncio.Event()
        background.tasks = [
            asyncio.create_task(
                state.outbox.run_sweeper(settings.outbox_sweep_interval_seconds, background.stop),
                name="nova-auth-outbox-sweeper",
            ),
            asyncio.create_task(
                Housekeeping(state).run(background.stop),
                name="nova-auth-maintenance",
            ),
        ]

    async def stop(runtime: Runtime) -> None:
        background.stop.set()
        for task in background.tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 5)
        state = AUTH_STATE.pop(runtime.state)
        if state is not None:
            state.close()

    admin = auth_admin(settings) if settings.admin_enabled else None
    return create_service_app(
        settings,
        route_handlers=[
            AuthController,
            AccountAdminController,
            InternalAccountController,
            InternalEventController,
            ServiceTokenController,
            TwoFactorController,
            TwoFactorAdminController,
            OidcController,
            IdentityController,
            jwks,
            graphql_controller(),
            *([admin.route_handler()] if admin else []),
        ],
        uses_database=True,
        uses_redis=True,
        verify_tokens=True,
        key_source=key_source,
        on_startup=[start, *([admin.start] if admin else [])],
        on_shutdown=[stop],
        dependencies={"auth_state": Provide(provide_auth_state, sync_to_thread=False)},
        max_body_bytes=settings.max_body_bytes,
    )
