"""The nova-auth application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from litestar import Litestar

from nova_auth.config import AuthSettings
from nova_auth.controllers import (
    ACCOUNTS_KEY,
    KEY_RING_KEY,
    AccountAdminController,
    AuthController,
    InternalAccountController,
    InternalEventController,
    ServiceTokenController,
    jwks,
)
from nova_auth.events import Outbox, Redelivery
from nova_auth.graphql import graphql_controller
from nova_auth.keys import KeyRing, TokenIssuer, load_dev_key, parse_signing_keys
from nova_auth.passwords import PasswordHashing
from nova_auth.services import AccountService
from nova_kit.app import Runtime, create_service_app
from nova_kit.logs import configure_logging
from nova_kit.ratelimit import RateLimiter
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


def build_account_service(
    settings: AuthSettings, runtime: Runtime, ring: KeyRing
) -> AccountService:
    if settings.redis_url is None:
        raise SettingsError(f"{settings.env_name('redis_url')} is not set")
    redis = runtime.require_redis()
    sessions = runtime.require_sessions()
    return AccountService(
        settings,
        sessions,
        redis,
        hashing=PasswordHashing.from_settings(settings),
        issuer=TokenIssuer(ring, issuer=settings.jwt_issuer, audience=settings.jwt_audience),
        limiter=RateLimiter(
            redis,
            prefix="nova:auth:rl",
            name="auth",
            window_seconds=settings.rate_limit_window_seconds,
            strategy=settings.rate_limit_strategy,
            fail_open=settings.rate_limits_fail_open,
        ),
        outbox=Outbox.for_redis(
            sessions,
            settings.redis_url.get_secret_value(),
            publish_timeout_seconds=settings.outbox_publish_timeout_seconds,
            batch_size=settings.outbox_batch_size,
            backoff_seconds=settings.outbox_backoff_seconds,
            redelivery=Redelivery(
                first_seconds=settings.outbox_redelivery_seconds,
                max_seconds=settings.outbox_redelivery_max_seconds,
                max_deliveries=settings.outbox_max_deliveries,
            ),
        ),
    )


@dataclass
class _Background:
    """The background tasks of this process: the outbox sweeper and housekeeping."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


async def run_maintenance(
    service: AccountService, settings: AuthSettings, stop: asyncio.Event
) -> None:
    """Purge old published outbox rows and long-dead sessions, every maintenance interval."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.maintenance_interval_seconds)
        if stop.is_set():
            return
        try:
            events = await service.outbox.purge_published(
                keep_seconds=settings.outbox_retention_seconds
            )
            sessions = await service.purge_expired_sessions(
                keep_seconds=settings.session_retention_seconds
            )
            if events or sessions:
                logger.info("housekeeping", extra={"outbox_rows": events, "sessions": sessions})
        except Exception:
            logger.exception("housekeeping failed")


def create_app(settings: AuthSettings) -> Litestar:
    # Logging first, so a generated development key is announced in the service's log format.
    configure_logging(settings.service_name, settings.log_level, json_lines=settings.log_json)
    ring = build_key_ring(settings)
    background = _Background()

    def key_source(_: Runtime) -> KeySource:
        return ring.key_source()

    async def start(runtime: Runtime) -> None:
        service = build_account_service(settings, runtime, ring)
        await service.hashing.prepare()
        runtime.extras[KEY_RING_KEY] = ring
        runtime.extras[ACCOUNTS_KEY] = service
        background.stop = asyncio.Event()
        background.tasks = [
            asyncio.create_task(
                service.outbox.run_sweeper(settings.outbox_sweep_interval_seconds, background.stop),
                name="nova-auth-outbox-sweeper",
            ),
            asyncio.create_task(
                run_maintenance(service, settings, background.stop),
                name="nova-auth-maintenance",
            ),
        ]

    async def stop(runtime: Runtime) -> None:
        background.stop.set()
        for task in background.tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 5)
        service = runtime.extras.get(ACCOUNTS_KEY)
        if isinstance(service, AccountService):
            service.close()

    return create_service_app(
        settings,
        route_handlers=[
            AuthController,
            AccountAdminController,
            InternalAccountController,
            InternalEventController,
            ServiceTokenController,
            jwks,
            graphql_controller(),
        ],
        uses_database=True,
        uses_redis=True,
        verify_tokens=True,
        key_source=key_source,
        on_startup=[start],
        on_shutdown=[stop],
        max_body_bytes=settings.max_body_bytes,
    )
