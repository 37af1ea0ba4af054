"""Password policy and Argon2id hashing in a bounded thread pool.

Policy (OWASP ASVS V6): 8 to 128 characters after Unicode NFKC normalisation, no composition rules,
refused if it is on the bundled list of common passwords.

Hashing costs tens of milliseconds of CPU and memory, so it never runs on the event loop: a
dedicated thread pool (``hash_workers`` threads) does it, and a semaphore caps how many hashes may
be queued or running (``hash_max_pending``). A caller that cannot get a slot within
``hash_queue_timeout_seconds`` gets 503 instead of piling up memory under a login storm.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from nova_kit.errors import AppError, ServiceUnavailableError

if TYPE_CHECKING:
    from nova_auth.config import AuthSettings


class PasswordPolicyError(AppError):
    status_code = 422
    code = "weak_password"


def normalise_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("nova_auth").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line and not line.startswith("#")
    )


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    min_length: int = 8
    max_length: int = 128

    def check(self, password: str, *, email: str | None = None) -> str:
        """The normalised password, or :class:`PasswordPolicyError` saying what is wrong."""
        normalised = normalise_password(password)
        length = len(normalised)
        if length < self.min_length:
            raise PasswordPolicyError(
                f"the password must have at least {self.min_length} characters"
            )
        if length > self.max_length:
            raise PasswordPolicyError(
                f"the password must have at most {self.max_length} characters"
            )
        folded = normalised.casefold()
        if folded in common_passwords():
            raise PasswordPolicyError("this password is too common; choose another one")
        if email is not None and folded in {email.casefold(), email.split("@", 1)[0].casefold()}:
            raise PasswordPolicyError("the password must not be the e-mail address")
        return normalised


class PasswordHashing:
    """Argon2id hashing and verification off the event loop, with bounded concurrency."""

    def __init__(
        self,
        *,
        memory_kib: int,
        time_cost: int,
        parallelism: int,
        workers: int,
        max_pending: int,
        queue_timeout_seconds: float,
    ) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._slots = asyncio.Semaphore(max_pending)
        self._queue_timeout = queue_timeout_seconds
        self._dummy_hash: str | None = None
        self.hash_count = 0
        self.verify_count = 0

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> PasswordHashing:
        return cls(
            memory_kib=settings.argon2_memory_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
            workers=settings.hash_workers,
            max_pending=settings.hash_max_pending,
            queue_timeout_seconds=settings.hash_queue_timeout_seconds,
        )

    async def _run[T](self, function: functools.partial[T]) -> T:
        try:
            async with asyncio.timeout(self._queue_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise ServiceUnavailableError(
                "too many sign-ins in progress; retry shortly",
                code="busy",
                headers={"Retry-After": "1"},
            ) from None
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function)
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        self.hash_count += 1
        return await self._run(functools.partial(self.hasher.hash, password))

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verify_count += 1
        return await self._run(functools.partial(self._verify, password_hash, password))

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def prepare(self) -> None:
        """Compute the dummy hash once, at start-up, so no sign-in pays for it."""
        if self._dummy_hash is None:
            self._dummy_hash = await self._run(
                functools.partial(self.hasher.hash, secrets.token_urlsafe(16))
            )

    async def verify_dummy(self, password: str) -> None:
        """Spend the same time as a real verification (for unknown e-mail addresses)."""
        await self.prepare()
        assert self._dummy_hash is not None
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
