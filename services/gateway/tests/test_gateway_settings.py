"""The gateway fails closed outside dev/test, like every service."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from nova_gateway.config import GatewaySettings

COMPLETE: dict[str, Any] = {
    "environment": "prod",
    "redis_url": "redis://redis.internal:6379/0",
    "jwks_url": "http://auth:8001/.well-known/jwks.json",
}
SHARED = ("REDIS_URL", "NOVA_JWKS_URL", "NOVA_GATEWAY_REDIS_URL", "NOVA_GATEWAY_JWKS_URL")


def test_production_settings_with_every_dependency_are_accepted() -> None:
    settings = GatewaySettings(**COMPLETE)
    assert settings.check_production() == []


@pytest.mark.parametrize(
    ("missing", "variable"),
    [("redis_url", "NOVA_GATEWAY_REDIS_URL"), ("jwks_url", "NOVA_GATEWAY_JWKS_URL")],
)
def test_production_refuses_a_missing_dependency(
    missing: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SHARED:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match=variable):
        GatewaySettings(**{**COMPLETE, missing: None})


def test_dev_settings_need_neither() -> None:
    settings = GatewaySettings(environment="dev", redis_url=None, jwks_url=None)
    assert settings.check_production()  # reported, but dev starts anyway
    assert settings.environment == "dev"


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"NOVA_GATEWAY_JWKS_URL": "http://auth:8001/.well-known/jwks.json"}, "REDIS_URL"),
        ({"NOVA_GATEWAY_REDIS_URL": "redis://redis.internal:6379/0"}, "JWKS_URL"),
    ],
)
def test_the_command_stops_at_start_with_one_line(given: dict[str, str], named: str) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SHARED and not key.startswith("NOVA_")
    }
    env |= {"NOVA_ENVIRONMENT": "prod", "NOVA_GATEWAY_ENVIRONMENT": "prod", **given}
    result = subprocess.run(
        [sys.executable, "-c", "from nova_gateway.cli import main; main()", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"NOVA_GATEWAY_{named}" in lines[0]
