"""The system through its front door: real auth, users and gateway processes, real PostgreSQL
and Redis, a browser-like client holding only cookies.

Register → GraphQL and REST calls on cookies alone → CSRF rules → refresh → logout, then the
same account over Bearer tokens; token attacks stop at the gateway.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pyotp

from nova_kit.testing.stack import Stack

PASSWORD = "correct horse battery staple"
SESSION = {"X-Nova-Session": "cookie", "X-Nova-CSRF": "1"}


def gql(client: httpx.Client, query: str, **variables: object) -> httpx.Response:
    return client.post("/graphql", json={"query": query, "variables": variables}, headers=SESSION)


def test_a_browser_session_lives_in_httponly_cookies(stack: Stack) -> None:
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=stack.gateway, timeout=30) as browser:
        registered = browser.post(
            "/api/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": "Ada"},
            headers=SESSION,
        )
        assert registered.status_code == 202, registered.text
        assert not registered.headers.get_list("set-cookie")
        registered = browser.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=SESSION
        )
        assert registered.status_code == 200, registered.text
        body = registered.json()
        assert "access_token" not in body
        assert "refresh_token" not in body
        assert body["account"]["email"] == email
        set_cookies = registered.headers.get_list("set-cookie")
        assert all("HttpOnly" in cookie for cookie in set_cookies)
        assert {c.split("=", 1)[0] for c in set_cookies} == {"nova_at", "nova_rt"}

        # GraphQL across both subgraphs, on cookies alone
        me = gql(browser, "{ me { id displayName email roles status } }")
        assert me.status_code == 200, me.text
        profile = me.json()["data"]["me"]
        assert profile["email"] == email
        assert profile["roles"] == ["user"]
        assert profile["status"] == "ACTIVE" or profile["status"].lower() == "active"

        # REST through the proxy, on cookies alone
        rest_me = browser.get("/api/users/me")
        assert rest_me.status_code == 200, rest_me.text
        assert rest_me.json()["id"] == profile["id"]
        patched = browser.patch("/api/users/me", json={"bio": "Analyst"}, headers=SESSION)
        assert patched.status_code == 200, patched.text
        assert browser.get("/api/users/me").json()["bio"] == "Analyst"

        # cross-site form and text/plain posts are refused before reaching users
        form = browser.post("/api/auth/logout-all", data={"x": "1"})
        assert form.status_code == 403
        plain = browser.post("/graphql", content=b"{}", headers={"Content-Type": "text/plain"})
        assert plain.status_code == 403

        refreshed = browser.post("/api/auth/refresh", headers=SESSION)
        assert refreshed.status_code == 200, refreshed.text
        assert "access_token" not in refreshed.json()
        assert gql(browser, "{ me { id } }").json()["data"]["me"]["id"] == profile["id"]

        logout = browser.post("/api/auth/logout", headers=SESSION)
        assert logout.status_code == 204, logout.text
        assert browser.get("/api/users/me").status_code == 401
        assert gql(browser, "{ me { id } }").json()["data"] is None


def test_a_two_factor_sign_in_in_a_browser_sets_the_cookies_at_its_second_step(
    stack: Stack,
) -> None:
    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=stack.gateway, timeout=30) as browser:
        browser.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        signed_in = browser.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=SESSION
        )
        assert signed_in.status_code == 200, signed_in.text
        # Enrol on cookies alone, then sign out.
        enrolment = browser.post(
            "/api/auth/me/two-factor", json={"password": PASSWORD}, headers=SESSION
        )
        assert enrolment.status_code == 200, enrolment.text
        totp = pyotp.TOTP(enrolment.json()["secret"])
        confirmed = browser.post(
            "/api/auth/me/two-factor/confirm", json={"code": totp.now()}, headers=SESSION
        )
        assert confirmed.status_code == 200, confirmed.text
        me = gql(browser, "{ me { email twoFactorEnabled } }")
        assert me.json()["data"]["me"] == {"email": email, "twoFactorEnabled": True}
        assert browser.post("/api/auth/logout", headers=SESSION).status_code in (200, 204)
        assert browser.get("/api/users/me").status_code == 401

        # The password step answers a challenge and sets no cookie.
        first = browser.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=SESSION
        )
        assert first.status_code == 200, first.text
        challenge = first.json()
        assert challenge["mfa_required"] is True
        assert not first.headers.get_list("set-cookie")
        assert browser.get("/api/users/me").status_code == 401
        # The second step, with a code of the next step (this one was spent confirming).
        code = totp.at(int(time.time()) + 30)
        second = browser.post(
            "/api/auth/login/two-factor",
            json={"mfa_token": challenge["mfa_token"], "code": code},
            headers=SESSION,
        )
        assert second.status_code == 200, second.text
        assert "access_token" not in second.json()
        assert "refresh_token" not in second.json()
        set_cookies = second.headers.get_list("set-cookie")
        assert all("HttpOnly" in cookie for cookie in set_cookies)
        assert {c.split("=", 1)[0] for c in set_cookies} == {"nova_at", "nova_rt"}
        assert browser.get("/api/users/me").status_code == 200
        # The same code again, on a new challenge: refused.
        again = browser.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=SESSION
        )
        replay = browser.post(
            "/api/auth/login/two-factor",
            json={"mfa_token": again.json()["mfa_token"], "code": code},
            headers=SESSION,
        )
        assert (replay.status_code, replay.json()["code"]) == (401, "invalid_code")


def test_api_clients_use_bearer_tokens_and_forged_ones_stop_at_the_edge(stack: Stack) -> None:
    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        credentials = {"email": email, "password": PASSWORD}
        assert client.post("/api/auth/register", json=credentials).status_code == 202
        tokens = client.post("/api/auth/login", json=credentials)
        assert tokens.status_code == 200, tokens.text
        access = tokens.json()["access_token"]
        bearer = {"Authorization": f"Bearer {access}"}
        assert client.get("/api/auth/me", headers=bearer).json()["email"] == email
        assert client.get("/api/users/me", headers=bearer).status_code == 200

        header, payload, _signature = access.split(".")
        for forged in (f"{header}.{payload}.", f"{header}.{payload}.AAAA", "garbage"):
            response = client.get("/api/users/me", headers={"Authorization": f"Bearer {forged}"})
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")

        assert client.get("/api/users/internal/profiles").status_code == 404
        assert client.get("/internal/accounts").status_code == 404

        merged = client.get("/api/openapi.json").json()
        assert "/api/auth/login" in merged["paths"]
        assert "/api/users/me" in merged["paths"]
        assert not [path for path in merged["paths"] if "/internal" in path]


def test_the_chart_helm_test_hook_passes_against_the_running_gateway(stack: Stack) -> None:
    """The chart's `helm test` Pod command, as rendered, run here against the real gateway (in
    this module so it shares its stack): /ready answers 200 and `{ __typename }` answers."""
    import subprocess
    import sys

    from deploy.render import objects, render

    (pod,) = [obj for obj in objects(render({})) if obj["kind"] == "Pod"]
    command = pod["spec"]["containers"][0]["command"]
    assert command[:2] == ["python", "-c"]
    result = subprocess.run(
        [sys.executable, *command[1:], stack.gateway, "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{result.stderr}\n{stack.logs()}"
    assert "is ready and answers { __typename }" in result.stdout


BAD_BODIES = {"malformed JSON": b'{"email": ', "invalid UTF-8": b'{"email": "\xff\xfe"}'}


def test_bad_json_gets_one_answer_from_every_service(stack: Stack) -> None:
    """The same unreadable body gets the same status and code from auth, users and the
    gateway's REST proxy in front of them: one error policy, in the kit."""
    email = f"eve-{uuid.uuid4().hex[:8]}@example.com"
    registered = httpx.post(
        f"{stack.gateway}/api/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": "Eve"},
        timeout=30,
    )
    assert registered.status_code == 202, registered.text
    signed_in = httpx.post(
        f"{stack.gateway}/api/auth/login",
        json={"email": email, "password": PASSWORD},
        timeout=30,
    )
    assert signed_in.status_code == 200, signed_in.text
    bearer = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    targets = {
        "auth": ("POST", f"{stack.urls['auth']}/api/auth/login", {}),
        "users": ("PATCH", f"{stack.urls['users']}/api/users/me", bearer),
        "gateway → auth": ("POST", f"{stack.gateway}/api/auth/login", {}),
        "gateway → users": ("PATCH", f"{stack.gateway}/api/users/me", bearer),
    }
    for case, body in BAD_BODIES.items():
        answers = {}
        for target, (method, url, headers) in targets.items():
            response = httpx.request(
                method,
                url,
                content=body,
                headers={**headers, "Content-Type": "application/json"},
                timeout=30,
            )
            assert response.headers["content-type"].startswith("application/json"), target
            answers[target] = (response.status_code, response.json()["code"])
        assert set(answers.values()) == {(400, "bad_request")}, (case, answers)
