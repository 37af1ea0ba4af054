"""Settings fail closed outside dev/test."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from nova_users.config import UsersSettings

COMPLETE: dict[str, Any] = {
    "environment": "prod",
    "database_url": "postgresql://users@db.internal/nova",
    "redis_url": "redis://redis.internal:6379/0",
    "jwks_url": "http://auth:8001/.well-known/jwks.json",
}


def test_production_settings_with_every_dependency_are_accepted() -> None:
    settings = UsersSettings(**COMPLETE)
    assert settings.check_production() == []


@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ("database_url", "NOVA_USERS_DATABASE_URL"),
        ("redis_url", "NOVA_USERS_REDIS_URL"),
        ("jwks_url", "NOVA_USERS_JWKS_URL"),
    ],
)
def test_production_refuses_a_missing_dependency(
    missing: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "NOVA_JWKS_URL", variable):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match=variable):
        UsersSettings(**{**COMPLETE, missing: None})


def test_dev_settings_need_nothing() -> None:
    assert UsersSettings(environment="dev", database_url=None).environment == "dev"
