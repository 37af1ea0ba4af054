"""A sign-in's round trips: its two limits and the per-account count are one Lua call to Redis,
the refunds one more, and the revocation cut-off a new access token starts at is read from the
revocations the service follows in memory (where what it revokes shows at once)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest

from nova_kit.app import get_runtime
from nova_kit.tokens import RevocationList


async def followed(api: Any) -> RevocationList:
    """The app's revocation list, once it answers from memory."""
    verifier = get_runtime(api.client.app).verifier
    assert verifier is not None
    revocations = verifier.revocations
    assert revocations is not None
    deadline = time.monotonic() + 10
    while not revocations.mirrored:
        assert time.monotonic() < deadline, "the revocations were never followed"
        await asyncio.sleep(0.01)
    return revocations


async def test_a_sign_in_makes_two_redis_calls(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    await api.register("trips@example.com")
    revocations = await followed(api)
    state = api.state
    # the service mints at the cut-off of the list its verifier follows
    assert state.revocations is revocations
    sent: list[str] = []
    send = state.redis.execute_command

    async def recorded(*args: Any, **options: Any) -> Any:
        sent.append(str(args[0]).upper())
        return await send(*args, **options)

    monkeypatch.setattr(state.redis, "execute_command", recorded)
    response = await api.login("trips@example.com")
    assert response.status_code == 200, response.text
    assert (await api.me(response.json()["access_token"])).status_code == 200
    # the limits and the count in one call, both refunds in another; no read of the cut-off
    calls = [name for name in sent if name in {"EVALSHA", "EVAL", "GET", "MGET"}]
    assert calls == ["EVALSHA", "EVALSHA"]
    # a failed sign-in: the one call that charges, nothing given back
    sent.clear()
    failed = await api.login("trips@example.com", "not the password at all")
    assert failed.status_code == 401
    assert [name for name in sent if name in {"EVALSHA", "EVAL", "GET", "MGET"}] == ["EVALSHA"]


async def test_a_sign_in_right_after_a_revocation_starts_at_its_cut_off(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cut-off comes from memory, and the revocation this process just recorded is there
    before its message comes back on the channel (held back here)."""
    registered = await api.register("cutoff@example.com")
    revocations = await followed(api)
    monkeypatch.setattr(revocations, "_apply", lambda data: None)
    changed = await api.client.post(
        "/api/auth/change-password",
        json={"current_password": api.password, "new_password": "another fine secret"},
        headers=api.bearer(registered["access_token"]),
    )
    assert changed.status_code == 200, changed.text
    cut_off = await revocations.valid_after(str(changed.json()["account"]["id"]))
    assert cut_off is not None
    signed_in = await api.login("cutoff@example.com", "another fine secret")
    assert signed_in.status_code == 200, signed_in.text
    for token in (changed.json()["access_token"], signed_in.json()["access_token"]):
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["iat"] >= cut_off
        assert (await api.me(token)).status_code == 200
    assert (await api.me(registered["access_token"])).status_code == 401
