"""Two-factor sign-in with TOTP (RFC 6238, ``pyotp``) and single-use recovery codes (ADR 0016).

- **Enrolment.** With the current password, the account gets a *pending* secret, answered once
  as an ``otpauth://`` URI; a first valid code confirms it, turns two-factor sign-in on and
  answers ten recovery codes (stored as their SHA-256, compared in constant time).
- **Sign-in.** A correct password on such an account answers an MFA challenge instead of tokens:
  an opaque 256-bit token, kept in Redis as its SHA-256 for ``mfa_challenge_ttl_seconds``, bound
  to the account. ``login/two-factor`` with the token and a code (or a recovery code) opens the
  session and consumes the token; a wrong code leaves it usable until it expires.
- **Replay.** The time step of the last accepted code is stored per account; a code of that step
  or an earlier one is refused, so each code works once (codes one step either side of now are
  accepted for clock drift).
- **Limits.** Every code check is charged to the account and to the client (the kit limiter);
  a wrong code is always 401 ``invalid_code``, an unknown, expired or spent challenge 401
  ``mfa_token_invalid``.
- **At rest.** The secret is sealed with AES-GCM (:mod:`nova_auth.secretbox`) under
  ``NOVA_AUTH_TWO_FACTOR_KEY``, bound to the account id, with the key id kept alongside.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pyotp
from prometheus_client import Counter
from redis.exceptions import RedisError

from nova_auth.config import AuthSettings
from nova_auth.events import record_event
from nova_auth.mfa_repository import TwoFactorRepository
from nova_auth.models import AccountModel, TwoFactorModel
from nova_auth.repositories import AccountRepository
from nova_auth.secretbox import DEV_KEY, SecretBox, SecretBoxError, parse_keys
from nova_auth.security_events import RequestContext, record_security_event
from nova_auth.services.credentials import CredentialService
from nova_auth.services.operations import check_input_size, counted
from nova_auth.services.sessions import MfaChallenge, SignIn
from nova_auth.state import AuthState
from nova_kit.errors import (
    AppError,
    ConflictError,
    NotFoundError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from nova_kit.ratelimit import Limit
from nova_kit.tokens import AccessClaims

logger = logging.getLogger(__name__)

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
CHALLENGE_PREFIX = "nova:auth:mfa:"
_CODE = re.compile(r"^[0-9]{6}$")
clock = time.time
"""The time codes are checked against (tests move it)."""
FirstStep = Literal["password", "provider"]
"""What earned a challenge: a correct password, or a provider's sign-in (ADR 0017)."""

TWO_FACTOR_CHECKS = Counter(
    "nova_auth_two_factor_checks_total",
    "Second-factor checks by kind (totp, recovery) and outcome (ok, invalid)",
    ["kind", "outcome"],
)


class InvalidCodeError(UnauthorizedError):
    code = "invalid_code"

    def __init__(self) -> None:
        super().__init__("the code is not valid")


class MfaTokenInvalidError(UnauthorizedError):
    code = "mfa_token_invalid"

    def __init__(self) -> None:
        super().__init__("this sign-in challenge is unknown, expired or used; sign in again")


class MfaUnavailableError(ServiceUnavailableError):
    code = "mfa_unavailable"

    def __init__(self) -> None:
        super().__init__("two-factor sign-in is unavailable; retry shortly")


def require_one(first: str | None, second: str | None, message: str) -> None:
    """422 unless exactly one of the two alternatives was sent."""
    if (first is None) == (second is None):
        raise AppError(message, code="validation_error", status_code=422)


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    otpauth_uri: str


@dataclass(frozen=True, slots=True)
class TwoFactorStatus:
    enabled: bool
    pending: bool
    enabled_at: datetime | None
    recovery_codes_left: int


@functools.lru_cache(maxsize=4)
def _box(current: str | None, old: str | None) -> SecretBox:
    keys = parse_keys(current) if current else [DEV_KEY]
    return SecretBox([*keys, *(parse_keys(old) if old else [])])


def secret_box(settings: AuthSettings) -> SecretBox:
    """The box that seals secrets under the configured key (the development key in dev/test;
    ``check_production`` keeps it out of anything else) and opens them under any older one."""
    current = settings.two_factor_key.get_secret_value() if settings.two_factor_key else None
    old = settings.two_factor_old_keys.get_secret_value() if settings.two_factor_old_keys else None
    return _box(current, old)


def hash_secret_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_recovery_code(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch.isalnum())


def new_recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits, shown as xxxxx-xxxxx
    return f"{raw[:5]}-{raw[5:]}"


def matching_step(secret: str, code: str, last_step: int | None, now: float) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side), unless it is not a
    code of this secret or its step is not after the last accepted one (a replay)."""
    code = code.replace(" ", "")
    if not _CODE.match(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    found: int | None = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


class TwoFactorService:
    def __init__(self, state: AuthState) -> None:
        self.state = state
        self.settings = state.settings
        self.box = secret_box(state.settings)
        self.credentials = CredentialService(state)

    # --- the signed-in user's second factor --------------------------------------------------

    async def status(self, claims: AccessClaims) -> TwoFactorStatus:
        account = await self.credentials.current_account(claims)
        async with self.state.sessions() as session:
            store = TwoFactorRepository(session)
            row = await store.get(account.id)
            left = await store.count_unused_recovery_codes(account.id) if row else 0
        return TwoFactorStatus(
            enabled=row is not None and row.enabled_at is not None,
            pending=row is not None and row.enabled_at is None,
            enabled_at=row.enabled_at if row else None,
            recovery_codes_left=left,
        )

    async def enabled_for(self, account_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        async with self.state.sessions() as session:
            return await TwoFactorRepository(session).enabled_among(account_ids)

    @counted("two_factor_enrol")
    async def enrol(self, claims: AccessClaims, password: str) -> Enrolment:
        """A new pending secret (replacing an unconfirmed one), after the password."""
        check_input_size(password)
        account = await self.credentials.current_account(claims)
        await self.credentials.check_password(account, password, "the password is wrong")
        secret = pyotp.random_base32()
        async with self.state.sessions() as session, session.begin():
            store = TwoFactorRepository(session)
            existing = await store.get(account.id, for_update=True)
            if existing is not None and existing.enabled_at is not None:
                raise ConflictError(
                    "two-factor sign-in is already on; disable it first",
                    code="two_factor_enabled",
                )
            await store.put_pending(
                TwoFactorModel(
                    account_id=account.id,
                    secret=self.box.seal(secret.encode(), account.id.bytes),
                    key_id=self.box.current,
                    created_at=datetime.now(UTC),
                )
            )
        uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
            name=account.email, issuer_name=self.settings.two_factor_issuer
        )
        return Enrolment(secret=secret, otpauth_uri=uri)

    @counted("two_factor_confirm")
    async def confirm(
        self, claims: AccessClaims, code: str, *, client_address: str | None = None
    ) -> list[str]:
        """Turn two-factor sign-in on with a first code; the recovery codes, shown once."""
        account = await self.credentials.current_account(claims)
        await self._charge(account.id, client_address)
        codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        now = datetime.now(UTC)
        async with self.state.sessions() as session, session.begin():
            store = TwoFactorRepository(session)
            row = await store.get(account.id, for_update=True)
            if row is None or row.enabled_at is not None:
                raise ConflictError(
                    "there is no pending two-factor enrolment to confirm",
                    code="two_factor_not_pending",
                )
            step = self._check_totp(row, code)
            row.last_step = step
            row.enabled_at = now
            await store.replace_recovery_codes(
                account.id, [hash_secret_token(normalise_recovery_code(c)) for c in codes], now
            )
            event = record_event(session, "user.two_factor_enabled", account.id)
            record_security_event(
                session, account.id, "two_factor_enabled", RequestContext(client_address), at=now
            )
        await self.state.outbox.publish_after_commit([event])
        return codes

    @counted("two_factor_disable")
    async def disable(
        self,
        claims: AccessClaims,
        *,
        code: str | None = None,
        password: str | None = None,
        client_address: str | None = None,
    ) -> None:
        """Turn two-factor sign-in off, with a current code or the password."""
        require_one(code, password, "send either a current code or the password")
        check_input_size(password or "")
        account = await self.credentials.current_account(claims)
        if password is not None:
            await self.credentials.check_password(account, password, "the password is wrong")
        else:
            await self._charge(account.id, client_address)
        async with self.state.sessions() as session, session.begin():
            store = TwoFactorRepository(session)
            row = await store.get(account.id, for_update=True)
            if row is None or row.enabled_at is None:
                raise ConflictError("two-factor sign-in is not on", code="two_factor_not_enabled")
            if code is not None:
                self._check_totp(row, code)
            await store.remove(account.id)
            event = record_event(session, "user.two_factor_disabled", account.id, {"by": "user"})
            record_security_event(
                session, account.id, "two_factor_disabled", RequestContext(client_address)
            )
        await self.state.outbox.publish_after_commit([event])

    async def reset(self, account_id: uuid.UUID, *, by: str | None = None) -> bool:
        """An administrator's (``by``, their subject) reset for a lost device: the second factor
        is gone, nothing else is revoked; whether there was one to remove."""
        async with self.state.sessions() as session, session.begin():
            account = await AccountRepository(session).get(account_id)
            if account is None:
                raise NotFoundError("no such account", code="account_not_found")
            if not await TwoFactorRepository(session).remove(account_id):
                return False
            event = record_event(session, "user.two_factor_disabled", account_id, {"by": "admin"})
            record_security_event(session, account_id, "two_factor_reset_by_admin", actor=by)
        await self.state.outbox.publish_after_commit([event])
        return True

    # --- the two-step sign-in -----------------------------------------------------------------

    async def challenge(
        self, account: AccountModel, values: dict[str, Any], *, enabled: bool | None = None
    ) -> MfaChallenge | None:
        """A challenge when the account has a second factor (after a correct password), else
        None; ``values`` (a rehashed password) are stored either way by the caller's path.
        ``enabled``: whether the account had a confirmed second factor when the caller read it
        (sign-in reads it with the account); None: read it here."""
        # Most accounts have no second factor: the caller's read, or one read outside any
        # transaction, says so.
        if not values and (
            enabled is False
            or (
                enabled is None
                and self.state.engine is not None
                and not await TwoFactorRepository.enabled(self.state.engine, account.id)
            )
        ):
            return None
        async with self.state.sessions() as session, session.begin():
            row = await TwoFactorRepository(session).get(account.id)
            if row is None or row.enabled_at is None:
                return None
            if values:
                await AccountRepository(session).update(account.id, **values)
        return await self.issue_challenge(account)

    async def issue_challenge(
        self, account: AccountModel, *, first_step: FirstStep = "password"
    ) -> MfaChallenge:
        """A new challenge for an account whose first step (the password, or a provider's
        sign-in, ADR 0017) succeeded; the second step records which it was."""
        token = secrets.token_urlsafe(32)
        ttl = self.settings.mfa_challenge_ttl_seconds
        value = str(account.id) if first_step == "password" else f"{account.id} {first_step}"
        try:
            await self.state.redis.set(CHALLENGE_PREFIX + hash_secret_token(token), value, ex=ttl)
        except RedisError as error:
            raise MfaUnavailableError from error
        return MfaChallenge(account=account, token=token, expires_in=ttl)

    @counted("login_two_factor")
    async def complete(
        self,
        mfa_token: str,
        *,
        code: str | None = None,
        recovery_code: str | None = None,
        client_address: str | None = None,
    ) -> SignIn:
        """The second step: the challenge and a code (or a recovery code) open the session."""
        require_one(code, recovery_code, "send either a code or a recovery code")
        key = CHALLENGE_PREFIX + hash_secret_token(mfa_token)
        try:
            raw = await self.state.redis.get(key)
        except RedisError as error:
            raise MfaUnavailableError from error
        if raw is None:
            raise MfaTokenInvalidError
        value = raw.decode() if isinstance(raw, bytes) else str(raw)
        account_text, _, first_step = value.partition(" ")  # "<account id>[ provider]"
        account_id = uuid.UUID(account_text)
        decision = await self._charge(account_id, client_address)
        now = datetime.now(UTC)
        async with self.state.sessions() as session, session.begin():
            store = TwoFactorRepository(session)
            row = await store.get(account_id, for_update=True)
            if row is None or row.enabled_at is None:
                raise MfaTokenInvalidError  # reset meanwhile: sign in again
            if code is not None:
                row.last_step = self._check_totp(row, code)
            else:
                await self._use_recovery_code(store, account_id, recovery_code or "", now)
            # Consumed while the row is locked: of two racing requests, one wins.
            if not await self.state.redis.delete(key):
                raise MfaTokenInvalidError
        await self.state.limiter.refund(decision, "two_factor:account")
        kind = "sign_in_with_provider" if first_step == "provider" else "sign_in"
        return await self.credentials.open_sign_in(account_id, client_address, kind=kind)

    # --- checks -------------------------------------------------------------------------------

    async def _charge(self, account_id: uuid.UUID, client_address: str | None) -> tuple[str, ...]:
        decision = await self.state.limiter.hit(
            [
                Limit(
                    "two_factor:account",
                    str(account_id),
                    self.settings.two_factor_limit_per_account,
                ),
                Limit(
                    "two_factor:ip",
                    client_address or "-",
                    self.settings.two_factor_limit_per_client,
                ),
            ]
        )
        return decision.charged

    def _check_totp(self, row: TwoFactorModel, code: str) -> int:
        try:
            secret = self.box.open(row.secret, row.account_id.bytes).decode()
        except SecretBoxError as error:
            # Sealed under a key no longer configured (docs/runbooks.md, key rotation).
            logger.error(
                "a two-factor secret does not open with the configured keys",
                extra={"account_id": str(row.account_id), "key_id": row.key_id},
            )
            raise ServiceUnavailableError(
                "two-factor sign-in is unavailable for this account; contact support",
                code="two_factor_key_unavailable",
            ) from error
        step = matching_step(secret, code, row.last_step, clock())
        if step is None:
            TWO_FACTOR_CHECKS.labels("totp", "invalid").inc()
            raise InvalidCodeError
        TWO_FACTOR_CHECKS.labels("totp", "ok").inc()
        if self.box.needs_reseal(row.secret):  # sealed under an old key: re-seal on use
            row.secret = self.box.seal(secret.encode(), row.account_id.bytes)
            row.key_id = self.box.current
        return step

    async def _use_recovery_code(
        self, store: TwoFactorRepository, account_id: uuid.UUID, given: str, now: datetime
    ) -> None:
        wanted = hash_secret_token(normalise_recovery_code(given))
        match = None
        for candidate in await store.unused_recovery_codes(account_id):
            if hmac.compare_digest(candidate.code_hash, wanted):
                match = candidate
        if match is None or not await store.use_recovery_code(match.id, now):
            TWO_FACTOR_CHECKS.labels("recovery", "invalid").inc()
            raise InvalidCodeError
        TWO_FACTOR_CHECKS.labels("recovery", "ok").inc()
