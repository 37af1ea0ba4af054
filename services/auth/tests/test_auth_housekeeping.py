"""Housekeeping and operation metrics."""

from __future__ import annotations

from typing import Any

import asyncpg

from nova_auth.services.admin import AccountAdminService
from nova_auth.services.credentials import CredentialService
from nova_auth.services.housekeeping import Housekeeping
from nova_auth.services.sessions import SessionService, SignIn
from nova_auth.state import AuthState


async def test_old_sessions_and_published_events_are_purged(
    direct_state: AuthState, migrated_database: str
) -> None:
    state = direct_state
    credentials = CredentialService(state)
    await AccountAdminService(state).create_account("keep@example.com", "a good long password")
    await credentials.register("old@example.com", "a good long password")
    await credentials.login("old@example.com", "a good long password")
    await credentials.register("live@example.com", "a good long password")
    live = await credentials.login("live@example.com", "a good long password")
    assert isinstance(live, SignIn)
    await state.outbox.sweep()
    connection = await asyncpg.connect(migrated_database)
    try:
        await connection.execute(
            "UPDATE auth.sessions SET revoked_at = now() - interval '2 days' "
            "WHERE account_id = (SELECT id FROM auth.accounts WHERE email = 'old@example.com')"
        )
        # confirmed by the worker (an unconfirmed one is kept while redeliveries may follow)
        await connection.execute(
            "UPDATE auth.outbox SET published_at = now() - interval '8 days', "
            "confirmed_at = now() - interval '8 days', redeliver_at = NULL "
            "WHERE data->>'email' = 'keep@example.com'"
        )
        assert await Housekeeping(state).purge_expired_sessions(keep_seconds=86_400) == 1
        assert await state.outbox.purge_published(keep_seconds=7 * 86_400) == 1
        assert await connection.fetchval("SELECT count(*) FROM auth.sessions") == 1
        assert await connection.fetchval("SELECT count(*) FROM auth.refresh_tokens") == 1
        # the two registrations' events: user.registered and user.verification_requested each
        assert await connection.fetchval("SELECT count(*) FROM auth.outbox") == 4
    finally:
        await connection.close()
    # the live session still refreshes
    assert (
        await SessionService(state).refresh(live.refresh_token)
    ).account.email == "live@example.com"


async def test_operations_are_counted_in_metrics(api: Any) -> None:
    await api.register("counted@example.com")
    await api.login("counted@example.com")
    await api.login("counted@example.com", "wrong wrong wrong")
    metrics = (await api.client.get("/metrics")).text
    assert 'nova_auth_operations_total{operation="login",outcome="ok"}' in metrics
    assert 'nova_auth_operations_total{operation="login",outcome="invalid_credentials"}' in metrics
    assert 'nova_auth_outbox_published_total{type="user.registered"}' in metrics
