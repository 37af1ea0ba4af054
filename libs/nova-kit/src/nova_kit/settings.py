"""Typed settings shared by every service.

Each service subclasses :class:`ServiceSettings` with its own env prefix (``NOVA_AUTH_`` ...).
A few variables are shared by the whole system and read without a prefix when the prefixed one
is absent: ``NOVA_ENVIRONMENT``, ``DATABASE_URL``, ``REDIS_URL``, ``NOVA_WORKERS`` ...

Outside ``environment=dev|test`` the settings fail closed: :meth:`ServiceSettings.check_production`
returns the problems, and :func:`load_settings` stops the process with one line naming the
first bad setting.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "password", "test"})


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class SettingsError(RuntimeError):
    """A setting is missing or unsafe; the message names it."""


class _SharedEnvSource(EnvSettingsSource):
    """Reads the system-wide unprefixed variables (``DATABASE_URL`` ...) as a fallback."""

    shared: ClassVar[dict[str, str]] = {
        "environment": "NOVA_ENVIRONMENT",
        "database_url": "DATABASE_URL",
        "redis_url": "REDIS_URL",
        "jwks_url": "NOVA_JWKS_URL",
        "otlp_endpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
        "workers": "NOVA_WORKERS",
    }

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        env_name = self.shared.get(field_name)
        if env_name is None:
            return None, field_name, False
        return os.environ.get(env_name), field_name, False


class ServiceSettings(BaseSettings):
    """What every Nova process needs. Subclasses set ``env_prefix`` and their own defaults."""

    model_config = SettingsConfigDict(
        env_prefix="NOVA_", extra="ignore", validate_default=True, env_file=None
    )

    service_name: str = "nova"
    environment: Environment = Environment.DEV
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    """Server processes sharing the port (``nova_kit.server``); the chart sets it to the
    container's CPU limit. Read from the service's own variable (``NOVA_AUTH_WORKERS`` ...), else
    ``NOVA_WORKERS``."""
    log_level: str = "INFO"
    log_json: bool = True
    dev_assets: str | None = None
    """``node_modules`` of ``libs/nova-kit/dev-assets`` (``make dev`` sets it): in
    ``environment=dev``, the API reference and GraphiQL load their scripts from there instead of
    a CDN."""

    database_url: SecretStr | None = None
    database_schema: str | None = None
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=5, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    db_statement_timeout_ms: int = Field(default=10_000, ge=100)
    redis_url: SecretStr | None = None
    readiness_timeout_seconds: float = Field(default=1.0, gt=0, le=1.0)

    # access-token verification (every service verifies tokens itself)
    jwks_url: str | None = None
    jwt_issuer: str = "nova-auth"
    jwt_audience: str = "nova"
    jwks_min_refresh_seconds: float = Field(default=30.0, ge=1.0)
    revocation_fail_closed: bool | None = None
    """Refuse tokens (503 ``token_check_unavailable``) while Redis cannot say whether they were
    revoked. None: closed outside dev/test, open in dev/test. It cannot be opened in prod."""
    revocation_timeout_seconds: float = Field(default=0.2, gt=0, le=0.25)
    """How long a revocation check waits for Redis before its failure policy applies."""

    otlp_endpoint: str | None = None
    cors_allow_origins: list[str] = Field(default_factory=list)
    shutdown_delay_seconds: float = Field(default=2.0, ge=0, le=60)
    """After SIGTERM, how long the service at least keeps serving while ``/ready`` says it is
    draining, before it stops accepting connections once quiet (see ``nova_kit.server``)."""
    graceful_shutdown_seconds: float = Field(default=20.0, ge=0)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Serve ``/metrics`` on this port (same host) and not on the public one: the scrape
    endpoint stays off the port clients reach. None: on the public port."""
    forwarded_allow_ips: str = ""
    """Peers whose ``X-Forwarded-For``/``-Proto`` are believed (comma-separated addresses or
    CIDRs; empty: none): the ingress in front of the gateway, the gateway in front of a
    service. See ``nova_kit.proxies``."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _SharedEnvSource(settings_cls),
            file_secret_settings,
        )

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        if self.environment in (Environment.DEV, Environment.TEST):
            return self
        problems = self.check_production()
        if problems:
            raise ValueError(problems[0])
        return self

    def dev_asset_directory(self, *parts: str) -> Path | None:
        """A directory of the dev assets, in ``environment=dev`` when it is installed."""
        if self.environment != Environment.DEV or not self.dev_assets:
            return None
        directory = Path(self.dev_assets).joinpath(*parts)
        return directory if directory.is_dir() else None

    @property
    def is_dev(self) -> bool:
        return self.environment in (Environment.DEV, Environment.TEST)

    @property
    def revocation_fails_closed(self) -> bool:
        if self.revocation_fail_closed is None:
            return not self.is_dev
        return self.revocation_fail_closed

    def env_name(self, field: str) -> str:
        """The environment variable that sets ``field`` for this service."""
        return f"{self.model_config.get('env_prefix', '')}{field}".upper()

    def check_production(self) -> list[str]:
        """Problems that make these settings unsafe outside dev/test. Subclasses extend it."""
        problems: list[str] = []
        if self.revocation_fail_closed is False:
            problems.append(
                f"{self.env_name('revocation_fail_closed')}: revocation checks cannot fail open "
                "outside dev/test (revoked tokens would be accepted while Redis is down)"
            )
        if self.forwarded_allow_ips.strip() == "*":
            problems.append(
                f"{self.env_name('forwarded_allow_ips')}: '*' lets any client choose its "
                "address outside dev/test; list the proxies"
            )
        if "*" in self.cors_allow_origins:
            problems.append(
                f"{self.env_name('cors_allow_origins')}: a wildcard origin is not allowed "
                "outside dev/test; list the origins"
            )
        return problems

    def require_secret(self, field: str, value: SecretStr | str | None) -> list[str]:
        """One problem if ``value`` is missing or a placeholder, else none."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or raw.strip().lower() in PLACEHOLDER_SECRETS:
            return [f"{self.env_name(field)}: must be set to a real secret outside dev/test"]
        return []


class AdminSettings(ServiceSettings):
    """The settings of a service with a model admin (``nova_kit.admin``)."""

    admin: bool | None = None
    """Serve the model admin. None: on in dev/test, off in prod (the chart turns it on)."""
    admin_login_url: str = "/login"
    """Where the admin's refusal page sends a browser that is not signed in (the frontend's
    sign-in page, on the host the gateway serves)."""

    @property
    def admin_enabled(self) -> bool:
        return self.is_dev if self.admin is None else self.admin


def describe_validation_error(settings_cls: type[ServiceSettings], error: ValidationError) -> str:
    """One line naming the first bad setting and why."""
    first = error.errors()[0]
    prefix = str(settings_cls.model_config.get("env_prefix", ""))
    location = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if location:
        return f"invalid setting {prefix}{location.upper()}: {message}"
    return f"invalid settings: {message}"


def load_settings[S: ServiceSettings](settings_cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment, or stop with one clear line on stderr."""
    try:
        return settings_cls(**overrides)
    except ValidationError as error:
        print(
            f"{settings_cls.__name__}: {describe_validation_error(settings_cls, error)}",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
