"""Sign-in's writes (the account's last sign-in, the session, its first refresh token and the
security-log entry) are one statement on the database driver, or through SQLAlchemy while SQL
statements are traced: both must write all of them, or none for an account no longer active."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import jwt
import pytest

from nova_auth.services.credentials import CredentialService, InvalidCredentialsError
from nova_auth.state import AuthState
from nova_kit import tracing


@pytest.fixture(params=["driver", "traced"])
def statements(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Sign-in's statement on the driver, and through SQLAlchemy as while traced."""
    if request.param == "traced":
        monkeypatch.setattr(tracing, "sql_traced", lambda engine: True)
    return str(request.param)


async def _rows(database: str, email: str) -> dict[str, Any]:
    connection = await asyncpg.connect(database)
    try:
        account = await connection.fetchrow("SELECT * FROM auth.accounts WHERE email = $1", email)
        assert account is not None
        sessions = await connection.fetch(
            "SELECT * FROM auth.sessions WHERE account_id = $1 ORDER BY created_at", account["id"]
        )
        tokens = await connection.fetch(
            "SELECT t.* FROM auth.refresh_tokens t JOIN auth.sessions s ON s.id = t.session_id "
            "WHERE s.account_id = $1",
            account["id"],
        )
        events = await connection.fetch(
            "SELECT * FROM auth.security_events WHERE account_id = $1 ORDER BY occurred_at",
            account["id"],
        )
    finally:
        await connection.close()
    return {"account": account, "sessions": sessions, "tokens": tokens, "events": events}


async def test_a_sign_in_writes_its_session_token_and_log_entry(
    api: Any, migrated_database: str, statements: str
) -> None:
    await api.register("writes@example.com")
    before = await _rows(migrated_database, "writes@example.com")
    started = datetime.now(UTC)
    response = await api.client.post(
        "/api/auth/login",
        json={"email": "writes@example.com", "password": api.password},
        headers={"User-Agent": f"agent-{statements}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    after = await _rows(migrated_database, "writes@example.com")

    assert len(after["sessions"]) == len(before["sessions"]) + 1
    assert len(after["tokens"]) == len(before["tokens"]) + 1
    assert len(after["events"]) == len(before["events"]) + 1
    account, session, event = after["account"], after["sessions"][-1], after["events"][-1]
    assert account["last_login_at"] >= started - timedelta(seconds=1)
    assert account["updated_at"] >= before["account"]["updated_at"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sid"] == str(session["id"])
    assert session["created_at"] == session["last_used_at"] == account["last_login_at"]
    assert session["expires_at"] - session["created_at"] == timedelta(
        seconds=api.state.settings.refresh_absolute_ttl_seconds
    )
    assert session["client_address"]
    assert session["revoked_at"] is None
    (token,) = [t for t in after["tokens"] if t["session_id"] == session["id"]]
    assert token["token_hash"] == hashlib.sha256(body["refresh_token"].encode()).hexdigest()
    assert token["used_at"] is None
    assert token["expires_at"] <= session["expires_at"]
    assert (event["kind"], event["user_agent"]) == ("sign_in", f"agent-{statements}")
    assert event["occurred_at"] == account["last_login_at"]
    assert event["client_address"] == session["client_address"]
    assert event["actor"] is None

    # what was written works: the refresh token rotates, the access token reads the account
    refreshed = await api.client.post(
        "/api/auth/refresh", json={"refresh_token": body["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    assert (await api.me(body["access_token"])).status_code == 200


async def test_an_account_disabled_meanwhile_gets_nothing_written(
    api: Any, direct_state: AuthState, migrated_database: str, statements: str
) -> None:
    await api.register("meanwhile@example.com")
    before = await _rows(migrated_database, "meanwhile@example.com")
    connection = await asyncpg.connect(migrated_database)
    try:
        await connection.execute(
            "UPDATE auth.accounts SET status = 'disabled' WHERE email = 'meanwhile@example.com'"
        )
    finally:
        await connection.close()
    # the password was checked while the account was active; the write finds it disabled
    with pytest.raises(InvalidCredentialsError):
        await CredentialService(direct_state).open_sign_in(before["account"]["id"], "127.0.0.1")
    after = await _rows(migrated_database, "meanwhile@example.com")
    assert after["account"]["last_login_at"] == before["account"]["last_login_at"]
    assert len(after["sessions"]) == len(before["sessions"])
    assert len(after["tokens"]) == len(before["tokens"])
    assert len(after["events"]) == len(before["events"])
