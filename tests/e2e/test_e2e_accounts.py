"""E-mail verification, password reset and the security log through the gateway, to the real
auth and users services: anonymous REST and GraphQL steps, ``User.securityEvents`` and
``emailVerified`` federated into ``me``, and a browser's cookie session ended by a reset."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from nova_kit.testing.stack import Stack

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "an entirely new passphrase"
ME = """{ me { id emailVerified
  securityEvents(first: 10) { edges { node { kind userAgent clientAddress } } } } }"""


def mailed_token(database_url: str, event_type: str, email: str) -> str:
    """The token the account's latest event of this type carries (what the worker mails)."""

    async def read() -> str:
        connection = await asyncpg.connect(database_url)
        try:
            token = await connection.fetchval(
                "SELECT o.data->>'token' FROM auth.outbox o "
                "JOIN auth.accounts a ON a.id = o.user_id "
                "WHERE o.type = $1 AND a.email = $2 ORDER BY o.occurred_at DESC LIMIT 1",
                event_type,
                email,
            )
        finally:
            await connection.close()
        assert token, (event_type, email)
        return str(token)

    return asyncio.run(read())


def test_verify_and_reset_through_the_gateway(stack: Stack, database_url: str) -> None:
    email = f"acct-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        registered = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        assert registered.status_code == 202, registered.text
        signed_in = client.post(
            "/api/auth/login",
            json={"email": email, "password": PASSWORD},
            headers={"User-Agent": "e2e-browser/1.0"},
        )
        assert signed_in.status_code == 200, signed_in.text
        headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        before = client.post("/graphql", json={"query": ME}, headers=headers).json()
        assert before["data"]["me"]["emailVerified"] is False

        # anonymous at the edge: the mailed link is followed signed out
        token = mailed_token(database_url, "user.verification_requested", email)
        verified = client.post(
            "/graphql",
            json={
                "query": "mutation($t: String!) { verifyEmail(token: $t) }",
                "variables": {"t": token},
            },
        )
        assert verified.json() == {"data": {"verifyEmail": True}}, verified.text
        after = client.post("/graphql", json={"query": ME}, headers=headers).json()
        assert "errors" not in after, after
        me = after["data"]["me"]
        assert me["emailVerified"] is True
        kinds = [edge["node"]["kind"] for edge in me["securityEvents"]["edges"]]
        assert kinds == ["email_verified", "sign_in"]
        sign_in = me["securityEvents"]["edges"][1]["node"]
        assert sign_in["userAgent"] == "e2e-browser/1.0"
        assert sign_in["clientAddress"]

    with httpx.Client(base_url=stack.gateway, timeout=30) as browser:
        session = {"X-Nova-Session": "cookie", "X-Nova-CSRF": "1"}
        login = browser.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=session
        )
        assert login.status_code == 200, login.text
        known = browser.post("/api/auth/forgot-password", json={"email": email})
        unknown = browser.post(
            "/api/auth/forgot-password",
            json={"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com"},
        )
        assert known.status_code == unknown.status_code == 202
        assert known.content == unknown.content
        reset_token = mailed_token(database_url, "user.password_reset_requested", email)
        reset = browser.post(
            "/api/auth/reset-password", json={"token": reset_token, "password": NEW_PASSWORD}
        )
        assert reset.status_code == 200, reset.text
        cleared = reset.headers.get_list("set-cookie")
        assert any(c.startswith("nova_at=;") and "Max-Age=0" in c for c in cleared)
        assert any(c.startswith("nova_rt=;") and "Max-Age=0" in c for c in cleared)
        # the session is gone for good: its tokens no longer work, the new password does
        old = login.headers.get_list("set-cookie")
        old_refresh = (
            next(c for c in old if c.startswith("nova_rt=")).split(";")[0].split("=", 1)[1]
        )
        refreshed = httpx.post(
            f"{stack.gateway}/api/auth/refresh", json={"refresh_token": old_refresh}, timeout=30
        )
        assert refreshed.status_code == 401
        again = httpx.post(
            f"{stack.gateway}/api/auth/login",
            json={"email": email, "password": NEW_PASSWORD},
            timeout=30,
        )
        assert again.status_code == 200, again.text
