"""Settings of nova-users (environment variables prefixed ``NOVA_USERS_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from nova_kit.settings import AdminSettings


class UsersSettings(AdminSettings):
    model_config = SettingsConfigDict(env_prefix="NOVA_USERS_", extra="ignore")

    service_name: str = "users"
    port: int = Field(default=8002, ge=1, le=65535)
    database_schema: str = "users"
    jwks_url: str | None = "http://127.0.0.1:8001/.well-known/jwks.json"

    def check_production(self) -> list[str]:
        problems = super().check_production()
        if self.database_url is None:
            problems.append(f"{self.env_name('database_url')}: must be set (or DATABASE_URL)")
        if self.redis_url is None:
            problems.append(
                f"{self.env_name('redis_url')}: must be set (or REDIS_URL); token revocations "
                "are read from Redis"
            )
        if not self.jwks_url:
            problems.append(
                f"{self.env_name('jwks_url')}: must name auth's JWKS (or NOVA_JWKS_URL)"
            )
        return problems
