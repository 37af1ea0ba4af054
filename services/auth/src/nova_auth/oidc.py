"""OpenID Connect relying party: provider metadata, the authorization request, the code exchange
and ID-token validation (docs/adr/0017-sign-in-with-openid-providers.md).

authlib builds the authorization request (RFC 6749 parameters, PKCE S256 from RFC 7636) and
the token request, sent with the service's own httpx client; joserfc (authlib's JOSE library)
verifies the ID token's signature against the provider's JWKS.
The claims an OpenID relying party must check (OpenID Connect Core §3.1.3.7) are checked here,
each with its own refusal, so a test can name the one it breaks.

Discovery documents and JWKS are cached per process for ``oidc_metadata_ttl_seconds``; a token
whose ``kid`` the cached JWKS lacks refetches it (a provider rotated its keys), at most once per
:data:`JWKS_REFRESH_INTERVAL_SECONDS`.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from prometheus_client import Counter

from nova_auth.config import AuthSettings, OidcProviderSettings
from nova_kit.errors import AppError, UnauthorizedError

logger = logging.getLogger(__name__)

JWKS_REFRESH_INTERVAL_SECONDS = 60.0
# Asymmetric algorithms only: an HMAC-signed ID token would be keyed with the client secret,
# and "none" is never acceptable for a token that signs someone in.
ACCEPTED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                       "ES512", "EdDSA", "Ed25519")  # fmt: skip
MAX_METADATA_BYTES = 512 * 1024

PROVIDER_FAILURES = Counter(
    "nova_auth_oidc_provider_failures_total",
    "Calls to an OpenID provider (discovery, JWKS, token endpoint) that failed",
    ["provider", "call"],
)
ID_TOKEN_REFUSALS = Counter(
    "nova_auth_oidc_id_token_refusals_total",
    "ID tokens refused, by reason",
    ["provider", "reason"],
)


class UnknownProviderError(AppError):
    status_code = 404
    code = "unknown_provider"

    def __init__(self) -> None:
        super().__init__("no such identity provider", code=self.code, status_code=404)


class ProviderUnavailableError(AppError):
    """The provider could not be reached or answered something unusable (503)."""

    def __init__(self, provider: str, call: str) -> None:
        PROVIDER_FAILURES.labels(provider, call).inc()
        super().__init__(
            "the identity provider is not answering; try again later",
            code="provider_unavailable",
            status_code=503,
        )


class InvalidIdTokenError(UnauthorizedError):
    code = "invalid_id_token"

    def __init__(self, provider: str, reason: str) -> None:
        ID_TOKEN_REFUSALS.labels(provider, reason).inc()
        self.reason = reason
        super().__init__(f"the identity provider's ID token was refused ({reason})")


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What discovery says about a provider, as far as a relying party needs it."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None

    @classmethod
    def parse(cls, document: Mapping[str, Any], expected_issuer: str) -> ProviderMetadata:
        values = {
            name: document.get(name)
            for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        }
        if not all(isinstance(value, str) and value for value in values.values()):
            raise ValueError("the discovery document lacks a required endpoint")
        # OpenID Connect Discovery §4.3: the issuer it states is the one it was fetched for.
        if values["issuer"] != expected_issuer:
            raise ValueError("the discovery document names another issuer")
        userinfo = document.get("userinfo_endpoint")
        return cls(
            **{name: str(value) for name, value in values.items()},
            userinfo_endpoint=userinfo if isinstance(userinfo, str) and userinfo else None,
        )


@dataclass(frozen=True, slots=True)
class IdentityClaims:
    """The validated claims of an ID token that sign someone in."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None


@dataclass
class _Cached:
    metadata: ProviderMetadata
    keys: KeySet
    fetched_at: float
    refetched_at: float | None = None
    """When a token naming an unknown key last made the JWKS be fetched again."""


@dataclass(frozen=True, slots=True)
class IdTokenCheck:
    """What one ID token must say: who issued it, for whom, with which nonce, and when."""

    issuer: str
    client_id: str
    nonce: str
    leeway_seconds: int = 60
    now: Callable[[], float] = time.time


def check_id_token_claims(provider: str, claims: Mapping[str, Any], check: IdTokenCheck) -> None:
    """The claim checks of OpenID Connect Core §3.1.3.7 (the signature is checked before)."""

    def refuse(reason: str) -> InvalidIdTokenError:
        return InvalidIdTokenError(provider, reason)

    if claims.get("iss") != check.issuer:
        raise refuse("issuer")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or check.client_id not in audiences:
        raise refuse("audience")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != check.client_id:
        raise refuse("authorized_party")
    now = check.now()
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise refuse("expiry")
    if expires <= now - check.leeway_seconds:
        raise refuse("expired")
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        raise refuse("issued_at")
    if issued > now + check.leeway_seconds:
        raise refuse("issued_in_future")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), check.nonce.encode()):
        raise refuse("nonce")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise refuse("subject")


def identity_of(claims: Mapping[str, Any]) -> IdentityClaims:
    email = claims.get("email")
    name = claims.get("name")
    return IdentityClaims(
        subject=str(claims["sub"]),
        email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
        # Only a JSON true counts: "true" strings and absent claims are unverified.
        email_verified=claims.get("email_verified") is True,
        name=name.strip()[:100] if isinstance(name, str) and name.strip() else None,
    )


def verify_id_token(
    provider: str, id_token: str, keys: KeySet, check: IdTokenCheck
) -> IdentityClaims:
    """Verify the signature against ``keys``, then the claims; the identity it asserts."""
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ACCEPTED_ALGORITHMS))
    except (JoseError, ValueError, TypeError) as error:
        logger.info("ID token refused", extra={"provider": provider, "error": type(error).__name__})
        raise InvalidIdTokenError(provider, "signature") from None
    check_id_token_claims(provider, token.claims, check)
    return identity_of(token.claims)


def token_key_id(id_token: str) -> str | None:
    """The ``kid`` of a compact JWS, or None (no refetch for tokens that name no key)."""
    try:  # unverified: only to decide whether to refetch the JWKS
        segment = id_token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


@dataclass
class OidcProviders:
    """The configured providers, their cached metadata and keys, and the calls to them."""

    settings: AuthSettings
    http: httpx.AsyncClient
    providers: dict[str, OidcProviderSettings] = field(default_factory=dict)
    _cache: dict[str, _Cached] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: AuthSettings, http: httpx.AsyncClient) -> OidcProviders:
        return cls(settings, http, {p.name: p for p in settings.oidc_provider_list()})

    def get(self, name: str) -> OidcProviderSettings:
        provider = self.providers.get(name)
        if provider is None:
            raise UnknownProviderError
        return provider

    def redirect_uri(self, provider: OidcProviderSettings) -> str:
        base = self.settings.oidc_redirect_base_url.rstrip("/")
        return f"{base}/api/auth/oidc/{provider.name}/callback"

    async def _fetch_json(self, provider: str, call: str, url: str) -> Any:
        try:
            response = await self.http.get(
                url,
                timeout=self.settings.oidc_http_timeout_seconds,
                headers={"Accept": "application/json"},
                follow_redirects=False,
            )
            response.raise_for_status()
            if len(response.content) > MAX_METADATA_BYTES:
                raise ValueError("document too large")
            return response.json()
        except (httpx.HTTPError, ValueError) as error:
            logger.warning(
                "identity provider call failed",
                extra={"provider": provider, "call": call, "error": str(error)},
            )
            raise ProviderUnavailableError(provider, call) from None

    async def _keys(self, provider: str, jwks_uri: str) -> KeySet:
        document = await self._fetch_json(provider, "jwks", jwks_uri)
        try:
            return KeySet.import_key_set(document)
        except (JoseError, ValueError, TypeError, KeyError):
            raise ProviderUnavailableError(provider, "jwks") from None

    async def _load(self, provider: OidcProviderSettings, *, refresh_keys: bool) -> _Cached:
        lock = self._locks.setdefault(provider.name, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            cached = self._cache.get(provider.name)
            if cached is None or now - cached.fetched_at > self.settings.oidc_metadata_ttl_seconds:
                url = f"{provider.issuer.rstrip('/')}/.well-known/openid-configuration"
                document = await self._fetch_json(provider.name, "discovery", url)
                try:
                    metadata = ProviderMetadata.parse(document, provider.issuer)
                except (ValueError, AttributeError):
                    raise ProviderUnavailableError(provider.name, "discovery") from None
                keys = await self._keys(provider.name, metadata.jwks_uri)
                cached = _Cached(metadata, keys, now)
                self._cache[provider.name] = cached
            elif refresh_keys and (
                cached.refetched_at is None
                or now - cached.refetched_at > JWKS_REFRESH_INTERVAL_SECONDS
            ):
                cached.keys = await self._keys(provider.name, cached.metadata.jwks_uri)
                cached.refetched_at = now
            return cached

    async def metadata(self, provider: OidcProviderSettings) -> ProviderMetadata:
        return (await self._load(provider, refresh_keys=False)).metadata

    async def authorization_url(
        self, provider: OidcProviderSettings, *, state: str, nonce: str, code_verifier: str
    ) -> str:
        """The provider's authorization endpoint with the request: code flow, PKCE S256."""
        metadata = await self.metadata(provider)
        return str(
            prepare_grant_uri(
                metadata.authorization_endpoint,
                provider.client_id,
                "code",
                redirect_uri=self.redirect_uri(provider),
                scope=list(provider.scopes),
                state=state,
                nonce=nonce,
                code_challenge=create_s256_code_challenge(code_verifier),
                code_challenge_method="S256",
            )
        )

    async def exchange_code(
        self, provider: OidcProviderSettings, *, code: str, code_verifier: str, nonce: str
    ) -> IdentityClaims:
        """Exchange the code (with the PKCE verifier) and validate the ID token it brings."""
        metadata = await self.metadata(provider)
        body = prepare_token_request(
            "authorization_code",
            redirect_uri=self.redirect_uri(provider),
            code=code,
            code_verifier=code_verifier,
        )
        # client_secret_basic: both parts form-encoded first (RFC 6749 §2.3.1).
        credentials = httpx.BasicAuth(
            quote(provider.client_id, safe=""),
            quote(provider.client_secret.get_secret_value(), safe=""),
        )
        try:
            response = await self.http.post(
                metadata.token_endpoint,
                content=body,
                auth=credentials,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
                timeout=self.settings.oidc_http_timeout_seconds,
                follow_redirects=False,
            )
            token = response.json()
        except (httpx.HTTPError, ValueError):
            raise ProviderUnavailableError(provider.name, "token") from None
        if response.status_code in {400, 401}:
            # The provider refused the code: spent, expired, or not ours. The user's problem.
            error = token.get("error") if isinstance(token, dict) else None
            logger.info(
                "authorization code refused", extra={"provider": provider.name, "error": error}
            )
            raise UnauthorizedError(
                "the identity provider refused the sign-in; start again", code="oidc_code_refused"
            )
        if response.status_code != 200 or not isinstance(token, dict):
            raise ProviderUnavailableError(provider.name, "token")
        id_token = token.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise InvalidIdTokenError(provider.name, "missing")
        identity = await self.validate_id_token(provider, id_token, nonce)
        access_token = token.get("access_token")
        if identity.email is None and metadata.userinfo_endpoint and isinstance(access_token, str):
            # Providers may keep profile claims out of the ID token when an access token is
            # issued (OpenID Connect Core §5.4): the UserInfo endpoint has them.
            identity = await self.user_info(provider, metadata, access_token, identity)
        return identity

    async def user_info(
        self,
        provider: OidcProviderSettings,
        metadata: ProviderMetadata,
        access_token: str,
        identity: IdentityClaims,
    ) -> IdentityClaims:
        """The UserInfo claims, for the subject the ID token named and only for it (§5.3.2)."""
        assert metadata.userinfo_endpoint is not None
        try:
            response = await self.http.get(
                metadata.userinfo_endpoint,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=self.settings.oidc_http_timeout_seconds,
                follow_redirects=False,
            )
            response.raise_for_status()
            claims = response.json()
        except (httpx.HTTPError, ValueError):
            raise ProviderUnavailableError(provider.name, "userinfo") from None
        if not isinstance(claims, dict) or claims.get("sub") != identity.subject:
            raise InvalidIdTokenError(provider.name, "userinfo_subject")
        return identity_of(claims)

    async def validate_id_token(
        self, provider: OidcProviderSettings, id_token: str, nonce: str
    ) -> IdentityClaims:
        cached = await self._load(provider, refresh_keys=False)
        kid = token_key_id(id_token)
        if kid is not None and not any(key.kid == kid for key in cached.keys):
            cached = await self._load(provider, refresh_keys=True)
        check = IdTokenCheck(
            issuer=cached.metadata.issuer,
            client_id=provider.client_id,
            nonce=nonce,
            leeway_seconds=self.settings.oidc_clock_leeway_seconds,
        )
        return verify_id_token(provider.name, id_token, cached.keys, check)
