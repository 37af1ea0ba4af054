"""The ``nova-auth`` command: SDL export, key rotation, administrators, fail-closed settings."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from nova_auth import migrations as auth_migrations
from nova_auth.cli import cli
from nova_auth.keys import generate_signing_key, parse_signing_keys

NOVA_AUTH = str(Path(sys.executable).parent / "nova-auth")
REAL_CLIENTS = json.dumps({"worker": "k3J9-a-real-random-secret-value"})
REAL_TWO_FACTOR_KEY = "nSx4YbYmvW2cvo4JyRrF0dBtpqLPp1bNQ1IKB2Xa4D8="


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real console script, in a clean environment."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NOVA_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    return subprocess.run(
        [NOVA_AUTH, *args],
        env={**inherited, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("NOVA_") or name in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_export_sdl_needs_no_server_and_no_database() -> None:
    result = run("export-sdl")
    assert result.returncode == 0, result.stderr
    sdl = result.stdout
    assert '@link(url: "https://specs.apollo.dev/federation/v2.9"' in sdl
    assert 'type User @key(fields: "id")' in sdl
    for field in ("email", "emailVerified", "roles", "status", "lastLoginAt", "createdAt"):
        assert re.search(rf"\n  {field}: ", sdl), field
    for mutation in ("register(", "login(", "refreshToken(", "logout(", "changePassword("):
        assert mutation in sdl
    assert "\n  me:" not in sdl  # `me` belongs to the users subgraph


def test_settings_fail_closed_outside_dev_with_one_line() -> None:
    no_key = run("check-config", env={"NOVA_ENVIRONMENT": "prod"})
    assert no_key.returncode == 2
    assert no_key.stderr.count("\n") == 1
    assert "NOVA_AUTH_SIGNING_KEYS" in no_key.stderr


def test_settings_checks(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = json.dumps([generate_signing_key().entry()])
    cases: list[tuple[dict[str, str], int, str]] = [
        (
            {
                "NOVA_AUTH_SIGNING_KEYS": key,
                "NOVA_AUTH_SERVICE_CLIENTS": '{"worker": "nova-dev-worker-secret"}',
            },
            2,
            "NOVA_AUTH_SERVICE_CLIENTS",
        ),
        ({"NOVA_AUTH_SIGNING_KEYS": key}, 2, "NOVA_AUTH_SERVICE_CLIENTS"),
        ({"NOVA_AUTH_SIGNING_KEYS": '[{"kid": "x", "pem": "nope"}]'}, 2, "NOVA_AUTH_SIGNING_KEYS"),
        (
            {"NOVA_AUTH_SIGNING_KEYS": key, "NOVA_AUTH_SERVICE_CLIENTS": REAL_CLIENTS},
            2,
            "NOVA_AUTH_TWO_FACTOR_KEY",
        ),
        (
            {
                "NOVA_AUTH_SIGNING_KEYS": key,
                "NOVA_AUTH_SERVICE_CLIENTS": REAL_CLIENTS,
                "NOVA_AUTH_TWO_FACTOR_KEY": REAL_TWO_FACTOR_KEY,
            },
            0,
            "",
        ),
    ]
    environment.setenv("DATABASE_URL", "postgresql://auth@db.example/nova")
    environment.setenv("REDIS_URL", "redis://redis.example:6379/0")
    for env, code, named in cases:
        environment.setenv("NOVA_ENVIRONMENT", "prod")
        for name in (
            "NOVA_AUTH_SIGNING_KEYS",
            "NOVA_AUTH_SERVICE_CLIENTS",
            "NOVA_AUTH_TWO_FACTOR_KEY",
        ):
            environment.delenv(name, raising=False)
        for name, value in env.items():
            environment.setenv(name, value)
        try:
            result = cli.main(["check-config"])
        except SystemExit as stop:
            result = int(stop.code or 0)
        assert result == code, env
        assert named in capsys.readouterr().err


def test_rotate_keys_prepends_a_new_key(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    current = generate_signing_key(kid="current")
    environment.setenv("NOVA_AUTH_SIGNING_KEYS", json.dumps([current.entry()]))
    assert cli.main(["rotate-keys"]) == 0
    out = capsys.readouterr()
    value = next(line for line in out.out.splitlines() if line.startswith("["))
    keys = parse_signing_keys(value)
    assert [key.kid for key in keys][1:] == ["current"]
    assert keys[0].kid != "current"
    assert keys[0].algorithm == "EdDSA"
    assert "until every token signed by the old key has expired" in out.err


def test_admin_commands(
    clean_state: None,
    migrated_database: str,
    redis_url: str,
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environment.setenv("NOVA_ENVIRONMENT", "dev")
    environment.setenv("DATABASE_URL", migrated_database)
    environment.setenv("REDIS_URL", redis_url)

    assert cli.main(["seed-dev-admin"]) == 0
    first = capsys.readouterr().out
    match = re.search(r"created development administrator: (\S+) / (\S+)", first)
    assert match, first
    assert cli.main(["seed-dev-admin"]) == 0
    second = capsys.readouterr().out
    assert "already exists" in second
    assert match.group(2) not in second  # the credentials are printed once only

    assert cli.main(["create-admin", "--email", "ops@example.com"]) == 0
    password = re.search(r"password: (\S+)", capsys.readouterr().out)
    assert password
    duplicate = cli.main(["create-admin", "--email", "ops@example.com", "--password", "q7#Lm2!zR9"])
    assert duplicate == 1
    assert "already exists" in capsys.readouterr().err

    assert cli.main(["migrate"]) == 0
    head = ScriptDirectory(str(Path(auth_migrations.__file__).parent)).get_current_head()
    assert f"at revision {head}" in capsys.readouterr().out

    environment.setenv("NOVA_ENVIRONMENT", "prod")
    environment.setenv("NOVA_AUTH_SIGNING_KEYS", json.dumps([generate_signing_key().entry()]))
    assert "DATABASE_URL" in os.environ
    environment.setenv("NOVA_AUTH_SERVICE_CLIENTS", REAL_CLIENTS)
    environment.setenv("NOVA_AUTH_TWO_FACTOR_KEY", REAL_TWO_FACTOR_KEY)
    assert cli.main(["seed-dev-admin"]) == 2
    assert "only runs" in capsys.readouterr().err

    # the printed credentials are the stored ones, with the admin role
    async def stored(email: str) -> Any:
        connection = await asyncpg.connect(migrated_database)
        try:
            return await connection.fetchrow(
                "SELECT password_hash, roles, status FROM auth.accounts WHERE email = $1", email
            )
        finally:
            await connection.close()

    for email, secret in [(match.group(1), match.group(2)), ("ops@example.com", password.group(1))]:
        row = asyncio.run(stored(email))
        assert PasswordHasher().verify(row["password_hash"], secret)
        assert sorted(row["roles"]) == ["admin", "user"]
        assert row["status"] == "active"


def test_a_persisted_dev_key_survives_restarts(tmp_path: Path) -> None:
    from nova_auth.keys import load_dev_key

    path = tmp_path / ".nova" / "auth-signing-key.json"
    first = load_dev_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    second = load_dev_key(path)
    assert second.kid == first.kid
    assert second.public_jwk() == first.public_jwk()
    assert load_dev_key(None).kid != first.kid  # ephemeral when no file is configured


def test_the_dev_admin_password_can_be_reset_and_is_kept_for_the_banner(
    clean_state: None,
    migrated_database: str,
    redis_url: str,
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    environment.setenv("NOVA_ENVIRONMENT", "dev")
    environment.setenv("DATABASE_URL", migrated_database)
    environment.setenv("REDIS_URL", redis_url)
    kept = tmp_path / "state" / "dev-admin.json"

    assert cli.main(["seed-dev-admin", "--credentials-file", str(kept)]) == 0
    created = json.loads(kept.read_text())
    assert kept.stat().st_mode & 0o777 == 0o600
    assert f"{created['email']} / {created['password']}" in capsys.readouterr().out

    assert cli.main(["reset-dev-admin-password", "--credentials-file", str(kept)]) == 0
    reset = json.loads(kept.read_text())
    assert reset["email"] == created["email"]
    assert reset["password"] != created["password"]
    assert f"{reset['email']} / {reset['password']}" in capsys.readouterr().out

    async def stored_hash() -> str:
        connection = await asyncpg.connect(migrated_database)
        try:
            value = await connection.fetchval(
                "SELECT password_hash FROM auth.accounts WHERE email = $1", reset["email"]
            )
        finally:
            await connection.close()
        assert isinstance(value, str)
        return value

    password_hash = asyncio.run(stored_hash())
    assert PasswordHasher().verify(password_hash, reset["password"])
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(password_hash, created["password"])

    environment.setenv("NOVA_ENVIRONMENT", "prod")
    environment.setenv("NOVA_AUTH_SIGNING_KEYS", json.dumps([generate_signing_key().entry()]))
    environment.setenv("NOVA_AUTH_SERVICE_CLIENTS", REAL_CLIENTS)
    environment.setenv("NOVA_AUTH_TWO_FACTOR_KEY", REAL_TWO_FACTOR_KEY)
    assert cli.main(["reset-dev-admin-password"]) == 2
    assert "only runs" in capsys.readouterr().err
