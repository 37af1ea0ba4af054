"""Signing keys, the published JWKS, and access-token minting.

The key ring holds the current key (it signs) and previous keys (still published so tokens they
signed verify until they expire). Rotation without downtime:

1. ``nova-auth rotate-keys`` prints a new key entry; put it *first* in
   ``NOVA_AUTH_SIGNING_KEYS``, keeping the old entries after it, and roll out auth.
   Verifiers that meet the new ``kid`` re-fetch the JWKS on their own.
2. Once every token signed by the old key has expired (``NOVA_AUTH_ACCESS_TOKEN_TTL_SECONDS``
   after the roll-out, at most 15 minutes), drop the old entry and roll out again.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from nova_kit.tokens import ACCESS_TOKEN_TYPE, SERVICE_ROLE, StaticKeySource

logger = logging.getLogger(__name__)

Algorithm = Literal["EdDSA", "ES256"]
PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: Algorithm
    private_key: PrivateKey

    def public_jwk(self) -> dict[str, Any]:
        if isinstance(self.private_key, Ed25519PrivateKey):
            jwk = OKPAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def private_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def entry(self) -> dict[str, str]:
        """The ``NOVA_AUTH_SIGNING_KEYS`` entry of this key."""
        return {"kid": self.kid, "pem": self.private_pem()}


def generate_signing_key(algorithm: Algorithm = "EdDSA", kid: str | None = None) -> SigningKey:
    private: PrivateKey = (
        Ed25519PrivateKey.generate()
        if algorithm == "EdDSA"
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = kid or f"{time.strftime('%Y%m%d', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    return SigningKey(name, algorithm, private)


def _key_from_private(kid: str, private: object) -> SigningKey:
    if isinstance(private, Ed25519PrivateKey):
        return SigningKey(kid, "EdDSA", private)
    if isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(private.curve, ec.SECP256R1):
        return SigningKey(kid, "ES256", private)
    raise ValueError(f"key {kid!r}: only Ed25519 and P-256 private keys are accepted")


def _parse_entry(entry: object, index: int) -> SigningKey:
    if not isinstance(entry, dict):
        raise ValueError(f"key #{index + 1} is not a JSON object")
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid.strip():
        raise ValueError(f"key #{index + 1} has no 'kid'")
    if "pem" in entry:
        pem = entry["pem"]
        if not isinstance(pem, str):
            raise ValueError(f"key {kid!r}: 'pem' must be a string")
        try:
            from_pem: object = serialization.load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError) as error:
            raise ValueError(f"key {kid!r}: unreadable PEM private key ({error})") from None
        return _key_from_private(kid, from_pem)
    jwk = entry.get("jwk", entry)
    if not isinstance(jwk, dict) or "d" not in jwk:
        raise ValueError(f"key {kid!r}: give a private key as 'pem' or as a private JWK")
    if jwk.get("kty") not in ("OKP", "EC"):
        raise ValueError(f"key {kid!r}: unsupported key type {jwk.get('kty')!r}")
    algorithm = OKPAlgorithm if jwk["kty"] == "OKP" else ECAlgorithm
    try:
        loaded: object = algorithm.from_jwk(json.dumps(jwk))
    except (jwt.InvalidKeyError, ValueError, KeyError) as error:
        raise ValueError(f"key {kid!r}: unreadable JWK ({error})") from None
    return _key_from_private(kid, loaded)


def parse_signing_keys(raw: str) -> list[SigningKey]:
    """Keys of ``NOVA_AUTH_SIGNING_KEYS``; the first one signs. Raises ``ValueError`` if bad."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg})") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError("expected a non-empty JSON list of keys")
    keys = [_parse_entry(entry, index) for index, entry in enumerate(value)]
    kids = [key.kid for key in keys]
    if len(set(kids)) != len(kids):
        raise ValueError("two keys share a 'kid'")
    return keys


def load_dev_key(path: Path | None) -> SigningKey:
    """A development key: kept in ``path`` (created on first use) or ephemeral."""
    if path is not None and path.exists():
        return parse_signing_keys(path.read_text())[0]
    key = generate_signing_key(kid=f"dev-{uuid.uuid4().hex[:8]}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump([key.entry()], handle)
        logger.warning("generated a development signing key", extra={"path": str(path)})
    else:
        logger.warning(
            "no signing key configured: using an ephemeral development key "
            "(tokens stop verifying when this process restarts)",
            extra={"kid": key.kid},
        )
    return key


class KeyRing:
    """The current signing key and the previous ones still published."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self.keys = list(keys)
        self.current = self.keys[0]
        self._jwks = {"keys": [key.public_jwk() for key in self.keys]}

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def key_source(self) -> StaticKeySource:
        return StaticKeySource(self._jwks)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    token_id: str
    expires_in: int


class TokenIssuer:
    """Mints access tokens with the key ring's current key."""

    def __init__(self, ring: KeyRing, *, issuer: str, audience: str) -> None:
        self.ring = ring
        self.issuer = issuer
        self.audience = audience

    def mint(
        self,
        subject: str,
        *,
        roles: Iterable[str],
        kind: Literal["user", "service"],
        lifetime: int,
        session_id: str | None = None,
        not_before: int | None = None,
    ) -> IssuedToken:
        """A signed access token.

        ``not_before`` raises ``iat``/``nbf`` to a revocation cut-off that lies in the current
        second, so a token minted right after a password change is not caught by it.
        """
        now = int(time.time())
        issued_at = max(now, not_before or 0)
        token_id = uuid.uuid4().hex
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": now + lifetime,
            "jti": token_id,
            "roles": sorted(set(roles)),
            "kind": kind,
        }
        if session_id is not None:
            payload["sid"] = session_id
        key = self.ring.current
        token = jwt.encode(
            payload,
            key.private_key,
            algorithm=key.algorithm,
            headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE},
        )
        return IssuedToken(token, token_id, lifetime)

    def service_token(self, client_id: str, lifetime: int) -> IssuedToken:
        return self.mint(
            f"service:{client_id}", roles=[SERVICE_ROLE], kind="service", lifetime=lifetime
        )
