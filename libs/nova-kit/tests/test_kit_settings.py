"""Settings fail closed outside dev/test, with one line naming the bad setting."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from nova_kit.settings import Environment, ServiceSettings, load_settings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOVA_DEMO_", extra="ignore")

    service_name: str = "demo"
    api_secret: SecretStr | None = None

    def check_production(self) -> list[str]:
        return [*super().check_production(), *self.require_secret("api_secret", self.api_secret)]


def test_dev_accepts_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVA_DEMO_ENVIRONMENT", "dev")
    assert DemoSettings().environment is Environment.DEV


def test_prod_refuses_a_missing_secret_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NOVA_ENVIRONMENT", "prod")
    with pytest.raises(SystemExit) as exit_info:
        load_settings(DemoSettings)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "NOVA_DEMO_API_SECRET" in lines[0]


def test_prod_refuses_placeholder_secrets_and_wildcard_cors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOVA_DEMO_ENVIRONMENT", "prod")
    monkeypatch.setenv("NOVA_DEMO_API_SECRET", "change-me")
    assert DemoSettings.model_construct(api_secret=SecretStr("change-me")).require_secret(
        "api_secret", SecretStr("change-me")
    )
    with pytest.raises(ValueError, match="NOVA_DEMO_API_SECRET"):
        DemoSettings()
    monkeypatch.setenv("NOVA_DEMO_API_SECRET", "a-real-and-long-secret-value")
    monkeypatch.setenv("NOVA_DEMO_CORS_ALLOW_ORIGINS", '["*"]')
    with pytest.raises(ValueError, match="NOVA_DEMO_CORS_ALLOW_ORIGINS"):
        DemoSettings()
    monkeypatch.setenv("NOVA_DEMO_CORS_ALLOW_ORIGINS", '["https://app.example.com"]')
    assert DemoSettings().environment is Environment.PROD


def test_prefixed_variables_win_over_shared_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://shared/db")
    monkeypatch.setenv("REDIS_URL", "redis://shared:6379/0")
    monkeypatch.setenv("NOVA_DEMO_REDIS_URL", "redis://own:6379/0")
    settings = DemoSettings()
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == "postgresql://shared/db"
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == "redis://own:6379/0"


def test_invalid_values_are_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NOVA_DEMO_PORT", "not-a-port")
    with pytest.raises(SystemExit):
        load_settings(DemoSettings)
    assert "NOVA_DEMO_PORT" in capsys.readouterr().err


@pytest.mark.parametrize("service", ["auth", "users", "gateway", "worker"])
def test_every_service_refuses_to_start_with_unsafe_prod_settings(service: str) -> None:
    """The real console scripts stop with one line when production settings are unsafe."""
    env = {
        "PATH": "/usr/bin:/bin",
        "NOVA_ENVIRONMENT": "prod",
        f"NOVA_{service.upper()}_CORS_ALLOW_ORIGINS": '["*"]',
    }
    script = f"{sys.prefix}/bin/nova-{service}"
    result = subprocess.run(
        [script, "check-config"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "NOVA_" in result.stderr
    assert "Traceback" not in result.stderr
