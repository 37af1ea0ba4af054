"""Business rules of nova-auth: accounts, sign-in, sessions, refresh rotation, service tokens.

REST controllers and GraphQL resolvers are thin skins over :class:`AccountService`.

Refresh tokens are opaque 256-bit random strings, stored as their SHA-256, grouped by session
(the family of tokens descending from one sign-in, the ``sid`` claim). Each use rotates the token
inside one transaction that locks its row (``SELECT … FOR UPDATE``), so of N concurrent uses
exactly one gets a successor. Presenting a spent token:

- within ``refresh_reuse_grace_seconds`` of its rotation, while its successor is still unused
  (a client retrying after a lost response, two tabs racing): **409 ``refresh_token_rotated``**,
  the family stays valid and the client should use the successor it already received;
- otherwise: token theft is assumed, the whole family is revoked (its access tokens too) and the
  answer is **401 ``refresh_token_reused``**.

Tokens also expire when idle (``refresh_idle_ttl_seconds`` since issue) and absolutely
(``refresh_absolute_ttl_seconds`` since sign-in, whatever the rotations).

Sign-in failures for an unknown e-mail, a wrong password and a disabled account are one and the
same answer (401 ``invalid_credentials``), and all three run one Argon2 verification (against a
dummy hash for unknown e-mails) so timing does not tell them apart either.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from prometheus_client import Counter
from redis.exceptions import RedisError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nova_auth.events import record_event
from nova_auth.keys import IssuedToken
from nova_auth.models import (
    AccountModel,
    AccountStatus,
    OutboxEventModel,
    RefreshTokenModel,
    Role,
    SessionModel,
)
from nova_auth.passwords import normalise_password
from nova_auth.state import AuthState
from nova_kit.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from nova_kit.ratelimit import Limit
from nova_kit.tokens import USER_VALID_AFTER_KEY, AccessClaims

logger = logging.getLogger(__name__)

OPERATIONS = Counter(
    "nova_auth_operations_total",
    "Credential operations by outcome (ok, or the error code answered)",
    ["operation", "outcome"],
)
LOGIN_SLOWDOWNS = Counter(
    "nova_auth_login_slowdowns_total",
    "Sign-in attempts delayed because their account had too many recent failures",
)


def counted[**P, R](
    operation: str,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Count each call of an async service method by outcome in ``nova_auth_operations_total``."""

    def decorate(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(method)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                result = await method(*args, **kwargs)
            except AppError as error:
                OPERATIONS.labels(operation, error.code).inc()
                raise
            OPERATIONS.labels(operation, "ok").inc()
            return result

        return wrapper

    return decorate


# No control characters: PostgreSQL text cannot hold NUL, and no mail system accepts the rest.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
MAX_EMAIL_LENGTH = 320
# No acceptable password is longer (128 characters after NFKC); longer input is refused
# before it reaches the hasher, whichever API it came through.
MAX_PASSWORD_INPUT = 1024
REFRESH_TOKEN_BYTES = 32
# Access tokens outlive their revocation record by nothing: the record is kept a little longer
# than the longest token lifetime plus the verifiers' clock leeway.
REVOCATION_MARGIN_SECONDS = 60


class InvalidCredentialsError(UnauthorizedError):
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("invalid e-mail or password")


class InvalidRefreshTokenError(UnauthorizedError):
    code = "invalid_refresh_token"


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_input_size(*passwords: str) -> None:
    if any(len(password) > MAX_PASSWORD_INPUT for password in passwords):
        raise AppError(
            f"passwords are at most {MAX_PASSWORD_INPUT} characters",
            code="validation_error",
            status_code=422,
        )


def check_display_name(display_name: str | None) -> None:
    """422 for a display name with control characters (the users service refuses them too, and
    PostgreSQL cannot store NUL in the account event)."""
    if display_name is not None and any(unicodedata.category(c) == "Cc" for c in display_name):
        raise AppError(
            "display_name must not contain control characters",
            code="validation_error",
            status_code=422,
            details=[{"field": "display_name", "message": "must not contain control characters"}],
        )


def normalise_email(email: str) -> str:
    """The stored form of an e-mail address, or 422 ``invalid_email``."""
    candidate = email.strip().lower()
    if len(candidate) > MAX_EMAIL_LENGTH or not _EMAIL.match(candidate):
        raise AppError("not a valid e-mail address", code="invalid_email", status_code=422)
    return candidate


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
class _NewSession:
    session: SessionModel
    refresh_token: str
    refresh_expires_at: datetime


class AccountService:
    def __init__(self, state: AuthState) -> None:
        self.settings = state.settings
        self.sessions = state.sessions
        self.redis = state.redis
        self.hashing = state.hashing
        self.issuer = state.issuer
        self.limiter = state.limiter
        self.outbox = state.outbox
        self.revocations = state.revocations
        self.policy = state.policy
        self.service_clients = state.service_clients
        self._dummy_client_secret = state.dummy_client_secret

    # --- registration and sign-in ------------------------------------------------------------

    @counted("register")
    async def register(
        self,
        email: str,
        password: str,
        *,
        display_name: str | None = None,
        client_address: str | None = None,
    ) -> None:
        """Accept a registration without telling whether the address already has an account.

        Both branches check the input, spend a rate-limit unit, hash the password and record an
        event in the outbox, so neither the answer nor its timing differs: a new address gets
        its account (``user.registered``: profile and welcome e-mail), an existing one gets an
        e-mail saying it already has an account (``user.registration_attempted``). Either way
        the address's owner learns what happened, and only from their inbox.
        """
        check_input_size(password)
        check_display_name(display_name)
        address = normalise_email(email)
        normalised = self.policy.check(password, email=address)
        await self.limiter.hit(
            [Limit("register:ip", client_address or "-", self.settings.register_limit_per_client)]
        )
        password_hash = await self.hashing.hash(normalised)
        name = (display_name or "").strip() or address.split("@", 1)[0]
        try:
            async with self.sessions() as session, session.begin():
                account = AccountModel(
                    id=uuid.uuid4(),
                    email=address,
                    password_hash=password_hash,
                    status=AccountStatus.ACTIVE,
                    roles=[Role.USER],
                )
                session.add(account)
                await session.flush()
                event = record_event(
                    session,
                    "user.registered",
                    account.id,
                    {"email": address, "display_name": name},
                )
        except IntegrityError as error:
            if "uq_accounts_email" not in str(error.orig):
                raise
            async with self.sessions() as session, session.begin():
                existing = await session.scalar(
                    select(AccountModel.id).where(AccountModel.email == address)
                )
                if existing is None:  # deleted meanwhile: nothing to tell anyone
                    return
                event = record_event(session, "user.registration_attempted", existing)
        await self.outbox.publish_after_commit([event])

    @counted("login")
    async def login(
        self, email: str, password: str, *, client_address: str | None = None
    ) -> SignIn:
        check_input_size(password)
        normalised = normalise_password(password)
        try:
            address = normalise_email(email)
        except AppError:
            address = None  # stored addresses are all normalised: no account has this one
        limited = address or email.strip().lower()[:MAX_EMAIL_LENGTH]
        client = client_address or "-"
        # Hard limits for one client, per account and in all; a soft one per account: a
        # growing delay, never a lock one client can put on someone else's account.
        decision = await self.limiter.hit(
            [
                Limit(
                    "login:account-client",
                    f"{limited} {client}",
                    self.settings.login_limit_per_account_client,
                ),
                Limit("login:ip", client, self.settings.login_limit_per_client),
            ]
        )
        failures, account_counter = await self.limiter.count("login:account", limited)
        await self._slow_down(failures)
        charged = (*decision.charged, *account_counter)
        account = None
        if address is not None:
            async with self.sessions() as session:
                account = await session.scalar(
                    select(AccountModel).where(AccountModel.email == address)
                )
        if account is None:
            await self.hashing.verify_dummy(normalised)
            raise InvalidCredentialsError
        valid = await self.hashing.verify(account.password_hash, normalised)
        if not valid or account.status != AccountStatus.ACTIVE:
            raise InvalidCredentialsError
        await self.limiter.refund(charged, "login:account")
        await self.limiter.refund(charged, "login:account-client")
        new_hash = (
            await self.hashing.hash(normalised)
            if self.hashing.needs_rehash(account.password_hash)
            else None
        )
        now = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            values: dict[str, object] = {"last_login_at": now}
            if new_hash is not None:
                values["password_hash"] = new_hash
            stored = await session.scalar(
                update(AccountModel)
                .where(AccountModel.id == account.id, AccountModel.status == AccountStatus.ACTIVE)
                .values(**values)
                .returning(AccountModel)
            )
            if stored is None:  # disabled or deleted meanwhile
                raise InvalidCredentialsError
            opened = await self._open_session(session, stored, now, client_address)
        return await self._sign_in(stored, opened, now)

    async def _slow_down(self, attempts: int) -> None:
        """Past ``login_slowdown_after`` failed sign-ins to one account in the window (from any
        client), every attempt waits longer — doubling, up to ``login_slowdown_max_seconds``:
        guessing gets slow, the owner with the right password still gets in."""
        over = attempts - self.settings.login_slowdown_after
        if over <= 0:
            return
        delay = min(self.settings.login_slowdown_max_seconds, 0.25 * 2 ** min(over - 1, 16))
        LOGIN_SLOWDOWNS.inc()
        await asyncio.sleep(delay)

    @counted("refresh")
    async def refresh(self, refresh_token: str, *, client_address: str | None = None) -> SignIn:
        token_hash = hash_refresh_token(refresh_token)
        now = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            # One round trip: the token and its family locked, the account read alongside.
            found = (
                await session.execute(
                    select(RefreshTokenModel, SessionModel, AccountModel)
                    .join(SessionModel, SessionModel.id == RefreshTokenModel.session_id)
                    .join(AccountModel, AccountModel.id == SessionModel.account_id)
                    .where(RefreshTokenModel.token_hash == token_hash)
                    .with_for_update(of=[RefreshTokenModel, SessionModel])
                )
            ).first()
            if found is None:
                raise InvalidRefreshTokenError("unknown refresh token")
            token, family, account = found._tuple()
            if family.revoked_at is not None:
                raise InvalidRefreshTokenError("this session has ended; sign in again")
            failure: InvalidRefreshTokenError | None = None
            if token.used_at is not None:
                if await self._within_grace(session, token, now):
                    raise ConflictError(
                        "this refresh token was just rotated; use the token that replaced it",
                        code="refresh_token_rotated",
                    )
                self._revoke(family, now, "reuse")
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
                failure = InvalidRefreshTokenError("this session has ended; sign in again")
            else:
                opened = self._rotate(session, family, token, now)
        if failure is not None:
            # committed above: the family is revoked; its access tokens stop working too
            logger.warning(
                "refresh refused, session revoked",
                extra={"session_id": str(family.id), "reason": family.revoked_reason},
            )
            await self._revoke_session_tokens([family.id])
            raise failure
        return await self._sign_in(account, opened, now)

    async def _within_grace(
        self, session: AsyncSession, token: RefreshTokenModel, now: datetime
    ) -> bool:
        grace = timedelta(seconds=self.settings.refresh_reuse_grace_seconds)
        if token.used_at is None or token.successor_id is None or now - token.used_at > grace:
            return False
        successor_used = await session.scalar(
            select(RefreshTokenModel.used_at).where(RefreshTokenModel.id == token.successor_id)
        )
        return successor_used is None

    def _rotate(
        self,
        session: AsyncSession,
        family: SessionModel,
        token: RefreshTokenModel,
        now: datetime,
    ) -> _NewSession:
        raw = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        expires_at = min(
            now + timedelta(seconds=self.settings.refresh_idle_ttl_seconds), family.expires_at
        )
        successor = RefreshTokenModel(
            id=uuid.uuid4(),
            session_id=family.id,
            token_hash=hash_refresh_token(raw),
            created_at=now,
            expires_at=expires_at,
        )
        session.add(successor)
        token.used_at = now
        token.successor_id = successor.id
        family.last_used_at = now
        return _NewSession(family, raw, expires_at)

    async def _open_session(
        self,
        session: AsyncSession,
        account: AccountModel,
        now: datetime,
        client_address: str | None,
    ) -> _NewSession:
        family = SessionModel(
            id=uuid.uuid4(),
            account_id=account.id,
            created_at=now,
            last_used_at=now,
            expires_at=now + timedelta(seconds=self.settings.refresh_absolute_ttl_seconds),
            client_address=(client_address or None) and client_address[:64],
        )
        session.add(family)
        await session.flush()  # the family row first: its tokens reference it
        raw = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        expires_at = min(
            now + timedelta(seconds=self.settings.refresh_idle_ttl_seconds), family.expires_at
        )
        session.add(
            RefreshTokenModel(
                id=uuid.uuid4(),
                session_id=family.id,
                token_hash=hash_refresh_token(raw),
                created_at=now,
                expires_at=expires_at,
            )
        )
        await session.flush()
        return _NewSession(family, raw, expires_at)

    async def _sign_in(self, account: AccountModel, opened: _NewSession, now: datetime) -> SignIn:
        issued = self.issuer.mint(
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
        """The user's current revocation cut-off, so new tokens are minted at or after it."""
        try:
            value = await self.redis.get(USER_VALID_AFTER_KEY.format(sub=str(account_id)))
        except (RedisError, OSError):
            return None
        return int(float(value)) if value else None

    # --- sign-out and revocation -------------------------------------------------------------

    @counted("logout")
    async def logout(self, claims: AccessClaims | None, refresh_token: str | None = None) -> None:
        """End one session: the caller's (by its access token) or the refresh token's."""
        now = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            family: SessionModel | None = None
            if claims is not None and claims.session_id and not claims.is_service:
                family = await session.get(
                    SessionModel, _uuid(claims.session_id), with_for_update=True
                )
                if family is not None and str(family.account_id) != claims.subject:
                    family = None
            elif refresh_token:
                token = await session.scalar(
                    select(RefreshTokenModel).where(
                        RefreshTokenModel.token_hash == hash_refresh_token(refresh_token)
                    )
                )
                if token is not None:
                    family = await session.get(SessionModel, token.session_id, with_for_update=True)
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
        await self._revoke_session_tokens([family.id])

    async def logout_all(self, account_id: uuid.UUID, *, reason: str = "logout_all") -> int:
        """End every session of the account and invalidate its access tokens."""
        async with self.sessions() as session, session.begin():
            count = await self._revoke_account_sessions(session, [account_id], reason)
        await self._revoke_user_tokens([account_id])
        return count

    def _revoke(self, family: SessionModel, now: datetime, reason: str) -> None:
        if family.revoked_at is None:
            family.revoked_at = now
            family.revoked_reason = reason

    async def _revoke_account_sessions(
        self, session: AsyncSession, account_ids: Sequence[uuid.UUID], reason: str
    ) -> int:
        result = await session.execute(
            update(SessionModel)
            .where(SessionModel.account_id.in_(account_ids), SessionModel.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoked_reason=reason)
            .returning(SessionModel.id)
        )
        return len(result.all())

    def _revocation_ttl(self) -> int:
        longest = max(
            self.settings.access_token_ttl_seconds, self.settings.service_token_ttl_seconds
        )
        return longest + REVOCATION_MARGIN_SECONDS

    async def _revoke_session_tokens(self, session_ids: Iterable[uuid.UUID]) -> None:
        try:
            for session_id in session_ids:
                await self.revocations.revoke_session(str(session_id), self._revocation_ttl())
        except (RedisError, OSError):
            logger.exception("could not record a session revocation; access tokens live on")

    async def _revoke_user_tokens(
        self, account_ids: Iterable[uuid.UUID], at: float | None = None
    ) -> None:
        try:
            for account_id in account_ids:
                await self.revocations.revoke_user_tokens(
                    str(account_id), self._revocation_ttl(), at=at
                )
        except (RedisError, OSError):
            logger.exception("could not record a user revocation; access tokens live on")

    # --- the signed-in user's account --------------------------------------------------------

    async def current_account(self, claims: AccessClaims) -> AccountModel:
        """The caller's own active account (401 if it no longer is)."""
        if claims.is_service:
            raise ForbiddenError("this operation is for users, not service accounts")
        async with self.sessions() as session:
            account = await session.get(AccountModel, _uuid(claims.subject))
        if account is None or account.status != AccountStatus.ACTIVE:
            raise UnauthorizedError("this account is not active", code="account_inactive")
        return account

    @counted("change_password")
    async def change_password(
        self,
        claims: AccessClaims,
        current_password: str,
        new_password: str,
        *,
        client_address: str | None = None,
    ) -> SignIn:
        """Set a new password, end every session, and start a fresh one for the caller."""
        check_input_size(current_password, new_password)
        account = await self.current_account(claims)
        await self.limiter.hit(
            [
                Limit(
                    "password:account",
                    str(account.id),
                    self.settings.login_limit_per_account,
                )
            ]
        )
        if not await self.hashing.verify(
            account.password_hash, normalise_password(current_password)
        ):
            raise ForbiddenError("the current password is wrong", code="invalid_password")
        normalised = self.policy.check(new_password, email=account.email)
        if normalised == normalise_password(current_password):
            raise AppError(
                "the new password must differ from the current one",
                code="weak_password",
                status_code=422,
            )
        password_hash = await self.hashing.hash(normalised)
        now = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            stored = await session.scalar(
                update(AccountModel)
                .where(AccountModel.id == account.id, AccountModel.status == AccountStatus.ACTIVE)
                .values(password_hash=password_hash, password_changed_at=now)
                .returning(AccountModel)
            )
            if stored is None:
                raise UnauthorizedError("this account is not active", code="account_inactive")
            await self._revoke_account_sessions(session, [account.id], "password_changed")
            event = record_event(session, "user.password_changed", account.id)
            opened = await self._open_session(session, stored, now, client_address)
        await self._revoke_user_tokens([account.id], at=now.timestamp())
        await self.outbox.publish_after_commit([event])
        return await self._sign_in(stored, opened, now)

    async def reset_password(self, account_id: uuid.UUID, new_password: str) -> AccountModel:
        """An operator's reset (no current password): the new password passes the same policy,
        and every session of the account ends, as after a change."""
        check_input_size(new_password)
        account = await self.get_account(account_id)
        normalised = self.policy.check(new_password, email=account.email)
        password_hash = await self.hashing.hash(normalised)
        now = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            stored = await session.scalar(
                update(AccountModel)
                .where(AccountModel.id == account.id)
                .values(password_hash=password_hash, password_changed_at=now)
                .returning(AccountModel)
            )
            assert stored is not None
            await self._revoke_account_sessions(session, [account.id], "password_changed")
            event = record_event(session, "user.password_changed", account.id)
        await self._revoke_user_tokens([account.id], at=now.timestamp())
        await self.outbox.publish_after_commit([event])
        return stored

    @counted("delete_account")
    async def delete_account(self, claims: AccessClaims, password: str) -> None:
        """Delete the caller's account after re-checking the password."""
        check_input_size(password)
        account = await self.current_account(claims)
        await self.limiter.hit(
            [Limit("password:account", str(account.id), self.settings.login_limit_per_account)]
        )
        if not await self.hashing.verify(account.password_hash, normalise_password(password)):
            raise ForbiddenError("the password is wrong", code="invalid_password")
        async with self.sessions() as session, session.begin():
            rows = await self._change_status(
                session, [account.id], AccountStatus.DELETED, "deleted by the user"
            )
        await self._after_status_change([account.id], rows)

    # --- administration and lifecycle --------------------------------------------------------

    async def get_account(self, account_id: uuid.UUID) -> AccountModel:
        async with self.sessions() as session:
            account = await session.get(AccountModel, account_id)
        if account is None:
            raise NotFoundError("no such account", code="account_not_found")
        return account

    async def get_accounts(self, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AccountModel]:
        """Accounts by id, in one query (GraphQL entity batches)."""
        if not account_ids:
            return {}
        async with self.sessions() as session:
            rows = await session.scalars(
                select(AccountModel).where(AccountModel.id.in_(set(account_ids)))
            )
            return {row.id: row for row in rows}

    async def set_status(
        self, account_id: uuid.UUID, status: Literal["active", "disabled"], reason: str | None
    ) -> AccountModel:
        """Disable (ending every session) or re-enable an account; deleted ones stay deleted."""
        async with self.sessions() as session, session.begin():
            account = await session.get(AccountModel, account_id, with_for_update=True)
            if account is None:
                raise NotFoundError("no such account", code="account_not_found")
            if account.status == AccountStatus.DELETED:
                raise ConflictError("this account is deleted", code="account_deleted")
            rows: list[OutboxEventModel] = []
            if status == "disabled" and account.status == AccountStatus.ACTIVE:
                rows = await self._change_status(
                    session, [account.id], AccountStatus.DISABLED, reason or "disabled"
                )
            elif status == "active" and account.status == AccountStatus.DISABLED:
                account.status = AccountStatus.ACTIVE
                account.disabled_reason = None
                account.last_login_at = datetime.now(UTC)
        await self._after_status_change([account.id], rows)
        return await self.get_account(account_id)

    async def deactivate_inactive(self, cutoff: datetime) -> int:
        """Disable active accounts not seen (signed in, or registered) since ``cutoff``."""
        if cutoff.tzinfo is None:
            cutoff = cutoff.replace(tzinfo=UTC)
        async with self.sessions() as session, session.begin():
            ids = list(
                await session.scalars(
                    select(AccountModel.id)
                    .where(
                        AccountModel.status == AccountStatus.ACTIVE,
                        func.coalesce(AccountModel.last_login_at, AccountModel.created_at) < cutoff,
                    )
                    .with_for_update(skip_locked=True)
                )
            )
            rows = await self._change_status(session, ids, AccountStatus.DISABLED, "inactive")
        await self._after_status_change(ids, rows)
        return len(ids)

    async def _change_status(
        self,
        session: AsyncSession,
        account_ids: Sequence[uuid.UUID],
        status: AccountStatus,
        reason: str,
    ) -> list[OutboxEventModel]:
        if not account_ids:
            return []
        values: dict[str, object] = {"status": status, "disabled_reason": reason}
        if status == AccountStatus.DELETED:
            # Erase the credential; the row stays as a tombstone for the id.
            values["password_hash"] = "!deleted"  # noqa: S105 - matches no password
            values["email"] = func.concat("deleted-", AccountModel.id, "@deleted.invalid")
        await session.execute(
            update(AccountModel).where(AccountModel.id.in_(account_ids)).values(**values)
        )
        await self._revoke_account_sessions(session, account_ids, status)
        if status == AccountStatus.DELETED:
            return [record_event(session, "user.deleted", account_id) for account_id in account_ids]
        return [
            record_event(session, "user.disabled", account_id, {"reason": reason})
            for account_id in account_ids
        ]

    async def _after_status_change(
        self, account_ids: Sequence[uuid.UUID], rows: Sequence[OutboxEventModel]
    ) -> None:
        if rows:
            await self._revoke_user_tokens(account_ids)
            await self.outbox.publish_after_commit(rows)

    async def create_account(
        self,
        email: str,
        password: str,
        *,
        roles: Sequence[str] = (Role.USER,),
        display_name: str | None = None,
    ) -> AccountModel:
        """An account made by an operator (``nova-auth create-admin``); no session is opened."""
        check_input_size(password)
        check_display_name(display_name)
        address = normalise_email(email)
        normalised = self.policy.check(password, email=address)
        password_hash = await self.hashing.hash(normalised)
        try:
            async with self.sessions() as session, session.begin():
                account = AccountModel(
                    id=uuid.uuid4(),
                    email=address,
                    password_hash=password_hash,
                    status=AccountStatus.ACTIVE,
                    roles=sorted({Role.USER, *roles}),
                )
                session.add(account)
                await session.flush()
                event = record_event(
                    session,
                    "user.registered",
                    account.id,
                    {"email": address, "display_name": display_name or address.split("@")[0]},
                )
        except IntegrityError as error:
            if "uq_accounts_email" not in str(error.orig):
                raise
            raise ConflictError(
                "an account with this e-mail address already exists", code="email_taken"
            ) from None
        await self.outbox.publish_after_commit([event])
        return await self.get_account(account.id)

    async def find_by_email(self, email: str) -> AccountModel | None:
        async with self.sessions() as session:
            account: AccountModel | None = await session.scalar(
                select(AccountModel).where(AccountModel.email == normalise_email(email))
            )
        return account

    # --- service accounts --------------------------------------------------------------------

    @counted("service_token")
    async def issue_service_token(
        self, client_id: str, client_secret: str, *, client_address: str | None = None
    ) -> IssuedToken:
        """Client-credentials grant for the service accounts of ``NOVA_AUTH_SERVICE_CLIENTS``."""
        await self.limiter.hit(
            [Limit("token:ip", client_address or "-", self.settings.token_limit_per_client)]
        )
        expected = self.service_clients.get(client_id)
        matches = hmac.compare_digest(
            client_secret.encode(), (expected or self._dummy_client_secret).encode()
        )
        if expected is None or not matches:
            raise UnauthorizedError("invalid client credentials", code="invalid_client")
        return self.issuer.service_token(client_id, self.settings.service_token_ttl_seconds)

    async def purge_expired_sessions(self, *, keep_seconds: int = 86_400, limit: int = 5000) -> int:
        """Delete sessions (and their tokens) expired or revoked more than ``keep_seconds`` ago."""
        horizon = datetime.now(UTC) - timedelta(seconds=keep_seconds)
        stale = (
            select(SessionModel.id)
            .where(or_(SessionModel.expires_at < horizon, SessionModel.revoked_at < horizon))
            .limit(limit)
        )
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(SessionModel).where(SessionModel.id.in_(stale)).returning(SessionModel.id)
            )
            return len(result.all())


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise UnauthorizedError(
            "the token's subject is not an account", code="invalid_token"
        ) from None
