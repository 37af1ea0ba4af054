"""The access-token verifier every service uses, against forged and broken tokens."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from nova_kit.redis import create_redis
from nova_kit.testing.tokens import JWKSServer, TokenFactory
from nova_kit.tokens import (
    JWKSKeySource,
    RevocationList,
    RevocationUnavailableError,
    TokenError,
    TokenVerifier,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def factory() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
def jwks_server(factory: TokenFactory) -> Iterator[JWKSServer]:
    with JWKSServer(factory.jwks()) as server:
        yield server


def verifier_for(factory: TokenFactory, **kwargs: Any) -> TokenVerifier:
    return TokenVerifier(factory.key_source(), issuer="nova-auth", audience="nova", **kwargs)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def verifications(outcome: str) -> float:
    return REGISTRY.get_sample_value("token_verifications_total", {"outcome": outcome}) or 0.0


async def test_a_valid_token_yields_its_claims(factory: TokenFactory) -> None:
    token = factory.mint("user-1", roles=["user", "admin"], session_id="s1")
    before = verifications("ok")
    claims = await verifier_for(factory).verify(token)
    assert verifications("ok") == before + 1
    assert claims.subject == "user-1"
    assert claims.roles == {"user", "admin"}
    assert claims.session_id == "s1"
    assert claims.is_admin
    assert not claims.is_service


async def test_alg_none_is_rejected(factory: TokenFactory) -> None:
    header = {"alg": "none", "typ": "at+jwt", "kid": factory.kid}
    payload = jwt.decode(factory.mint("u"), options={"verify_signature": False})
    token = f"{b64(header)}.{b64(payload)}."
    before = verifications("algorithm")
    with pytest.raises(TokenError) as error:
        await verifier_for(factory).verify(token)
    assert error.value.reason == "algorithm"
    assert verifications("algorithm") == before + 1


async def test_hs256_signed_with_the_public_key_is_rejected(factory: TokenFactory) -> None:
    public_pem = factory.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = jwt.decode(factory.mint("u"), options={"verify_signature": False})
    header = {"alg": "HS256", "typ": "at+jwt", "kid": factory.kid}
    signing_input = f"{b64(header)}.{b64(payload)}".encode()
    import hashlib
    import hmac

    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    token = signing_input.decode() + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    with pytest.raises(TokenError) as error:
        await verifier_for(factory).verify(token)
    assert error.value.reason == "algorithm"


@pytest.mark.parametrize(
    ("claims", "headers", "reason"),
    [
        ({"aud": "someone-else"}, {}, "audience"),
        ({"iss": "evil-issuer"}, {}, "issuer"),
        ({}, {"typ": "JWT"}, "type"),
        ({"exp": int(time.time()) - 60, "iat": int(time.time()) - 120}, {}, "expired"),
        ({"nbf": int(time.time()) + 600}, {}, "not_yet_valid"),
        ({}, {"kid": "unknown-kid"}, "kid"),
    ],
)
async def test_wrong_claims_and_headers_are_rejected(
    factory: TokenFactory, claims: dict[str, Any], headers: dict[str, Any], reason: str
) -> None:
    token = factory.mint("u", headers=headers, **claims)
    with pytest.raises(TokenError) as error:
        await verifier_for(factory).verify(token)
    assert error.value.reason == reason


async def test_a_properly_signed_token_without_typ_is_rejected_for_its_type(
    factory: TokenFactory,
) -> None:
    token = factory.mint("u", headers={"typ": None})  # PyJWT leaves a None header out
    assert "typ" not in jwt.get_unverified_header(token)
    assert jwt.decode(  # the signature is genuine: only the missing type can refuse it
        token, factory.private_key.public_key(), algorithms=["EdDSA"], audience="nova"
    )
    with pytest.raises(TokenError) as error:
        await verifier_for(factory).verify(token)
    assert error.value.reason == "type"


async def test_a_tampered_payload_breaks_the_signature(factory: TokenFactory) -> None:
    header, _, signature = factory.mint("user-1", roles=["user"]).split(".")
    payload = jwt.decode(factory.mint("user-1"), options={"verify_signature": False})
    payload["roles"] = ["admin"]
    with pytest.raises(TokenError) as error:
        await verifier_for(factory).verify(f"{header}.{b64(payload)}.{signature}")
    assert error.value.reason == "signature"


async def test_a_token_signed_by_another_key_with_the_same_kid_is_rejected(
    factory: TokenFactory,
) -> None:
    impostor = TokenFactory(kid=factory.kid)
    with pytest.raises(TokenError) as error:
        await verifier_for(factory).verify(impostor.mint("u"))
    assert error.value.reason == "signature"


async def test_missing_required_claims_are_rejected(factory: TokenFactory) -> None:
    payload = {"iss": "nova-auth", "aud": "nova", "sub": "u", "iat": int(time.time())}
    token = jwt.encode(
        payload,
        factory.private_key,
        algorithm="EdDSA",
        headers={"kid": factory.kid, "typ": "at+jwt"},
    )
    with pytest.raises(TokenError) as error:
        await verifier_for(factory).verify(token)
    assert error.value.reason == "claims"


async def test_unknown_kids_refetch_the_jwks_at_most_once_per_interval(
    factory: TokenFactory, jwks_server: JWKSServer
) -> None:
    clock = FakeClock()
    async with httpx.AsyncClient() as client:
        source = JWKSKeySource(jwks_server.url, client=client, min_refresh_seconds=30, clock=clock)
        verifier = TokenVerifier(source, issuer="nova-auth", audience="nova")
        await verifier.verify(factory.mint("u"))
        assert jwks_server.fetches == 1

        clock.now += 31
        for index in range(50):
            forged = factory.mint("u", headers={"kid": f"forged-{index}"})
            with pytest.raises(TokenError):
                await verifier.verify(forged)
        assert jwks_server.fetches == 2, (
            "one refresh for the first unknown kid in the interval, then none"
        )

        # A rotation published later is picked up once the interval has passed.
        rotated = TokenFactory()
        jwks_server.jwks = {"keys": [*factory.jwks()["keys"], rotated.public_jwk()]}
        with pytest.raises(TokenError):
            await verifier.verify(rotated.mint("u"))
        clock.now += 31
        claims = await verifier.verify(rotated.mint("rotated-user"))
        assert claims.subject == "rotated-user"
        assert jwks_server.fetches == 3


async def test_revoked_sessions_and_users_are_rejected(
    factory: TokenFactory, redis_client: Any
) -> None:
    revocations = RevocationList(redis_client)
    verifier = verifier_for(factory, revocations=revocations)
    token = factory.mint("user-1", session_id="session-a")
    other_session = factory.mint("user-1", session_id="session-b")
    assert (await verifier.verify(token)).subject == "user-1"

    await revocations.revoke_session("session-a", ttl_seconds=60)
    with pytest.raises(TokenError) as error:
        await verifier.verify(token)
    assert error.value.reason == "revoked"
    assert (await verifier.verify(other_session)).session_id == "session-b"

    await revocations.revoke_user_tokens("user-1", ttl_seconds=60)
    with pytest.raises(TokenError):
        await verifier.verify(other_session)


class SilentRedis:
    """A TCP listener that accepts connections and never answers: Redis hung, or a black hole."""

    def __init__(self) -> None:
        import socket

        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.socket.getsockname()[1]}/0"

    def close(self) -> None:
        self.socket.close()


def unavailable(policy: str) -> float:
    sample = REGISTRY.get_sample_value(
        "token_revocation_checks_unavailable_total", {"policy": policy}
    )
    return sample or 0.0


@pytest.mark.parametrize("outage", ["stopped", "silent"])
async def test_revocation_fails_closed_fast_when_redis_is_unreachable(
    factory: TokenFactory, outage: str, caplog: pytest.LogCaptureFixture
) -> None:
    silent = SilentRedis()
    if outage == "stopped":
        silent.close()  # nothing listens on the port any more: connection refused
    redis = create_redis(silent.url)
    try:
        verifier = verifier_for(factory, revocations=RevocationList(redis, fail_closed=True))
        token = factory.mint("user-1", session_id="s1")
        before = unavailable("closed")
        started = time.perf_counter()
        with pytest.raises(RevocationUnavailableError) as error:
            await verifier.verify(token)
        elapsed = time.perf_counter() - started
    finally:
        await redis.aclose()
        silent.close()
    assert error.value.reason == "revocation_unavailable"
    assert elapsed < 0.25 + 0.1  # the check's 0.2 s budget, plus scheduling noise
    assert unavailable("closed") == before + 1
    assert "revocation list unavailable; failing closed" in caplog.text


async def test_revocation_can_fail_open_in_development(factory: TokenFactory) -> None:
    silent = SilentRedis()
    redis = create_redis(silent.url)
    try:
        verifier = verifier_for(factory, revocations=RevocationList(redis, fail_closed=False))
        before = unavailable("open")
        claims = await verifier.verify(factory.mint("user-1", session_id="s1"))
    finally:
        await redis.aclose()
        silent.close()
    assert claims.subject == "user-1"
    assert unavailable("open") == before + 1


@settings(max_examples=60, deadline=None)
@given(garbage=st.text(max_size=300))
async def test_arbitrary_strings_never_verify_and_never_crash(garbage: str) -> None:
    factory = TokenFactory(kid="fixed")
    with pytest.raises(TokenError):
        await verifier_for(factory).verify(garbage)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"sub": 42}, "claims"),
        ({"jti": ["x"]}, "claims"),
        ({"exp": True}, "claims"),
        ({"exp": "never"}, "claims"),
        ({"aud": ["other", 3]}, "audience"),
        ({"aud": {"nova": True}}, "audience"),
    ],
)
async def test_registered_claims_of_the_wrong_type_are_rejected(
    factory: TokenFactory, claims: dict[str, Any], reason: str
) -> None:
    now = int(time.time())
    payload = {
        "iss": "nova-auth",
        "aud": "nova",
        "sub": "u",
        "iat": now,
        "exp": now + 300,
        "jti": "j",
        **claims,
    }
    token = jwt.encode(
        payload,
        factory.private_key,
        algorithm="EdDSA",
        headers={"kid": factory.kid, "typ": "at+jwt"},
    )
    with pytest.raises(TokenError) as error:
        await verifier_for(factory).verify(token)
    assert error.value.reason == reason


async def test_an_audience_list_naming_the_service_is_accepted(factory: TokenFactory) -> None:
    token = factory.mint("u", aud=["other", "nova"])
    assert (await verifier_for(factory).verify(token)).subject == "u"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + ".extra",
        lambda t: "!!" + t,
        lambda t: t.split(".", 1)[0] + ".e30." + t.rsplit(".", 1)[1],
        lambda t: (
            b64({"alg": "EdDSA", "typ": "at+jwt", "kid": "k", "crit": ["b64"]})
            + "."
            + t.split(".", 1)[1]
        ),
    ],
)
async def test_malformed_tokens_are_refused(factory: TokenFactory, mangle: Any) -> None:
    with pytest.raises(TokenError) as error:
        await verifier_for(factory).verify(mangle(factory.mint("u")))
    assert error.value.reason in {"malformed", "signature"}
