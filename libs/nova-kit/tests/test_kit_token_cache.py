"""The verifier's memory of checked signatures: a token verified once is not verified again, but
never past its expiry, never once its key changed, never around the revocation check, and a
failure is never remembered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from jwt.algorithms import OKPAlgorithm

from nova_kit.testing.tokens import TokenFactory
from nova_kit.tokens import RevocationList, StaticKeySource, TokenError, TokenVerifier


class CountedDecode:
    """The Ed25519 signature check as the verifier calls it, counted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = OKPAlgorithm.verify

        def verify(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(OKPAlgorithm, "verify", verify)


@pytest.fixture
def factory() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> CountedDecode:
    return CountedDecode(monkeypatch)


def verifier_for(factory: TokenFactory, **options: Any) -> TokenVerifier:
    options.setdefault("keys", factory.key_source())
    options.setdefault("issuer", factory.issuer)
    options.setdefault("audience", factory.audience)
    return TokenVerifier(**options)


async def test_a_verified_token_is_not_checked_again(
    factory: TokenFactory, decodes: CountedDecode
) -> None:
    verifier = verifier_for(factory)
    token = factory.mint("user-1", roles=["user", "admin"], session_id="s1")
    first = await verifier.verify(token)
    second = await verifier.verify(token)
    assert decodes.calls == 1
    assert second == first
    assert (second.subject, second.session_id, second.is_admin) == ("user-1", "s1", True)
    # a token differing in one character of its signature is another token, checked in full
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(TokenError) as error:
        await verifier.verify(tampered)
    assert error.value.reason == "signature"
    assert decodes.calls == 2


async def test_never_past_expiry(factory: TokenFactory, decodes: CountedDecode) -> None:
    verifier = verifier_for(factory, leeway_seconds=0)
    token = factory.mint("user-1", lifetime=1)
    await verifier.verify(token)
    await asyncio.sleep(1.1)
    with pytest.raises(TokenError) as error:
        await verifier.verify(token)
    assert error.value.reason == "expired"
    assert decodes.calls == 2


async def test_a_changed_key_drops_what_it_signed(
    factory: TokenFactory, decodes: CountedDecode
) -> None:
    keys = StaticKeySource(factory.jwks())
    verifier = verifier_for(factory, keys=keys)
    token = factory.mint("user-1")
    await verifier.verify(token)
    # the kid now names another key (rotated, or the old one withdrawn and its kid reused)
    impostor = TokenFactory(kid=factory.kid)
    keys.keys = StaticKeySource(impostor.jwks()).keys
    with pytest.raises(TokenError) as error:
        await verifier.verify(token)
    assert error.value.reason == "signature"
    assert decodes.calls == 2


async def test_revocation_is_checked_on_every_request(
    factory: TokenFactory, redis_client: Any, decodes: CountedDecode
) -> None:
    revocations = RevocationList(redis_client)
    verifier = verifier_for(factory, revocations=revocations)
    token = factory.mint("user-9", session_id="session-9")
    await verifier.verify(token)
    await verifier.verify(token)
    await revocations.revoke_session("session-9", ttl_seconds=60)
    with pytest.raises(TokenError) as error:
        await verifier.verify(token)
    assert error.value.reason == "revoked"
    assert decodes.calls == 1


async def test_failures_are_never_remembered(factory: TokenFactory, decodes: CountedDecode) -> None:
    verifier = verifier_for(factory, audience="another-audience")
    token = factory.mint("user-1")
    for _ in range(2):
        with pytest.raises(TokenError) as error:
            await verifier.verify(token)
        assert error.value.reason == "audience"
    assert decodes.calls == 2


async def test_the_memory_is_bounded(factory: TokenFactory, decodes: CountedDecode) -> None:
    verifier = verifier_for(factory, cache_size=2)
    first, second, third = (factory.mint(f"user-{n}") for n in range(3))
    for token in (first, second, third, third, second):
        await verifier.verify(token)
    assert decodes.calls == 3  # the last two were remembered
    await verifier.verify(first)  # the least recently used, pushed out by the third
    assert decodes.calls == 4
    off = verifier_for(factory, cache_size=0)
    await off.verify(first)
    await off.verify(first)
    assert decodes.calls == 6
