"""Settings of nova-auth (environment variables prefixed ``NOVA_AUTH_``).

Secrets:

- ``NOVA_AUTH_SIGNING_KEYS``: JSON list of signing keys, the first one signs, every one is
  published in the JWKS. Each entry is ``{"kid": "...", "pem": "<PKCS#8 private key>"}`` or a
  private JWK (``kty``/``crv``/``d``/``x``..., with ``kid``). Ed25519 (EdDSA) and P-256 (ES256)
  keys are accepted. ``nova-auth rotate-keys`` prints a new entry and the rotation procedure.
- ``NOVA_AUTH_SERVICE_CLIENTS``: JSON object ``{"<client id>": "<secret>"}`` of the service
  accounts allowed to use ``POST /oauth/token``.
- ``NOVA_AUTH_TWO_FACTOR_KEY``: the key that encrypts two-factor (TOTP) secrets at rest, 32 bytes
  in base64 (``openssl rand -base64 32``); ``NOVA_AUTH_TWO_FACTOR_OLD_KEYS``, a
  comma-separated list of earlier keys that still decrypt (rotation, docs/runbooks.md).

In dev/test a missing signing key becomes a generated development key (ephemeral, or kept in
``NOVA_AUTH_DEV_KEY_FILE``), the ``worker`` client gets a fixed development secret and two-factor
secrets are encrypted with a fixed development key; outside dev/test all three must be set, and
the process refuses to start otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_settings import SettingsConfigDict

from nova_kit.settings import PLACEHOLDER_SECRETS, AdminSettings

DEV_SERVICE_CLIENTS = {"worker": "nova-dev-worker-secret"}
MIN_SERVICE_SECRET_LENGTH = 24
DEV_OIDC_CLIENT_SECRETS = frozenset({"nova-dev-oidc-secret"})


class OidcProviderSettings(BaseModel):
    """One OpenID provider of ``NOVA_AUTH_OIDC_PROVIDERS`` (a JSON list of these)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    """The provider's slug in URLs (``/api/auth/oidc/<name>/...``) and in linked identities."""
    issuer: str = Field(min_length=8, max_length=512, pattern=r"^https?://[^\s?#]+$")
    client_id: str = Field(min_length=1, max_length=256)
    client_secret: SecretStr
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    display_name: str = Field(default="", max_length=64)

    @property
    def label(self) -> str:
        return self.display_name or self.name


OIDC_PROVIDERS = TypeAdapter(list[OidcProviderSettings])


class AuthSettings(AdminSettings):
    model_config = SettingsConfigDict(env_prefix="NOVA_AUTH_", extra="ignore")

    service_name: str = "auth"
    port: int = Field(default=8001, ge=1, le=65535)
    database_schema: str = "auth"
    # Requests to auth are small JSON documents; anything bigger is refused before parsing.
    max_body_bytes: int = Field(default=16_384, ge=1024, le=1_048_576)

    # --- signing keys and tokens -------------------------------------------------------------
    signing_keys: SecretStr | None = None
    dev_key_file: Path | None = None
    access_token_ttl_seconds: int = Field(default=600, ge=30, le=900)
    service_token_ttl_seconds: int = Field(default=300, ge=30, le=900)
    refresh_idle_ttl_seconds: int = Field(default=14 * 86_400, ge=60)
    refresh_absolute_ttl_seconds: int = Field(default=30 * 86_400, ge=60)
    # A spent refresh token presented again within this many seconds of its rotation (a client
    # retrying after a lost response, two tabs racing) is answered 409 without revoking the family.
    refresh_reuse_grace_seconds: float = Field(default=10.0, ge=0, le=60)

    # --- passwords ----------------------------------------------------------------------------
    # OWASP minimum for Argon2id: m=19456 KiB, t=2, p=1. Raising them rehashes on next login.
    argon2_memory_kib: int = Field(default=19_456, ge=19_456)
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_parallelism: int = Field(default=1, ge=1, le=16)
    password_min_length: int = Field(default=8, ge=8)
    password_max_length: int = Field(default=128, ge=64, le=1024)
    # Hashing runs in a dedicated pool: this many threads, and at most ``hash_max_pending``
    # hashes queued or running; a caller waiting longer than the timeout gets 503.
    hash_workers: int = Field(default=2, ge=1, le=64)
    hash_max_pending: int = Field(default=32, ge=1, le=10_000)
    hash_queue_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    # --- rate limits (Redis) ------------------------------------------------------------------
    rate_limit_strategy: Literal["fixed", "sliding"] = "sliding"
    rate_limit_window_seconds: int = Field(default=300, ge=1)
    # Sign-in (docs/security.md): one client gets ``login_limit_per_account_client`` failures
    # per account and ``login_limit_per_client`` attempts in all per window (then 429); past
    # ``login_slowdown_after`` failures to one account from anywhere, every attempt on it waits
    # longer (doubling from 0.25 s up to the maximum) — a slow-down, never a lockout.
    login_limit_per_account: int = Field(default=10, ge=1)
    """Password checks per window on a signed-in account (change password, delete account)."""
    login_limit_per_account_client: int = Field(default=10, ge=1)
    login_limit_per_client: int = Field(default=100, ge=1)
    login_slowdown_after: int = Field(default=10, ge=1)
    login_slowdown_max_seconds: float = Field(default=4.0, ge=0, le=30)
    register_limit_per_client: int = Field(default=20, ge=1)
    token_limit_per_client: int = Field(default=60, ge=1)
    # What the limiter does when Redis is down: None fails closed outside dev/test (sign-in,
    # registration and the token endpoint answer 503 rate_limit_unavailable rather than let
    # unlimited password guessing through) and open in dev/test, with a warning.
    rate_limit_fail_open: bool | None = None
    rate_limit_timeout_seconds: float = Field(default=0.5, gt=0, le=10)
    """How long a limit waits for Redis before the rule above applies (down, or no connection
    free in time)."""

    @property
    def rate_limits_fail_open(self) -> bool:
        return self.is_dev if self.rate_limit_fail_open is None else self.rate_limit_fail_open

    # The gateway, whose X-Forwarded-For names the client (nova_kit.proxies): loopback, where
    # it runs in development; the chart sets the pod network the gateway runs in.
    forwarded_allow_ips: str = "127.0.0.1,::1"

    # --- e-mail verification and password reset (docs/security.md) ---------------------------
    # False: unverified accounts sign in (``emailVerified`` tells clients); true: their sign-in
    # is refused with 403 ``email_not_verified`` (a password reset verifies the address too).
    require_verified_email: bool = False
    verification_token_ttl_seconds: int = Field(default=48 * 3600, ge=300, le=30 * 86_400)
    password_reset_token_ttl_seconds: int = Field(default=1800, ge=300, le=86_400)
    verification_resend_limit_per_account: int = Field(default=3, ge=1)
    verification_resend_limit_per_client: int = Field(default=20, ge=1)
    forgot_password_limit_per_address: int = Field(default=3, ge=1)
    forgot_password_limit_per_client: int = Field(default=10, ge=1)
    email_token_limit_per_client: int = Field(default=30, ge=1)
    """Attempts per window to use a mailed token (verify-email, reset-password) per client."""
    security_event_retention_seconds: int = Field(default=365 * 86_400, ge=86_400)

    # --- service accounts ---------------------------------------------------------------------
    service_clients: SecretStr | None = None

    # --- sign-in with OpenID providers (docs/adr/0017) ---------------------------------------
    oidc_providers: SecretStr | None = None
    """JSON list of providers: ``[{"name", "issuer", "client_id", "client_secret", "scopes",
    "display_name"}]``; none configured: the feature is off."""
    oidc_redirect_base_url: str = "http://localhost:8000"
    """The public origin providers send the browser back to (the gateway's, as the browser sees
    it): callbacks are ``<this>/api/auth/oidc/<name>/callback``."""
    oidc_signup_unverified_email: bool = False
    """Whether a provider that has not verified the address (``email_verified`` not true) may
    create an account with it. Off: such a sign-up is refused (403 ``oidc_email_unverified``),
    so nobody can create an account under someone else's address and keep an identity linked
    to it after the address's owner takes the account back (pre-account hijacking)."""
    oidc_flow_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    """How long a started sign-in may take at the provider before its state expires."""
    oidc_http_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    oidc_metadata_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    """How long a provider's discovery document and JWKS are cached (a token signed by an
    unknown key refetches the JWKS sooner, at most once a minute)."""
    oidc_clock_leeway_seconds: int = Field(default=60, ge=0, le=300)
    oidc_limit_per_client: int = Field(default=30, ge=1)
    """Sign-ins started and callbacks answered per client address and window."""

    # --- outbox -------------------------------------------------------------------------------
    outbox_sweep_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    outbox_batch_size: int = Field(default=100, ge=1, le=10_000)
    outbox_publish_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # After a failed publish, skip publishing inline for this long (the sweeper retries).
    outbox_backoff_seconds: float = Field(default=5.0, ge=0, le=600)
    # An event its consumer has not confirmed is published again this long after it was
    # published, then after twice as long, up to the maximum, for at most that many deliveries
    # in all (0 s: never, when nothing confirms events).
    outbox_redelivery_seconds: float = Field(default=300.0, ge=0, le=86_400)
    outbox_redelivery_max_seconds: float = Field(default=3600.0, gt=0, le=86_400)
    outbox_max_deliveries: int = Field(default=10, ge=1, le=100)

    # --- housekeeping (every replica; deletes are idempotent) -------------------------------
    maintenance_interval_seconds: float = Field(default=3600.0, gt=0)
    outbox_retention_seconds: int = Field(default=7 * 86_400, ge=60)
    session_retention_seconds: int = Field(default=86_400, ge=0)

    # --- two-factor sign-in (TOTP, RFC 6238; nova_auth.services.two_factor) -------------------
    two_factor_key: SecretStr | None = None
    two_factor_old_keys: SecretStr | None = None
    two_factor_issuer: str = Field(default="Nova", min_length=1, max_length=64)
    """The issuer an authenticator app shows next to the account."""
    mfa_challenge_ttl_seconds: int = Field(default=300, ge=30, le=900)
    """How long the challenge a password sign-in answers for a two-factor account is valid."""
    two_factor_limit_per_account: int = Field(default=10, ge=1)
    """Code checks per rate-limit window on one account (sign-in, confirmation, disabling)."""
    two_factor_limit_per_client: int = Field(default=50, ge=1)

    # --- development --------------------------------------------------------------------------
    dev_admin_email: str = "admin@nova.local"

    @field_validator("signing_keys")
    @classmethod
    def _signing_keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        from nova_auth.keys import parse_signing_keys

        parse_signing_keys(value.get_secret_value())
        return value

    @field_validator("service_clients")
    @classmethod
    def _service_clients_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parse_service_clients(value.get_secret_value())
        return value

    @field_validator("two_factor_key", "two_factor_old_keys")
    @classmethod
    def _two_factor_keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        from nova_auth.secretbox import parse_keys

        parse_keys(value.get_secret_value())
        return value

    @field_validator("oidc_providers")
    @classmethod
    def _oidc_providers_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parse_oidc_providers(value.get_secret_value())
        return value

    def oidc_provider_list(self) -> list[OidcProviderSettings]:
        if self.oidc_providers is None:
            return []
        return parse_oidc_providers(self.oidc_providers.get_secret_value())

    def service_client_secrets(self) -> dict[str, str]:
        if self.service_clients is None:
            return dict(DEV_SERVICE_CLIENTS) if self.is_dev else {}
        return parse_service_clients(self.service_clients.get_secret_value())

    def check_production(self) -> list[str]:
        problems = super().check_production()
        if self.signing_keys is None:
            problems.append(
                f"{self.env_name('signing_keys')}: must be set outside dev/test "
                "(generate one with `nova-auth rotate-keys`)"
            )
        if self.service_clients is None:
            problems.append(
                f"{self.env_name('service_clients')}: must list the service clients outside "
                'dev/test, e.g. {"worker": "<secret>"}'
            )
        else:
            dev_secrets = set(DEV_SERVICE_CLIENTS.values())
            for client, secret in self.service_client_secrets().items():
                if (
                    secret.strip().lower() in PLACEHOLDER_SECRETS
                    or secret in dev_secrets
                    or len(secret) < MIN_SERVICE_SECRET_LENGTH
                ):
                    problems.append(
                        f"{self.env_name('service_clients')}: the secret of {client!r} is a "
                        f"placeholder or shorter than {MIN_SERVICE_SECRET_LENGTH} characters"
                    )
        if self.two_factor_key is None:
            problems.append(
                f"{self.env_name('two_factor_key')}: must be set outside dev/test (32 random "
                "bytes in base64, e.g. from `openssl rand -base64 32`)"
            )
        else:
            from nova_auth.secretbox import DEV_KEY, parse_keys

            if parse_keys(self.two_factor_key.get_secret_value())[0] == DEV_KEY:
                problems.append(
                    f"{self.env_name('two_factor_key')}: the development key is not allowed "
                    "outside dev/test"
                )
        problems += self._oidc_problems()
        for name, value in (("database_url", self.database_url), ("redis_url", self.redis_url)):
            if value is None:
                problems.append(f"{self.env_name(name)}: must be set")
        return problems

    def _oidc_problems(self) -> list[str]:
        providers = self.oidc_provider_list()
        if not providers:
            return []
        problems: list[str] = []
        env = self.env_name("oidc_providers")
        if not self.oidc_redirect_base_url.startswith("https://"):
            problems.append(f"{self.env_name('oidc_redirect_base_url')}: must be an https URL")
        for provider in providers:
            secret = provider.client_secret.get_secret_value()
            if not provider.issuer.startswith("https://"):
                problems.append(f"{env}: the issuer of {provider.name!r} must be an https URL")
            if secret.strip().lower() in PLACEHOLDER_SECRETS or secret in DEV_OIDC_CLIENT_SECRETS:
                problems.append(f"{env}: the client secret of {provider.name!r} is a placeholder")
        return problems


def parse_oidc_providers(raw: str) -> list[OidcProviderSettings]:
    try:
        providers = OIDC_PROVIDERS.validate_json(raw)
    except ValidationError as error:
        # Where and what, never the input: it holds client secrets.
        where = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'value'}: {problem['msg']}"
            for problem in error.errors(include_input=False)
        )
        raise ValueError(f"not a valid provider list ({where})") from None
    names = [provider.name for provider in providers]
    if len(set(names)) != len(names):
        raise ValueError("two providers share a name")
    if any("openid" not in provider.scopes for provider in providers):
        raise ValueError('the scopes of every provider must include "openid"')
    return providers


def parse_service_clients(raw: str) -> dict[str, str]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg})") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError('expected a JSON object {"<client id>": "<secret>"}')
    return dict(value)
