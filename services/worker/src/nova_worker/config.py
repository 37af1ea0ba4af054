"""Settings of nova-worker (environment variables prefixed ``NOVA_WORKER_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from nova_kit.settings import ServiceSettings


class WorkerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOVA_WORKER_", extra="ignore")

    service_name: str = "worker"
    port: int = Field(default=9808, ge=1, le=65535)
    database_schema: str = "worker"
    jwks_url: str | None = "http://127.0.0.1:8001/.well-known/jwks.json"
