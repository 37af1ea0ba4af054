"""ID-token validation, with tokens signed here by a test key against a JWKS served here: the
real provider never mints a token with a wrong audience, issuer or signature, so these are
made on purpose and each must be refused for its own reason."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from nova_auth.config import AuthSettings, OidcProviderSettings
from nova_auth.oidc import InvalidIdTokenError, OidcProviders, ProviderUnavailableError

ISSUER = "https://id.example.test"
CLIENT_ID = "nova-client"
NONCE = "the-nonce-of-this-flow"


class FakeIssuer:
    """Serves discovery and a JWKS for ``ISSUER``; counts JWKS fetches."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.published: list[Any] = [self.key]
        self.jwks_fetches = 0
        self.discovery_issuer = ISSUER

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": self.discovery_issuer,
                    "authorization_endpoint": f"{ISSUER}/auth",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                },
            )
        if request.url.path == "/jwks":
            self.jwks_fetches += 1
            return httpx.Response(
                200, json={"keys": [k.as_dict(private=False) for k in self.published]}
            )
        return httpx.Response(404)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": "subject-1",
            "iat": now,
            "exp": now + 300,
            "nonce": NONCE,
            "email": "Ada@Example.com",
            "email_verified": True,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, key: Any = None, alg: str = "RS256", **overrides: Any) -> str:
        key = key or self.key
        header = {"alg": alg, "kid": key.kid} if key.kid else {"alg": alg}
        return jwt.encode(header, self.claims(**overrides), key, algorithms=[alg])


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer()


@pytest.fixture
async def providers(issuer: FakeIssuer) -> AsyncIterator[OidcProviders]:
    entry = {"name": "corp", "issuer": ISSUER, "client_id": CLIENT_ID, "client_secret": "s3cr3t"}
    settings = AuthSettings(environment="test", oidc_providers=json.dumps([entry]))
    async with httpx.AsyncClient(transport=httpx.MockTransport(issuer.handle)) as http:
        yield OidcProviders.from_settings(settings, http)


async def validate(providers: OidcProviders, token: str) -> Any:
    return await providers.validate_id_token(providers.get("corp"), token, NONCE)


async def refusal(providers: OidcProviders, token: str) -> str:
    with pytest.raises(InvalidIdTokenError) as caught:
        await validate(providers, token)
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_id_token"
    return caught.value.reason


async def test_a_good_token_gives_the_identity(
    providers: OidcProviders, issuer: FakeIssuer
) -> None:
    identity = await validate(providers, issuer.sign())
    assert identity.subject == "subject-1"
    assert identity.email == "ada@example.com"
    assert identity.email_verified is True


async def test_email_verified_must_be_a_json_true(
    providers: OidcProviders, issuer: FakeIssuer
) -> None:
    for value in ("true", 1, None):
        identity = await validate(providers, issuer.sign(email_verified=value))
        assert identity.email_verified is False


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "someone-else"}, "audience"),
        ({"aud": ["someone-else", "another"]}, "audience"),
        ({"aud": [CLIENT_ID, "another"]}, "authorized_party"),  # several audiences, no azp
        ({"aud": [CLIENT_ID, "another"], "azp": "another"}, "authorized_party"),
        ({"iss": "https://evil.example.test"}, "issuer"),
        ({"iss": None}, "issuer"),
        ({"nonce": "another-nonce"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": None}, "expiry"),
        ({"iat": int(time.time()) + 3600}, "issued_in_future"),
        ({"iat": None}, "issued_at"),
        ({"sub": ""}, "subject"),
        ({"sub": None}, "subject"),
    ],
)
async def test_each_broken_claim_is_refused(
    providers: OidcProviders, issuer: FakeIssuer, overrides: dict[str, Any], reason: str
) -> None:
    assert await refusal(providers, issuer.sign(**overrides)) == reason


async def test_several_audiences_with_our_azp_are_accepted(
    providers: OidcProviders, issuer: FakeIssuer
) -> None:
    token = issuer.sign(aud=[CLIENT_ID, "another"], azp=CLIENT_ID)
    assert (await validate(providers, token)).subject == "subject-1"


async def test_a_bad_signature_is_refused(providers: OidcProviders, issuer: FakeIssuer) -> None:
    # Another key under the published key's kid: the signature does not verify.
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert await refusal(providers, issuer.sign(key=impostor)) == "signature"
    # A published token with one byte of its payload changed.
    header, payload, signature = issuer.sign().split(".")
    tampered = f"{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}"
    assert await refusal(providers, f"{tampered}.{signature}") == "signature"


async def test_unsigned_and_symmetric_tokens_are_refused(
    providers: OidcProviders, issuer: FakeIssuer
) -> None:
    # "none": a token anyone can make.
    import base64

    def b64(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none', 'kid': 'k1'})}.{b64(issuer.claims())}."
    assert await refusal(providers, unsigned) == "signature"
    # HS256 keyed with the client secret: whoever knows the secret could sign in as anyone.
    secret = OctKey.import_key("s3cr3t" * 8, parameters={"kid": "k1"})
    assert await refusal(providers, issuer.sign(key=secret, alg="HS256")) == "signature"


async def test_a_rotated_key_is_fetched_once_when_a_token_names_it(
    providers: OidcProviders, issuer: FakeIssuer
) -> None:
    await validate(providers, issuer.sign())
    assert issuer.jwks_fetches == 1
    rotated = ECKey.generate_key("P-256", parameters={"kid": "k2"})
    issuer.published = [issuer.key, rotated]
    identity = await validate(providers, issuer.sign(key=rotated, alg="ES256"))
    assert identity.subject == "subject-1"
    assert issuer.jwks_fetches == 2
    # A token naming a key that does not exist does not refetch again at once.
    ghost = ECKey.generate_key("P-256", parameters={"kid": "ghost"})
    assert await refusal(providers, issuer.sign(key=ghost, alg="ES256")) == "signature"
    assert issuer.jwks_fetches == 2


async def test_discovery_naming_another_issuer_is_refused(
    providers: OidcProviders, issuer: FakeIssuer
) -> None:
    issuer.discovery_issuer = "https://evil.example.test"
    with pytest.raises(ProviderUnavailableError) as caught:
        await validate(providers, issuer.sign())
    assert caught.value.status_code == 503
    assert caught.value.code == "provider_unavailable"


async def test_an_unreachable_provider_is_a_503() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    entry = {"name": "corp", "issuer": ISSUER, "client_id": CLIENT_ID, "client_secret": "s3cr3t"}
    settings = AuthSettings(environment="test", oidc_providers=json.dumps([entry]))
    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as http:
        providers = OidcProviders.from_settings(settings, http)
        with pytest.raises(ProviderUnavailableError):
            await providers.metadata(providers.get("corp"))


def provider_entry(**overrides: Any) -> str:
    entry = {
        "name": "corp",
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "client_secret": "a-real-looking-client-secret",
    }
    entry.update(overrides)
    return json.dumps([entry])


def test_production_refuses_http_issuers_and_placeholder_secrets() -> None:
    settings = AuthSettings(
        environment="test",
        oidc_providers=provider_entry(issuer="http://id.example.test", client_secret="changeme"),
        oidc_redirect_base_url="http://nova.example.test",
    )
    problems = "\n".join(settings._oidc_problems())
    assert "NOVA_AUTH_OIDC_PROVIDERS: the issuer of 'corp' must be an https URL" in problems
    assert "NOVA_AUTH_OIDC_PROVIDERS: the client secret of 'corp' is a placeholder" in problems
    assert "NOVA_AUTH_OIDC_REDIRECT_BASE_URL: must be an https URL" in problems
    good = AuthSettings(
        environment="test",
        oidc_providers=provider_entry(),
        oidc_redirect_base_url="https://nova.example.test",
    )
    assert good._oidc_problems() == []


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        provider_entry(name="Has Spaces"),
        provider_entry(scopes=["email"]),
        provider_entry(unknown="field"),
        json.dumps([json.loads(provider_entry())[0]] * 2),
    ],
)
def test_a_malformed_provider_list_is_refused_without_echoing_secrets(raw: str) -> None:
    with pytest.raises(ValueError, match="provider") as caught:
        AuthSettings(environment="test", oidc_providers=raw)
    assert "a-real-looking-client-secret" not in str(caught.value).split("input_value")[0]


def test_a_provider_has_a_label() -> None:
    entry = json.loads(provider_entry(display_name="Corp SSO"))[0]
    assert OidcProviderSettings.model_validate(entry).label == "Corp SSO"
    del entry["display_name"]
    assert OidcProviderSettings.model_validate(entry).label == "corp"
