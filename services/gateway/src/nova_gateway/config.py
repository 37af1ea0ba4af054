"""Settings of nova-gateway (environment variables prefixed ``NOVA_GATEWAY_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from nova_kit.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOVA_GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    port: int = Field(default=8000, ge=1, le=65535)
    jwks_url: str | None = "http://127.0.0.1:8001/.well-known/jwks.json"
