"""Mint access tokens in tests, signed the way auth signs them (Ed25519, ``typ: at+jwt``)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from nova_kit.testing.servers import ThreadedServer
from nova_kit.tokens import ACCESS_TOKEN_TYPE, StaticKeySource


@dataclass
class TokenFactory:
    issuer: str = "nova-auth"
    audience: str = "nova"
    kid: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}")
    private_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = OKPAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "EdDSA"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def key_source(self) -> StaticKeySource:
        return StaticKeySource(self.jwks())

    def mint(
        self,
        subject: str | None = None,
        *,
        roles: Iterable[str] = ("user",),
        kind: str = "user",
        lifetime: int = 300,
        session_id: str | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject or str(uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            "roles": list(roles),
            "kind": kind,
            "sid": session_id or uuid.uuid4().hex,
        }
        payload.update(claims)
        header = {"kid": self.kid, "typ": ACCESS_TOKEN_TYPE, **(headers or {})}
        return jwt.encode(payload, self.private_key, algorithm="EdDSA", headers=header)

    def service_token(self, service: str, lifetime: int = 300) -> str:
        return self.mint(f"service:{service}", roles=["service"], kind="service", lifetime=lifetime)


class JWKSServer:
    """A JWKS published over HTTP on loopback, as auth publishes ``/.well-known/jwks.json``.

    ``with JWKSServer(factory.jwks()) as server: ... server.url``; :attr:`jwks` may be replaced
    (a key rotation) and :attr:`fetches` counts the GETs it answered.
    """

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.fetches = 0
        self._server = ThreadedServer(
            self._app, path="/.well-known/jwks.json", lifespan="off", name="jwks"
        )
        self.url = self._server.url

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.fetches += 1
        body = json.dumps(self.jwks).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def start(self) -> Self:
        self._server.start()
        return self

    def close(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()
