"""What nova-auth builds once per process, and the typed provider that hands it to requests.

:class:`AuthState` holds the long-lived parts — the database session factory, Redis, the
signing keys, the password-hashing pool, the rate limiter, the outbox. The services that carry
the business rules are cheap objects built over it for each request (see ``controllers.py``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from litestar.datastructures import State
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nova_auth.config import AuthSettings
from nova_auth.events import Outbox, Redelivery
from nova_auth.keys import KeyRing, TokenIssuer
from nova_auth.oidc import OidcProviders
from nova_auth.passwords import PasswordHashing, PasswordPolicy
from nova_kit.app import Runtime, StateKey
from nova_kit.ratelimit import RateLimiter
from nova_kit.settings import SettingsError
from nova_kit.tokens import RevocationList


@dataclass(frozen=True, slots=True)
class AuthState:
    """The process-wide objects of nova-auth, built at start-up and closed at shutdown."""

    settings: AuthSettings
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    key_ring: KeyRing
    hashing: PasswordHashing
    issuer: TokenIssuer
    limiter: RateLimiter
    outbox: Outbox
    revocations: RevocationList
    policy: PasswordPolicy
    service_clients: dict[str, str]
    oidc: OidcProviders
    """The configured OpenID providers (sign-in with an identity provider)."""
    dummy_client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    engine: AsyncEngine | None = None
    """The engine under ``sessions``, for reads outside a session (``AccountRepository.read``)."""
    """Compared against when the client id is unknown, so timing does not tell it apart."""

    def close(self) -> None:
        self.hashing.shutdown()
        self.outbox.close()


AUTH_STATE = StateKey[AuthState]("nova_auth")


def provide_auth_state(state: State) -> AuthState:
    return AUTH_STATE.get(state)


def build_auth_state(settings: AuthSettings, runtime: Runtime, ring: KeyRing) -> AuthState:
    if settings.redis_url is None:
        raise SettingsError(f"{settings.env_name('redis_url')} is not set")
    redis = runtime.require_redis()
    sessions = runtime.require_sessions()
    return AuthState(
        settings=settings,
        sessions=sessions,
        redis=redis,
        key_ring=ring,
        hashing=PasswordHashing.from_settings(settings),
        issuer=TokenIssuer(ring, issuer=settings.jwt_issuer, audience=settings.jwt_audience),
        limiter=RateLimiter(
            redis,
            prefix="nova:auth:rl",
            name="auth",
            window_seconds=settings.rate_limit_window_seconds,
            strategy=settings.rate_limit_strategy,
            fail_open=settings.rate_limits_fail_open,
            timeout_seconds=settings.rate_limit_timeout_seconds,
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
        # The list the service's token verifier follows in memory, when there is one: the cut-off
        # a sign-in mints at is read from it, and what this process revokes shows in it at once.
        revocations=(
            runtime.verifier.revocations
            if runtime.verifier is not None and runtime.verifier.revocations is not None
            else RevocationList(redis)
        ),
        policy=PasswordPolicy(settings.password_min_length, settings.password_max_length),
        service_clients=settings.service_client_secrets(),
        oidc=OidcProviders.from_settings(settings, runtime.http),
        engine=runtime.engine,
    )
