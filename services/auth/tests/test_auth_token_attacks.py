"""Forged and stale access tokens are refused with 401 on ``GET /api/auth/me``."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_auth.keys import KeyRing, TokenIssuer, generate_signing_key
from nova_kit.tokens import TokenError, TokenVerifier


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")

    def pad(s: str) -> str:
        return s + "=" * (-len(s) % 4)

    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


def _encode(header: dict[str, Any], payload: dict[str, Any], signature: str) -> str:
    return ".".join(
        [_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()), signature]
    )


def _resign(api: Any, payload: dict[str, Any], **header: Any) -> str:
    """A token signed with auth's real current key, with the claims/header given."""
    key = api.state.issuer.ring.current
    headers = {"kid": key.kid, "typ": "at+jwt", **header}
    return jwt.encode(payload, key.private_key, algorithm="EdDSA", headers=headers)


@pytest.fixture
async def genuine(api: Any) -> tuple[str, dict[str, Any]]:
    registered = await api.register("mallory@example.com")
    token = registered["access_token"]
    assert (await api.me(token)).status_code == 200
    _, payload, _ = _segments(token)
    return token, payload


async def _refused(api: Any, token: str) -> None:
    response = await api.me(token)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_alg_none_is_refused(api: Any, genuine: tuple[str, dict[str, Any]]) -> None:
    token, _ = genuine
    header, payload, _ = _segments(token)
    await _refused(api, _encode({**header, "alg": "none"}, payload, ""))


async def test_hs256_signed_with_the_public_key_is_refused(
    api: Any, genuine: tuple[str, dict[str, Any]]
) -> None:
    token, _ = genuine
    header, payload, _ = _segments(token)
    jwk = (await api.client.get("/.well-known/jwks.json")).json()["keys"][0]
    public_pem = serialization.load_pem_public_key(
        api.state.issuer.ring.current.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    import hashlib
    import hmac

    for secret in (public_pem, jwk["x"].encode(), json.dumps(jwk).encode()):
        signing_input = ".".join(
            [
                _b64(json.dumps({**header, "alg": "HS256"}).encode()),
                _b64(json.dumps(payload).encode()),
            ]
        )
        signature = _b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
        await _refused(api, f"{signing_input}.{signature}")


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        pytest.param({"typ": "JWT"}, {}, id="wrong-typ"),
        pytest.param({"typ": None}, {}, id="no-typ"),
        pytest.param({}, {"aud": "someone-else"}, id="wrong-aud"),
        pytest.param({}, {"iss": "https://evil.example"}, id="wrong-iss"),
        pytest.param(
            {}, {"exp": int(time.time()) - 120, "iat": int(time.time()) - 400}, id="expired"
        ),
        pytest.param({}, {"nbf": int(time.time()) + 600}, id="not-yet-valid"),
        pytest.param({}, {"iat": int(time.time()) + 600}, id="issued-in-the-future"),
        pytest.param({"kid": "no-such-key"}, {}, id="unknown-kid"),
    ],
)
async def test_claims_and_headers_are_checked(
    api: Any,
    genuine: tuple[str, dict[str, Any]],
    header: dict[str, Any],
    claims: dict[str, Any],
) -> None:
    _, payload = genuine
    token = _resign(api, {**payload, **claims}, **header)
    if "typ" in header and header["typ"] is None:
        # PyJWT leaves a None header out of what it signs: a genuine signature, no type.
        assert "typ" not in jwt.get_unverified_header(token)
        public = api.state.issuer.ring.current.private_key.public_key()
        assert jwt.decode(token, public, algorithms=["EdDSA"], options={"verify_aud": False})
    await _refused(api, token)


async def test_tampered_payload_is_refused(api: Any, genuine: tuple[str, dict[str, Any]]) -> None:
    token, _ = genuine
    header, payload, signature = _segments(token)
    await _refused(api, _encode(header, {**payload, "roles": ["user", "admin"]}, signature))
    await _refused(api, _encode(header, {**payload, "sub": str(uuid.uuid4())}, signature))


async def test_a_foreign_key_with_a_known_kid_is_refused(
    api: Any, genuine: tuple[str, dict[str, Any]]
) -> None:
    _, payload = genuine
    kid = api.state.issuer.ring.current.kid
    forged = jwt.encode(
        payload,
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": kid, "typ": "at+jwt"},
    )
    await _refused(api, forged)


async def test_key_rotation_keeps_old_tokens_valid_and_publishes_both(
    make_client: Any, api_for: Any
) -> None:
    old = generate_signing_key(kid="old-key")
    new = generate_signing_key(kid="new-key")
    async with make_client(signing_keys=json.dumps([old.entry()])) as client:
        before = await api_for(client).register("rotate@example.com")
    async with make_client(signing_keys=json.dumps([new.entry(), old.entry()])) as client:
        api = api_for(client)
        jwks = (await client.get("/.well-known/jwks.json")).json()
        assert [key["kid"] for key in jwks["keys"]] == ["new-key", "old-key"]
        # a token signed by the previous key still verifies until it expires
        assert (await api.me(before["access_token"])).status_code == 200
        login = await api.login("rotate@example.com")
        header, _, _ = _segments(login.json()["access_token"])
        assert header["kid"] == "new-key"
        assert header["alg"] == "EdDSA"
        assert header["typ"] == "at+jwt"
    async with make_client(signing_keys=json.dumps([new.entry()])) as client:
        # once the old key is dropped, its tokens stop verifying
        assert (await api_for(client).me(before["access_token"])).status_code == 401


async def test_es256_keys_and_private_jwks_are_accepted(make_client: Any, api_for: Any) -> None:
    ec_key = generate_signing_key("ES256", kid="ec-key")
    assert isinstance(ec_key.private_key, ec.EllipticCurvePrivateKey)
    private_jwk = {
        **json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.private_key)),
        "kid": "ec-key",
    }
    async with make_client(signing_keys=json.dumps([private_jwk])) as client:
        api = api_for(client)
        registered = await api.register("ec@example.com")
        header, payload, _ = _segments(registered["access_token"])
        assert header["alg"] == "ES256"
        assert payload["kind"] == "user"
        assert set(payload) >= {"iss", "aud", "sub", "exp", "iat", "nbf", "jti", "roles", "sid"}
        assert payload["exp"] - payload["iat"] <= 900
        assert (await api.me(registered["access_token"])).status_code == 200
        jwk = (await client.get("/.well-known/jwks.json")).json()["keys"][0]
        assert jwk["kty"] == "EC"
        assert "d" not in jwk


RING = KeyRing([generate_signing_key(kid="property")])
ISSUER = TokenIssuer(RING, issuer="nova-auth", audience="nova")
VERIFIER = TokenVerifier(RING.key_source(), issuer="nova-auth", audience="nova")
GENUINE = ISSUER.mint("subject", roles=["user"], kind="user", lifetime=300, session_id="s").token


async def test_minted_tokens_verify_with_the_published_keys() -> None:
    claims = await VERIFIER.verify(GENUINE)
    assert claims.subject == "subject"
    assert claims.session_id == "s"
    assert claims.kind == "user"


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["sub", "roles", "kind", "exp", "aud", "iss", "sid", "extra"]),
        st.one_of(st.text(max_size=20), st.integers(), st.lists(st.text(max_size=5), max_size=3)),
        min_size=1,
    )
)
def test_any_change_to_the_claims_breaks_the_signature(changes: dict[str, Any]) -> None:
    header, payload, signature = _segments(GENUINE)
    changed = {**payload, **changes}
    if changed == payload:
        return
    forged = _encode(header, changed, signature)
    with pytest.raises(TokenError):
        asyncio.run(VERIFIER.verify(forged))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_garbage_is_a_token_error_never_a_crash(garbage: str) -> None:
    with pytest.raises(TokenError):
        asyncio.run(VERIFIER.verify(garbage))
