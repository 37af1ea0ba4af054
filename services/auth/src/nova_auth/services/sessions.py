"""Sessions: refresh-token families, their rotation and their end.

Refresh tokens are opaque 256-bit random strings, stored as their SHA-256, grouped by session
(the family of tokens descending from one sign-in, the ``sid`` claim). Each use rotates the token
inside one transaction that locks its row (``SELECT … FOR UPDATE``), so of N concurrent uses
exactly one gets a successor. That transaction is a few explicit statements on the database
driver (the lock with the account read alongside, then the rotation's writes as one statement),
not an ORM unit of work: refresh is a hot path (ADR 0030). Presenting a spent token:

- within ``refresh_reuse_grace_seconds`` of its rotation, while its successor is still unused
  (a client retrying after a lost response, two tabs racing): **409 ``refresh_token_rotated``**,
  the family stays valid and the client should use the successor it already received;
- otherwise: token theft is assumed, the whole family is revoked (its access tokens too) and the
  answer is **401 ``refresh_token_reused``**.

Tokens also expire when idle (``refresh_idle_ttl_seconds`` since issue) and absolutely
(``refresh_absolute_ttl_seconds`` since sign-in, whatever the rotations).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from nova_auth.models import AccountModel, AccountStatus, RefreshTokenModel, SessionModel
from nova_auth.repositories import SessionRepository, TokenRotation
from nova_auth.services.operations import counted
from nova_auth.state import AuthState
from nova_kit.db import driver_transaction
from nova_kit.errors import ConflictError, UnauthorizedError
from nova_kit.tokens import AccessClaims

logger = logging.getLogger(__name__)

REFRESH_TOKEN_BYTES = 32
# Access tokens outlive their revocation record by nothing: the record is kept a little longer
# than the longest token lifetime plus the verifiers' clock leeway.
REVOCATION_MARGIN_SECONDS = 60


class InvalidRefreshTokenError(UnauthorizedError):
    code = "invalid_refresh_token"


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def account_id_of(subject: str) -> uuid.UUID:
    """The account id a token's subject (or session id) names, or 401 ``invalid_token``."""
    try:
        return uuid.UUID(subject)
    except ValueError:
        raise UnauthorizedError(
            "the token's subject is not an account", code="invalid_token"
        ) from None


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a successful register/login/refresh/password change hands the client."""

    account: AccountModel
    session_id: uuid.UUID
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


@dataclass(frozen=True, slots=True)
class MfaChallenge:
    """What a correct password earns an account with a second factor: a short-lived, single-use
    token to present with a code (``nova_auth.services.two_factor``)."""

    account: AccountModel
    token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class NewSession:
    session: SessionModel
    refresh_token: str
    refresh_expires_at: datetime


class SessionService:
    """Opens sessions for the sign-in operations, rotates refresh tokens, ends sessions and
    records the revocations that stop their access tokens."""

    def __init__(self, state: AuthState) -> None:
        self.state = state
        self.settings = state.settings

    @counted("refresh")
    async def refresh(self, refresh_token: str, *, client_address: str | None = None) -> SignIn:
        token_hash = hash_refresh_token(refresh_token)
        now = datetime.now(UTC)
        # A few known statements on the driver connection, in one transaction (ADR 0030).
        async with driver_transaction(self._engine()) as statements:
            families = TokenRotation(statements)
            found = await families.lock_token(token_hash)
            if found is None:
                raise InvalidRefreshTokenError("unknown refresh token")
            token, family, account = found
            if family.revoked_at is not None:
                raise InvalidRefreshTokenError("this session has ended; sign in again")
            failure: InvalidRefreshTokenError | None = None
            if token.used_at is not None:
                if await self._within_grace(families, token, now):
                    raise ConflictError(
                        "this refresh token was just rotated; use the token that replaced it",
                        code="refresh_token_rotated",
                    )
                self._revoke(family, now, "reuse")
                await families.save_revocation(family)
                failure = InvalidRefreshTokenError(
                    "this refresh token was already used; the session has been ended",
                    code="refresh_token_reused",
                )
            elif token.expires_at <= now or family.expires_at <= now:
                raise InvalidRefreshTokenError(
                    "the refresh token has expired; sign in again", code="refresh_token_expired"
                )
            elif account.status != AccountStatus.ACTIVE:
                self._revoke(family, now, "account")
                await families.save_revocation(family)
                failure = InvalidRefreshTokenError("this session has ended; sign in again")
            else:
                opened = await self._rotate(families, family, token, now)
        if failure is not None:
            # committed above: the family is revoked; its access tokens stop working too
            logger.warning(
                "refresh refused, session revoked",
                extra={"session_id": str(family.id), "reason": family.revoked_reason},
            )
            await self.revoke_session_tokens([family.id])
            raise failure
        return await self.sign_in(account, opened, now)

    def _engine(self) -> AsyncEngine:
        if self.state.engine is None:
            raise RuntimeError("nova-auth was built without a database engine")
        return self.state.engine

    async def _within_grace(
        self, families: TokenRotation, token: RefreshTokenModel, now: datetime
    ) -> bool:
        grace = timedelta(seconds=self.settings.refresh_reuse_grace_seconds)
        if token.used_at is None or token.successor_id is None or now - token.used_at > grace:
            return False
        return await families.token_used_at(token.successor_id) is None

    def _new_token(self, family: SessionModel, now: datetime) -> tuple[str, RefreshTokenModel]:
        raw = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        expires_at = min(
            now + timedelta(seconds=self.settings.refresh_idle_ttl_seconds), family.expires_at
        )
        token = RefreshTokenModel(
            id=uuid.uuid4(),
            session_id=family.id,
            token_hash=hash_refresh_token(raw),
            created_at=now,
            expires_at=expires_at,
        )
        return raw, token

    async def _rotate(
        self,
        families: TokenRotation,
        family: SessionModel,
        token: RefreshTokenModel,
        now: datetime,
    ) -> NewSession:
        raw, successor = self._new_token(family, now)
        await families.rotate(token, successor, now)
        family.last_used_at = now
        return NewSession(family, raw, successor.expires_at)

    async def open(
        self,
        families: SessionRepository,
        account: AccountModel,
        now: datetime,
        client_address: str | None,
    ) -> NewSession:
        """A new session and its first refresh token, in the caller's unit of work."""
        opened, token = self.new_session(account.id, now, client_address)
        await families.add_family(opened.session)
        await families.add_token(token)
        return opened

    def new_session(
        self, account_id: uuid.UUID, now: datetime, client_address: str | None
    ) -> tuple[NewSession, RefreshTokenModel]:
        """A new session and its first refresh token, not stored yet."""
        family = SessionModel(
            id=uuid.uuid4(),
            account_id=account_id,
            created_at=now,
            last_used_at=now,
            expires_at=now + timedelta(seconds=self.settings.refresh_absolute_ttl_seconds),
            client_address=(client_address or None) and client_address[:64],
        )
        raw, token = self._new_token(family, now)
        return NewSession(family, raw, token.expires_at), token

    async def sign_in(self, account: AccountModel, opened: NewSession, now: datetime) -> SignIn:
        """The access token for a session just opened or rotated, with its refresh token."""
        issued = self.state.issuer.mint(
            str(account.id),
            roles=account.roles,
            kind="user",
            lifetime=self.settings.access_token_ttl_seconds,
            session_id=str(opened.session.id),
            not_before=await self._valid_after(account.id),
        )
        return SignIn(
            account=account,
            session_id=opened.session.id,
            access_token=issued.token,
            expires_in=issued.expires_in,
            refresh_token=opened.refresh_token,
            refresh_expires_in=max(0, int((opened.refresh_expires_at - now).total_seconds())),
        )

    async def _valid_after(self, account_id: uuid.UUID) -> int | None:
        """The user's current revocation cut-off, so new tokens are minted at or after it: from
        the revocations this process follows in memory, or Redis while it does not."""
        try:
            return await self.state.revocations.valid_after(str(account_id))
        except (RedisError, OSError):
            return None

    # --- sign-out and revocation -------------------------------------------------------------

    @counted("logout")
    async def logout(self, claims: AccessClaims | None, refresh_token: str | None = None) -> None:
        """End one session: the caller's (by its access token) or the refresh token's."""
        now = datetime.now(UTC)
        async with self.state.sessions() as session, session.begin():
            families = SessionRepository(session)
            family: SessionModel | None = None
            if claims is not None and claims.session_id and not claims.is_service:
                family = await families.lock_family(account_id_of(claims.session_id))
                if family is not None and str(family.account_id) != claims.subject:
                    family = None
            elif refresh_token:
                token = await families.token_by_hash(hash_refresh_token(refresh_token))
                if token is not None:
                    family = await families.lock_family(token.session_id)
            else:
                raise UnauthorizedError(
                    "send the access token or the refresh token of the session to end",
                    code="unauthenticated",
                )
            if family is None:
                if claims is None:
                    raise InvalidRefreshTokenError("unknown refresh token")
                return
            self._revoke(family, now, "logout")
        await self.revoke_session_tokens([family.id])

    async def logout_all(self, account_id: uuid.UUID, *, reason: str = "logout_all") -> int:
        """End every session of the account and invalidate its access tokens."""
        async with self.state.sessions() as session, session.begin():
            count = await SessionRepository(session).revoke_for_accounts([account_id], reason)
        await self.revoke_user_tokens([account_id])
        return count

    @staticmethod
    def _revoke(family: SessionModel, now: datetime, reason: str) -> None:
        if family.revoked_at is None:
            family.revoked_at = now
            family.revoked_reason = reason

    def _revocation_ttl(self) -> int:
        longest = max(
            self.settings.access_token_ttl_seconds, self.settings.service_token_ttl_seconds
        )
        return longest + REVOCATION_MARGIN_SECONDS

    async def revoke_session_tokens(self, session_ids: Iterable[uuid.UUID]) -> None:
        try:
            for session_id in session_ids:
                await self.state.revocations.revoke_session(str(session_id), self._revocation_ttl())
        except (RedisError, OSError):
            logger.exception("could not record a session revocation; access tokens live on")

    async def revoke_user_tokens(
        self, account_ids: Sequence[uuid.UUID], at: float | None = None
    ) -> None:
        try:
            for account_id in account_ids:
                await self.state.revocations.revoke_user_tokens(
                    str(account_id), self._revocation_ttl(), at=at
                )
        except (RedisError, OSError):
            logger.exception("could not record a user revocation; access tokens live on")
