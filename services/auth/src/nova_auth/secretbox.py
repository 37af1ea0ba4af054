"""Encryption at rest of small secrets (two-factor TOTP seeds): AES-256-GCM.

A sealed value is ``<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>``. The key id is the first 16
hex digits of the SHA-256 of the key, so it names the key without revealing it and needs no
configuration: after a rotation (new key first, the old one in ``NOVA_AUTH_TWO_FACTOR_OLD_KEYS``)
values sealed under the old key still open, and :meth:`SecretBox.needs_reseal` tells which to
re-encrypt. The associated data binds a value to its row (the account id): a ciphertext copied
to another account does not open there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
DEV_KEY = hashlib.sha256(b"nova development two-factor key; never use outside dev/test").digest()
"""The key dev/test use when none is configured (``check_production`` refuses it elsewhere)."""


class SecretBoxError(Exception):
    """A sealed value that no configured key opens (unknown key id, or tampered with)."""


def parse_keys(raw: str) -> list[bytes]:
    """Keys from a comma-separated list of base64 values of 32 bytes each (ValueError if not)."""
    keys: list[bytes] = []
    for part in raw.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=False)
        except (binascii.Error, ValueError):
            raise ValueError("a two-factor key is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(f"a two-factor key must be {KEY_BYTES} bytes (base64), not {len(key)}")
        keys.append(key)
    if not keys:
        raise ValueError("no two-factor key given")
    return keys


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


class SecretBox:
    """Seals with the first key, opens with any of them."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a SecretBox needs at least one key")
        self._keys = {key_id(key): AESGCM(key) for key in keys}
        self.current = key_id(keys[0])

    def seal(self, plaintext: bytes, associated: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.current].encrypt(nonce, plaintext, associated)
        return f"{self.current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, value: str, associated: bytes) -> bytes:
        kid, _, payload = value.partition(":")
        cipher = self._keys.get(kid)
        if cipher is None:
            raise SecretBoxError(f"no configured key has the id {kid!r}")
        try:
            raw = base64.urlsafe_b64decode(payload)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretBoxError("the sealed value does not open with its key") from None

    def needs_reseal(self, value: str) -> bool:
        return value.partition(":")[0] != self.current
