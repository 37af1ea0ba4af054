"""Settings of nova-auth (environment variables prefixed ``NOVA_AUTH_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from nova_kit.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOVA_AUTH_", extra="ignore")

    service_name: str = "auth"
    port: int = Field(default=8001, ge=1, le=65535)
    database_schema: str = "auth"
