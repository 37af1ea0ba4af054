"""Two-factor sign-in (TOTP, RFC 6238): enrolment, the two-step sign-in, replay, recovery codes,
limits, disabling, the administrator's reset, encryption at rest and the fail-closed key."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pyotp
import pytest

from nova_auth.config import AuthSettings
from nova_auth.keys import generate_signing_key
from nova_auth.secretbox import DEV_KEY, SecretBox, SecretBoxError, key_id, parse_keys
from nova_auth.services import two_factor as two_factor_module
from nova_auth.services.two_factor import matching_step
from nova_kit.settings import load_settings

EMAIL = "ada@example.com"


class Clock:
    """The service's clock, moved by the test: codes are computed for the same instant."""

    def __init__(self) -> None:
        self.now = float(int(time.time()) // 30 * 30 + 5)  # 5 s into a fresh time step

    def __call__(self) -> float:
        return self.now

    def step(self, steps: int = 1) -> None:
        self.now += 30 * steps


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(two_factor_module, "clock", fake)
    return fake


def code_at(secret: str, clock: Clock) -> str:
    return pyotp.TOTP(secret).at(clock.now)


async def enrol(api: Any, token: str, clock: Clock) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on: the secret and the recovery codes."""
    started = await api.client.post(
        "/api/auth/me/two-factor", json={"password": api.password}, headers=api.bearer(token)
    )
    assert started.status_code == 200, started.text
    body = started.json()
    secret = body["secret"]
    assert body["otpauth_uri"].startswith("otpauth://totp/Nova:")
    assert pyotp.parse_uri(body["otpauth_uri"]).secret == secret
    confirmed = await api.client.post(
        "/api/auth/me/two-factor/confirm",
        json={"code": code_at(secret, clock)},
        headers=api.bearer(token),
    )
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    return secret, codes


def other_code(code: str) -> str:
    """A 6-digit code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def second_step(api: Any, mfa_token: str, **proof: str) -> Any:
    return await api.client.post(
        "/api/auth/login/two-factor", json={"mfa_token": mfa_token, **proof}
    )


async def challenge(api: Any, email: str = EMAIL) -> str:
    response = await api.login(email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mfa_required"] is True
    assert "access_token" not in body
    assert "refresh_token" not in body
    assert body["expires_in"] == 300
    token: str = body["mfa_token"]
    return token


async def fetch(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(query, *args)
        return rows
    finally:
        await connection.close()


async def test_enrol_confirm_and_sign_in_in_two_steps(
    api: Any, clock: Clock, migrated_database: str
) -> None:
    tokens = await api.register(EMAIL)
    access = tokens["access_token"]
    status = await api.client.get("/api/auth/me/two-factor", headers=api.bearer(access))
    assert status.json() == {
        "enabled": False,
        "pending": False,
        "enabled_at": None,
        "recovery_codes_left": 0,
    }
    # The password is required, and a pending secret does not change sign-in yet.
    wrong = await api.client.post(
        "/api/auth/me/two-factor", json={"password": "not it"}, headers=api.bearer(access)
    )
    assert (wrong.status_code, wrong.json()["code"]) == (403, "invalid_password")
    pending = await api.client.post(
        "/api/auth/me/two-factor", json={"password": api.password}, headers=api.bearer(access)
    )
    assert pending.status_code == 200
    assert "access_token" in (await api.login(EMAIL)).json()
    bad = await api.client.post(
        "/api/auth/me/two-factor/confirm",
        json={"code": other_code(code_at(pending.json()["secret"], clock))},
        headers=api.bearer(access),
    )
    assert (bad.status_code, bad.json()["code"]) == (401, "invalid_code")

    secret, recovery = await enrol(api, access, clock)
    assert len(recovery) == len(set(recovery)) == 10
    status = await api.client.get("/api/auth/me/two-factor", headers=api.bearer(access))
    assert status.json()["enabled"] is True
    assert status.json()["recovery_codes_left"] == 10

    # The code that confirmed the enrolment is spent: this time step is used up.
    mfa_token = await challenge(api)
    replay = await second_step(api, mfa_token, code=code_at(secret, clock))
    assert (replay.status_code, replay.json()["code"]) == (401, "invalid_code")
    wrong_code = await second_step(api, mfa_token, code=other_code(code_at(secret, clock)))
    assert wrong_code.json()["code"] == "invalid_code"

    clock.step()
    fresh = code_at(secret, clock)
    signed_in = await second_step(api, mfa_token, code=fresh)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.headers["cache-control"] == "no-store"
    body = signed_in.json()
    assert body["account"]["email"] == EMAIL
    assert (await api.me(body["access_token"])).status_code == 200
    # The challenge is single-use, and so is the code (same step, new challenge).
    again = await second_step(api, mfa_token, code=fresh)
    assert (again.status_code, again.json()["code"]) == (401, "mfa_token_invalid")
    replayed = await second_step(api, await challenge(api), code=fresh)
    assert (replayed.status_code, replayed.json()["code"]) == (401, "invalid_code")

    # A recovery code works once.
    by_recovery = await second_step(api, await challenge(api), recovery_code=recovery[0].upper())
    assert by_recovery.status_code == 200, by_recovery.text
    spent = await second_step(api, await challenge(api), recovery_code=recovery[0])
    assert (spent.status_code, spent.json()["code"]) == (401, "invalid_code")
    status = await api.client.get("/api/auth/me/two-factor", headers=api.bearer(access))
    assert status.json()["recovery_codes_left"] == 9

    # At rest: the secret is sealed (not the plaintext), the recovery codes are hashes.
    [row] = await fetch(migrated_database, "SELECT secret, key_id FROM auth.two_factor")
    assert secret not in row["secret"]
    assert base64.b32encode(base64.b32decode(secret)).decode() not in row["secret"]
    assert row["secret"].startswith(f"{row['key_id']}:")
    hashes = {
        r["code_hash"]
        for r in await fetch(migrated_database, "SELECT code_hash FROM auth.recovery_codes")
    }
    assert len(hashes) == 10
    assert not {code.replace("-", "") for code in recovery} & hashes
    assert all(code not in h for h in hashes for code in recovery)

    # Disabling needs a current code (or the password); a used one is refused.
    denied = await api.client.request(
        "DELETE", "/api/auth/me/two-factor", json={"code": fresh}, headers=api.bearer(access)
    )
    assert (denied.status_code, denied.json()["code"]) == (401, "invalid_code")
    clock.step()
    disabled = await api.client.request(
        "DELETE",
        "/api/auth/me/two-factor",
        json={"code": code_at(secret, clock)},
        headers=api.bearer(access),
    )
    assert disabled.status_code == 204, disabled.text
    assert "access_token" in (await api.login(EMAIL)).json()
    assert await fetch(migrated_database, "SELECT 1 FROM auth.recovery_codes") == []
    events = [
        (r["type"], r["data"])
        for r in await fetch(
            migrated_database, "SELECT type, data::text FROM auth.outbox ORDER BY occurred_at"
        )
    ]
    assert [t for t, _ in events if "two_factor" in t] == [
        "user.two_factor_enabled",
        "user.two_factor_disabled",
    ]
    assert '"by": "user"' in next(d for t, d in events if t == "user.two_factor_disabled")


async def test_one_code_sent_twice_at_once_signs_in_once(api: Any, clock: Clock) -> None:
    access = (await api.register(EMAIL))["access_token"]
    secret, _ = await enrol(api, access, clock)
    tokens = [await challenge(api), await challenge(api)]
    clock.step()
    code = code_at(secret, clock)
    answers = await asyncio.gather(*(second_step(api, token, code=code) for token in tokens))
    assert sorted(answer.status_code for answer in answers) == [200, 401]


async def test_disable_with_the_password_and_enrolment_conflicts(api: Any, clock: Clock) -> None:
    access = (await api.register(EMAIL))["access_token"]
    not_on = await api.client.request(
        "DELETE",
        "/api/auth/me/two-factor",
        json={"password": api.password},
        headers=api.bearer(access),
    )
    assert (not_on.status_code, not_on.json()["code"]) == (409, "two_factor_not_enabled")
    no_pending = await api.client.post(
        "/api/auth/me/two-factor/confirm", json={"code": "123456"}, headers=api.bearer(access)
    )
    assert (no_pending.status_code, no_pending.json()["code"]) == (409, "two_factor_not_pending")
    await enrol(api, access, clock)
    twice = await api.client.post(
        "/api/auth/me/two-factor", json={"password": api.password}, headers=api.bearer(access)
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "two_factor_enabled")
    both = await api.client.request(
        "DELETE",
        "/api/auth/me/two-factor",
        json={"password": api.password, "code": "123456"},
        headers=api.bearer(access),
    )
    assert both.status_code == 422
    wrong = await api.client.request(
        "DELETE", "/api/auth/me/two-factor", json={"password": "nope"}, headers=api.bearer(access)
    )
    assert (wrong.status_code, wrong.json()["code"]) == (403, "invalid_password")
    ok = await api.client.request(
        "DELETE",
        "/api/auth/me/two-factor",
        json={"password": api.password},
        headers=api.bearer(access),
    )
    assert ok.status_code == 204
    signed_in = (await api.login(EMAIL)).json()
    assert "access_token" in signed_in
    # the owner's security activity shows both changes (newest first)
    log = await api.client.get(
        "/api/auth/me/security-events", headers=api.bearer(signed_in["access_token"])
    )
    kinds = [edge["node"]["kind"] for edge in log.json()["edges"]]
    assert kinds[:3] == ["sign_in", "two_factor_disabled", "two_factor_enabled"], kinds


async def test_wrong_codes_are_rate_limited_per_account(
    make_client: Any, api_for: Callable[[Any], Any], clock: Clock
) -> None:
    async with make_client(two_factor_limit_per_account=3) as client:
        api = api_for(client)
        access = (await api.register(EMAIL))["access_token"]
        secret, _ = await enrol(api, access, clock)  # the confirmation was one check
        mfa_token = await challenge(api)
        for _ in range(2):
            wrong = await second_step(api, mfa_token, code=other_code(code_at(secret, clock)))
            assert wrong.json()["code"] == "invalid_code"
        clock.step()
        limited = await second_step(api, mfa_token, code=code_at(secret, clock))
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1


async def test_an_expired_challenge_is_refused(api: Any, clock: Clock, redis_client: Any) -> None:
    access = (await api.register(EMAIL))["access_token"]
    secret, _ = await enrol(api, access, clock)
    mfa_token = await challenge(api)
    [key] = [k async for k in redis_client.scan_iter(match="nova:auth:mfa:*")]
    assert mfa_token not in str(key)  # stored as its hash
    assert 0 < await redis_client.ttl(key) <= 300
    await redis_client.pexpire(key, 1)
    await asyncio.sleep(0.01)
    clock.step()
    expired = await second_step(api, mfa_token, code=code_at(secret, clock))
    assert (expired.status_code, expired.json()["code"]) == (401, "mfa_token_invalid")
    unknown = await second_step(api, "not-a-challenge", code=code_at(secret, clock))
    assert (unknown.status_code, unknown.json()["code"]) == (401, "mfa_token_invalid")


async def test_an_administrator_resets_a_lost_second_factor(
    api: Any, clock: Clock, make_admin: Callable[[str], Any], migrated_database: str
) -> None:
    access = (await api.register(EMAIL))["access_token"]
    await enrol(api, access, clock)
    [account] = await fetch(
        migrated_database, "SELECT id FROM auth.accounts WHERE email = $1", EMAIL
    )
    path = f"/api/auth/accounts/{account['id']}/two-factor/reset"
    forbidden = await api.client.post(path, headers=api.bearer(access))
    assert forbidden.status_code == 403
    admin = (await make_admin("root@example.com"))["access_token"]
    reset = await api.client.post(path, headers=api.bearer(admin))
    assert reset.status_code == 204, reset.text
    # Sessions survive; the password alone signs in again.
    assert (await api.me(access)).status_code == 200
    assert "access_token" in (await api.login(EMAIL)).json()
    again = await api.client.post(path, headers=api.bearer(admin))
    assert again.status_code == 204  # idempotent
    missing = await api.client.post(
        "/api/auth/accounts/00000000-0000-0000-0000-000000000000/two-factor/reset",
        headers=api.bearer(admin),
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "account_not_found")
    events = await fetch(
        migrated_database,
        "SELECT data->>'by' AS by FROM auth.outbox WHERE type = 'user.two_factor_disabled'",
    )
    assert [e["by"] for e in events] == ["admin"]


async def test_an_administrator_resets_over_graphql(
    api: Any, clock: Clock, make_admin: Callable[[str], Any], migrated_database: str
) -> None:
    signed = await api.register(EMAIL)
    access, account_id = signed["access_token"], signed["account"]["id"]
    await enrol(api, access, clock)
    mutation = "mutation($id: ID!) { resetTwoFactor(id: $id) }"
    refused = await api.gql(mutation, access, id=account_id)
    assert refused["errors"][0]["extensions"]["code"] == "forbidden"
    admin = (await make_admin("root@example.com"))["access_token"]
    assert (await api.gql(mutation, admin, id=account_id))["data"] == {"resetTwoFactor": True}
    assert "access_token" in (await api.login(EMAIL)).json()
    # nothing left to remove: false, not an error
    assert (await api.gql(mutation, admin, id=account_id))["data"] == {"resetTwoFactor": False}
    missing = await api.gql(mutation, admin, id="00000000-0000-0000-0000-000000000000")
    assert missing["errors"][0]["extensions"]["code"] == "account_not_found"
    garbage = await api.gql(mutation, admin, id="not-a-uuid")
    assert garbage["errors"][0]["extensions"]["code"] == "account_not_found"
    log = await fetch(
        migrated_database,
        "SELECT kind FROM auth.security_events WHERE account_id = $1 ORDER BY occurred_at",
        uuid.UUID(account_id),
    )
    assert [row["kind"] for row in log].count("two_factor_reset_by_admin") == 1


async def test_malformed_bodies_are_client_errors(api: Any, clock: Clock) -> None:
    access = (await api.register(EMAIL))["access_token"]
    auth = api.bearer(access)
    bodies: list[Any] = [
        None,
        "",
        [],
        {},
        {"unexpected": 1},
        {"mfa_token": 5},
        {"mfa_token": "", "code": "1"},
        {"mfa_token": "x" * 5000, "code": "123456"},
        {"mfa_token": "x", "code": "1" * 100},
        {"mfa_token": "x", "code": "12345\u0000"},
        {"mfa_token": "x", "recovery_code": None},
        {"code": ["123456"]},
        {"password": None},
        {"password": "p" * 2000},
        {"code": "\uff11\uff12\uff13\uff14\uff15\uff16"},  # full-width digits
    ]
    routes = [
        ("POST", "/api/auth/login/two-factor"),
        ("POST", "/api/auth/me/two-factor"),
        ("POST", "/api/auth/me/two-factor/confirm"),
        ("DELETE", "/api/auth/me/two-factor"),
    ]
    for method, path in routes:
        for body in bodies:
            response = await api.client.request(method, path, json=body, headers=auth)
            assert 400 <= response.status_code < 500, (method, path, body, response.text)
        raw = await api.client.request(
            method, path, content=b"{not json", headers={**auth, "content-type": "application/json"}
        )
        assert 400 <= raw.status_code < 500, (method, path, raw.text)


async def test_graphql_enrol_sign_in_and_disable(api: Any, clock: Clock) -> None:
    tokens = await api.register(EMAIL)
    access = tokens["access_token"]
    state = await api.gql("{ account { twoFactorEnabled } }", access)
    assert state["data"]["account"]["twoFactorEnabled"] is False
    started = await api.gql(
        "mutation($p: String!) { enrollTwoFactor(password: $p) { secret otpauthUri } }",
        access,
        p=api.password,
    )
    secret = started["data"]["enrollTwoFactor"]["secret"]
    confirmed = await api.gql(
        "mutation($c: String!) { confirmTwoFactor(code: $c) { recoveryCodes } }",
        access,
        c=code_at(secret, clock),
    )
    assert len(confirmed["data"]["confirmTwoFactor"]["recoveryCodes"]) == 10
    state = await api.gql("{ account { twoFactorEnabled } }", access)
    assert state["data"]["account"]["twoFactorEnabled"] is True

    login = await api.gql(
        "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) "
        "{ accessToken } }",
        e=EMAIL,
        p=api.password,
    )
    assert login["data"]["login"] is None
    [error] = login["errors"]
    assert error["extensions"]["code"] == "mfa_required"
    assert error["extensions"]["expiresIn"] == 300
    clock.step()
    second = await api.gql(
        "mutation($t: String!, $c: String) { loginTwoFactor(input: {mfaToken: $t, code: $c}) "
        "{ accessToken user { email twoFactorEnabled } } }",
        t=error["extensions"]["mfaToken"],
        c=code_at(secret, clock),
    )
    assert second["data"]["loginTwoFactor"]["user"] == {"email": EMAIL, "twoFactorEnabled": True}
    wrong = await api.gql(
        "mutation($c: String) { disableTwoFactor(input: {code: $c}) }",
        access,
        c=other_code(code_at(secret, clock)),
    )
    assert wrong["errors"][0]["extensions"]["code"] == "invalid_code"
    off = await api.gql(
        "mutation($p: String) { disableTwoFactor(input: {password: $p}) }", access, p=api.password
    )
    assert off["data"]["disableTwoFactor"] is True
    # Someone else's account shows no two-factor state.
    other = await api.register("bob@example.com")
    entity = await api.gql(
        "query($r: [_Any!]!) { _entities(representations: $r) "
        "{ ... on User { id twoFactorEnabled } } }",
        other["access_token"],
        r=[{"__typename": "User", "id": tokens["account"]["id"]}],
    )
    assert entity["data"]["_entities"][0]["twoFactorEnabled"] is None


def test_codes_match_their_step_once() -> None:
    secret = pyotp.random_base32()
    now = 1_800_000_015.0
    totp = pyotp.TOTP(secret)
    step = int(now // 30)
    assert matching_step(secret, totp.at(now), None, now) == step
    assert matching_step(secret, totp.at(now - 30), None, now) == step - 1  # drift
    assert matching_step(secret, totp.at(now + 30), None, now) == step + 1
    assert matching_step(secret, totp.at(now - 60), None, now) is None
    assert matching_step(secret, totp.at(now), step, now) is None  # replay
    assert matching_step(secret, totp.at(now), step - 1, now) == step
    assert matching_step(secret, totp.at(now - 30), step, now) is None  # older than the last
    assert matching_step(secret, "12 34 56", None, now) in (None, step - 1, step, step + 1)
    assert matching_step(secret, "abcdef", None, now) is None


def test_sealed_secrets_open_under_old_keys_only_with_their_account() -> None:
    old, new = os.urandom(32), os.urandom(32)
    sealed = SecretBox([old]).seal(b"JBSWY3DPEHPK3PXP", b"account-1")
    rotated = SecretBox([new, old])
    assert rotated.open(sealed, b"account-1") == b"JBSWY3DPEHPK3PXP"
    assert rotated.needs_reseal(sealed)
    assert sealed.startswith(key_id(old) + ":")
    with pytest.raises(SecretBoxError):
        rotated.open(sealed, b"account-2")
    with pytest.raises(SecretBoxError):
        SecretBox([new]).open(sealed, b"account-1")
    assert parse_keys(base64.b64encode(new).decode()) == [new]
    with pytest.raises(ValueError, match="32 bytes"):
        parse_keys(base64.b64encode(b"short").decode())


def test_production_refuses_to_start_without_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    base: dict[str, Any] = {
        "environment": "prod",
        "signing_keys": json.dumps([generate_signing_key().entry()]),
        "service_clients": '{"worker": "k3J9-a-real-random-secret-value"}',
        "database_url": "postgresql://auth@db.example/nova",
        "redis_url": "redis://redis.example:6379/0",
    }
    refused = [
        ({}, "NOVA_AUTH_TWO_FACTOR_KEY: must be set"),
        ({"two_factor_key": base64.b64encode(DEV_KEY).decode()}, "the development key"),
        ({"two_factor_key": "bm90IDMyIGJ5dGVz"}, "must be 32 bytes"),
        (
            {
                "two_factor_key": base64.b64encode(os.urandom(32)).decode(),
                "two_factor_old_keys": "x",
            },
            "NOVA_AUTH_TWO_FACTOR_OLD_KEYS",
        ),
    ]
    for extra, message in refused:
        with pytest.raises(SystemExit) as stopped:
            load_settings(AuthSettings, **base, **extra)
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert message in err, err
    settings = load_settings(
        AuthSettings, **base, two_factor_key=base64.b64encode(os.urandom(32)).decode()
    )
    assert settings.two_factor_key is not None
