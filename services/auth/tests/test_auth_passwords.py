"""Password policy (NFKC, length, common list) and Argon2id parameters."""

from __future__ import annotations

import unicodedata
from typing import Any

import asyncpg
import pytest
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_auth.passwords import PasswordPolicy, PasswordPolicyError, common_passwords

POLICY = PasswordPolicy(8, 128)


def test_the_common_list_is_bundled_and_used() -> None:
    common = common_passwords()
    assert len(common) > 5000
    for password in ("password1", "qwertyuiop", "iloveyou2024", "Password123!", "11111111"):
        with pytest.raises(PasswordPolicyError):
            POLICY.check(password)


def test_length_counts_normalised_characters_without_composition_rules() -> None:
    assert POLICY.check("tiny lowercase words") == "tiny lowercase words"
    assert POLICY.check("é" * 8) == "é" * 8  # one character each, any script
    with pytest.raises(PasswordPolicyError):
        POLICY.check("seven77")
    assert POLICY.check("\ufb01ne tuned passphrase") == "fine tuned passphrase"  # ligature fi
    with pytest.raises(PasswordPolicyError):
        POLICY.check("ab@example.com", email="ab@example.com")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_policy_answers_the_normalised_password_or_a_policy_error(password: str) -> None:
    try:
        accepted = POLICY.check(password)
    except PasswordPolicyError:
        return
    assert accepted == unicodedata.normalize("NFKC", password)
    assert 8 <= len(accepted) <= 128
    assert accepted.casefold() not in common_passwords()


async def test_equivalent_unicode_forms_sign_in(api: Any) -> None:
    composed = "caf\u00e9 au lait tonight"
    decomposed = "cafe\u0301 au lait tonight"
    await api.register("unicode@example.com", composed)
    assert (await api.login("unicode@example.com", decomposed)).status_code == 200


async def test_hashes_use_argon2id_and_are_upgraded_on_login(
    make_client: Any, api_for: Any, migrated_database: str
) -> None:
    async def stored_hash() -> str:
        connection = await asyncpg.connect(migrated_database)
        try:
            value: str = await connection.fetchval(
                "SELECT password_hash FROM auth.accounts WHERE email = 'upgrade@example.com'"
            )
            return value
        finally:
            await connection.close()

    async with make_client() as client:
        await api_for(client).register("upgrade@example.com")
    original = await stored_hash()
    assert original.startswith("$argon2id$v=19$m=19456,t=2,p=1$")

    async with make_client(argon2_time_cost=3) as client:
        assert (await api_for(client).login("upgrade@example.com")).status_code == 200
    upgraded = await stored_hash()
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=3,p=1$")
    assert PasswordHasher().verify(upgraded, "correct horse battery staple")
    with pytest.raises(InvalidHashError):
        PasswordHasher().verify("not a hash", "x")
