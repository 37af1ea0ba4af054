"""Sign-in with an OpenID provider through the front door: real gateway, auth and users
processes, a real provider (panva's ``oidc-provider``) on loopback, and a browser-like client
that holds only cookies. The provider sends the browser back to the gateway, which answers
with the session cookies and a redirect."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from nova_kit.embedded import free_port
from nova_kit.testing.oidc import run_provider, sign_in_at_provider
from nova_kit.testing.stack import Stack, running_stack

PACKAGE = Path(__file__).parents[2] / "services" / "auth" / "tests" / "oidc_provider"


@pytest.fixture(scope="module")
def oidc_stack(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    port = free_port()
    gateway = f"http://127.0.0.1:{port}"
    with run_provider(PACKAGE, [f"{gateway}/api/auth/oidc/corp/callback"]) as provider:
        providers = [
            {
                "name": "corp",
                "issuer": provider.issuer,
                "client_id": provider.client_id,
                "client_secret": provider.client_secret,
                "display_name": "Corp SSO",
            }
        ]
        auth_env = {
            "NOVA_AUTH_OIDC_PROVIDERS": json.dumps(providers),
            "NOVA_AUTH_OIDC_REDIRECT_BASE_URL": gateway,
        }
        with running_stack(
            database_url,
            redis_url,
            tmp_path_factory.mktemp("oidc-stack"),
            ports={"gateway": port},
            per_service_env={"auth": auth_env},
        ) as running:
            yield running


def test_a_browser_signs_in_with_the_provider_and_gets_a_cookie_session(
    oidc_stack: Stack,
) -> None:
    email = f"oidc-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=oidc_stack.gateway, timeout=30) as browser:
        listed = browser.get("/api/auth/oidc/providers")
        assert listed.json() == {"providers": [{"name": "corp", "display_name": "Corp SSO"}]}

        started = browser.get("/api/auth/oidc/corp/authorize", params={"next": "/settings"})
        assert started.status_code == 302, started.text
        assert "nova_oidc_flow" in browser.cookies
        back = asyncio.run(
            sign_in_at_provider(started.headers["location"], email, oidc_stack.gateway)
        )
        callback = browser.get(back.removeprefix(oidc_stack.gateway))
        assert callback.status_code == 302, callback.text
        assert callback.headers["location"] == "/settings"
        cookies = callback.headers.get_list("set-cookie")
        assert {c.split("=", 1)[0] for c in cookies} == {"nova_oidc_flow", "nova_at", "nova_rt"}
        assert all("HttpOnly" in c for c in cookies)
        assert not callback.content

        # The cookies alone are the session: REST, GraphQL across both subgraphs.
        me = browser.get("/api/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["email"] == email
        assert me.json()["email_verified"] is True
        assert me.json()["has_password"] is False
        graph = browser.post(
            "/graphql",
            json={"query": "{ me { email displayName } linkedIdentities { provider email } }"},
        )
        assert graph.status_code == 200, graph.text
        data = graph.json()["data"]
        assert data["me"]["email"] == email
        assert data["linkedIdentities"] == [{"provider": "corp", "email": email}]

        # The same callback again: its state is spent.
        replayed = browser.get(back.removeprefix(oidc_stack.gateway))
        assert replayed.status_code == 302
        assert replayed.headers["location"] == "/login?error=oidc_state_invalid"


def test_a_provider_sign_in_of_a_two_factor_account_needs_the_code_at_the_gateway(
    oidc_stack: Stack,
) -> None:
    """The account's own second factor applies after the provider too: the callback leaves no
    session, only the challenge in a cookie the second step receives, never in the URL."""
    email = f"oidc-2fa-{uuid.uuid4().hex[:8]}@example.com"
    password = "correct horse battery staple"
    cookie_mode = {"X-Nova-Session": "cookie"}
    with httpx.Client(base_url=oidc_stack.gateway, timeout=30) as browser:
        assert browser.post(
            "/api/auth/register", json={"email": email, "password": password}
        ).is_success
        signed = browser.post(
            "/api/auth/login", json={"email": email, "password": password}, headers=cookie_mode
        )
        assert signed.status_code == 200, signed.text
        linking = browser.post("/api/auth/me/identities/link/corp", json={"next": "/security"})
        assert linking.status_code == 200, linking.text
        back = asyncio.run(
            sign_in_at_provider(linking.json()["authorization_url"], email, oidc_stack.gateway)
        )
        assert browser.get(back.removeprefix(oidc_stack.gateway)).headers["location"] == (
            "/security"
        )
        secret = browser.post("/api/auth/me/two-factor", json={"password": password}).json()[
            "secret"
        ]
        totp = pyotp.TOTP(secret)
        confirmed = browser.post("/api/auth/me/two-factor/confirm", json={"code": totp.now()})
        assert confirmed.status_code == 200, confirmed.text
        assert browser.post("/api/auth/logout", json={}, headers=cookie_mode).is_success
        browser.cookies.clear()

        started = browser.get("/api/auth/oidc/corp/authorize", params={"next": "/settings"})
        back = asyncio.run(
            sign_in_at_provider(started.headers["location"], email, oidc_stack.gateway)
        )
        callback = browser.get(back.removeprefix(oidc_stack.gateway))
        assert callback.status_code == 302, callback.text
        assert callback.headers["location"] == "/login?step=two-factor&next=%2Fsettings"
        names = {c.split("=", 1)[0] for c in callback.headers.get_list("set-cookie")}
        assert names == {"nova_oidc_flow", "nova_mfa"}
        assert browser.get("/api/auth/me").status_code == 401

        # The next time step's code (the enrolment spent this one), the token from the cookie.
        code = totp.at(time.time() + 30)
        answered = browser.post(
            "/api/auth/login/two-factor", json={"code": code}, headers=cookie_mode
        )
        assert answered.status_code == 200, answered.text
        assert "access_token" not in answered.json()
        assert answered.json()["account"]["email"] == email
        me = browser.get("/api/auth/me")
        assert me.status_code == 200, me.text
        events = browser.get("/api/auth/me/security-events").json()["edges"]
        assert events[0]["node"]["kind"] == "sign_in_with_provider"
