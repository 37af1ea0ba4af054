"""Credentials: registration, sign-in, the password, and the caller's own account.

Sign-in failures for an unknown e-mail, a wrong password and a disabled account are one and the
same answer (401 ``invalid_credentials``), and all three run one Argon2 verification (against a
dummy hash for unknown e-mails) so timing does not tell them apart either.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy.exc import IntegrityError

from nova_auth.events import record_event
from nova_auth.models import AccountModel, AccountStatus, Role
from nova_auth.passwords import normalise_password
from nova_auth.repositories import AccountRepository, SessionRepository
from nova_auth.security_events import RequestContext, record_security_event, security_event
from nova_auth.services.admin import AccountAdminService
from nova_auth.services.operations import (
    MAX_EMAIL_LENGTH,
    check_display_name,
    check_input_size,
    counted,
    normalise_email,
)
from nova_auth.services.sessions import MfaChallenge, SessionService, SignIn, account_id_of
from nova_auth.services.verification import EmailTokenService
from nova_auth.state import AuthState
from nova_kit.errors import AppError, ConflictError, ForbiddenError, UnauthorizedError
from nova_kit.ratelimit import Limit
from nova_kit.tokens import AccessClaims

LOGIN_SLOWDOWNS = Counter(
    "nova_auth_login_slowdowns_total",
    "Sign-in attempts delayed because their account had too many recent failures",
)


class InvalidCredentialsError(UnauthorizedError):
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("invalid e-mail or password")


class EmailNotVerifiedError(ForbiddenError):
    code = "email_not_verified"

    def __init__(self) -> None:
        super().__init__(
            "verify your e-mail address first: follow the link we sent, or reset your password"
        )


class PasswordNotSetError(ForbiddenError):
    code = "password_not_set"

    def __init__(self) -> None:
        super().__init__(
            "this account has no password yet: set one with POST /api/auth/me/password"
        )


class CredentialService:
    def __init__(self, state: AuthState) -> None:
        self.state = state
        self.settings = state.settings
        self.session_service = SessionService(state)

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
        the address's owner learns what happened, and only from their inbox. A new account
        also gets its e-mail verification link (``user.verification_requested``).
        """
        check_input_size(password)
        check_display_name(display_name)
        address = normalise_email(email)
        normalised = self.state.policy.check(password, email=address)
        await self.state.limiter.hit(
            [Limit("register:ip", client_address or "-", self.settings.register_limit_per_client)]
        )
        password_hash = await self.state.hashing.hash(normalised)
        name = (display_name or "").strip() or address.split("@", 1)[0]
        try:
            async with self.state.sessions() as session, session.begin():
                account = await AccountRepository(session).create(
                    address, password_hash, [Role.USER]
                )
                events = [
                    record_event(
                        session,
                        "user.registered",
                        account.id,
                        {"email": address, "display_name": name},
                    ),
                    await EmailTokenService(self.state).issue_verification(
                        session, account, datetime.now(UTC)
                    ),
                ]
        except IntegrityError as error:
            if "uq_accounts_email" not in str(error.orig):
                raise
            async with self.state.sessions() as session, session.begin():
                existing = await AccountRepository(session).id_by_email(address)
                if existing is None:  # deleted meanwhile: nothing to tell anyone
                    return
                events = [record_event(session, "user.registration_attempted", existing)]
        await self.state.outbox.publish_after_commit(events)

    @counted("login")
    async def login(
        self,
        email: str,
        password: str,
        *,
        client_address: str | None = None,
        user_agent: str | None = None,
    ) -> SignIn | MfaChallenge:
        check_input_size(password)
        normalised = normalise_password(password)
        try:
            address = normalise_email(email)
        except AppError:
            address = None  # stored addresses are all normalised: no account has this one
        limited = address or email.strip().lower()[:MAX_EMAIL_LENGTH]
        client = client_address or "-"
        limiter = self.state.limiter
        # Hard limits for one client, per account and in all; a soft one per account: a
        # growing delay, never a lock one client can put on someone else's account. One round
        # trip charges all three (none when a hard limit refuses).
        decision, failures = await limiter.hit_and_count(
            [
                Limit(
                    "login:account-client",
                    f"{limited} {client}",
                    self.settings.login_limit_per_account_client,
                ),
                Limit("login:ip", client, self.settings.login_limit_per_client),
            ],
            "login:account",
            limited,
        )
        await self._slow_down(failures)
        account = None
        two_factor: bool | None = None  # None: read by the challenge, after the password
        if address is not None and self.state.engine is not None:
            found = await AccountRepository.read_for_sign_in(self.state.engine, address)
            if found is not None:
                account, two_factor = found
        elif address is not None:
            async with self.state.sessions() as session:
                account = await AccountRepository(session).by_email(address)
        hashing = self.state.hashing
        # An account created through an identity provider has no password until it sets one:
        # it is refused like an unknown address, after the same dummy verification.
        if account is None or account.password_hash is None:
            await hashing.verify_dummy(normalised)
            raise InvalidCredentialsError
        valid = await hashing.verify(account.password_hash, normalised)
        if not valid or account.status != AccountStatus.ACTIVE:
            raise InvalidCredentialsError
        await limiter.refund(decision.charged, "login:account", "login:account-client")
        if self.settings.require_verified_email and not account.email_verified:
            raise EmailNotVerifiedError
        values: dict[str, Any] = {}
        if hashing.needs_rehash(account.password_hash):
            values["password_hash"] = await hashing.hash(normalised)
        from nova_auth.services.two_factor import TwoFactorService

        # With a second factor the password only earns a challenge (docs/adr/0016).
        challenge = await TwoFactorService(self.state).challenge(
            account, values, enabled=two_factor
        )
        if challenge is not None:
            return challenge
        return await self.open_sign_in(account.id, client_address, user_agent=user_agent, **values)

    async def open_sign_in(
        self,
        account_id: uuid.UUID,
        client_address: str | None,
        *,
        user_agent: str | None = None,
        kind: str = "sign_in",
        **values: object,
    ) -> SignIn:
        """Record the sign-in on the (still active) account, in its security activity too (as
        ``kind``), and open its session."""
        now = datetime.now(UTC)
        context = RequestContext(client_address, user_agent)
        if self.state.engine is not None and not values:
            # One statement on the driver connection: no ORM unit of work, no BEGIN/COMMIT.
            opened, token = self.session_service.new_session(account_id, now, client_address)
            stored = await AccountRepository.record_sign_in(
                self.state.engine,
                account_id,
                opened.session,
                token,
                security_event(account_id, kind, context, at=now),
            )
            if stored is None:  # disabled or deleted meanwhile
                raise InvalidCredentialsError
            return await self.session_service.sign_in(stored, opened, now)
        async with self.state.sessions() as session, session.begin():
            stored = await AccountRepository(session).update(
                account_id, only_active=True, last_login_at=now, **values
            )
            if stored is None:  # disabled or deleted meanwhile
                raise InvalidCredentialsError
            opened = await self.session_service.open(
                SessionRepository(session), stored, now, client_address
            )
            record_security_event(session, stored.id, kind, context, at=now)
        return await self.session_service.sign_in(stored, opened, now)

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

    # --- the signed-in user's account --------------------------------------------------------

    async def current_account(self, claims: AccessClaims) -> AccountModel:
        """The caller's own active account (401 if it no longer is)."""
        if claims.is_service:
            raise ForbiddenError("this operation is for users, not service accounts")
        account_id = account_id_of(claims.subject)
        if self.state.engine is not None:
            account = await AccountRepository.read(self.state.engine, account_id)
        else:
            async with self.state.sessions() as session:
                account = await AccountRepository(session).get(account_id)
        if account is None or account.status != AccountStatus.ACTIVE:
            raise UnauthorizedError("this account is not active", code="account_inactive")
        return account

    async def check_password(self, account: AccountModel, password: str, message: str) -> None:
        """403 ``invalid_password`` unless ``password`` is the account's (rate-limited); 403
        ``password_not_set`` for an account that has none (see :meth:`set_password`)."""
        if account.password_hash is None:
            raise PasswordNotSetError
        await self.state.limiter.hit(
            [
                Limit(
                    "password:account",
                    str(account.id),
                    self.settings.login_limit_per_account,
                )
            ]
        )
        if not await self.state.hashing.verify(account.password_hash, normalise_password(password)):
            raise ForbiddenError(message, code="invalid_password")

    @counted("change_password")
    async def change_password(
        self,
        claims: AccessClaims,
        current_password: str,
        new_password: str,
        *,
        client_address: str | None = None,
        user_agent: str | None = None,
    ) -> SignIn:
        """Set a new password, end every session, and start a fresh one for the caller."""
        check_input_size(current_password, new_password)
        account = await self.current_account(claims)
        await self.check_password(account, current_password, "the current password is wrong")
        normalised = self.state.policy.check(new_password, email=account.email)
        if normalised == normalise_password(current_password):
            raise AppError(
                "the new password must differ from the current one",
                code="weak_password",
                status_code=422,
            )
        password_hash = await self.state.hashing.hash(normalised)
        return await self._replace_password(
            account.id, password_hash, client_address, user_agent=user_agent
        )

    async def _replace_password(
        self,
        account_id: uuid.UUID,
        password_hash: str,
        client_address: str | None,
        *,
        user_agent: str | None = None,
        only_if_unset: bool = False,
        security_kind: str = "password_changed",
    ) -> SignIn:
        """Store the new hash, end every session, and open a fresh one for the caller; the
        change goes into the account's security activity as ``security_kind``."""
        now = datetime.now(UTC)
        async with self.state.sessions() as session, session.begin():
            accounts = AccountRepository(session)
            if only_if_unset:
                locked = await accounts.get(account_id, for_update=True)
                if locked is None or locked.password_hash is not None:
                    raise ConflictError(
                        "this account already has a password", code="password_already_set"
                    )
            stored = await accounts.update(
                account_id, only_active=True, password_hash=password_hash, password_changed_at=now
            )
            if stored is None:
                raise UnauthorizedError("this account is not active", code="account_inactive")
            families = SessionRepository(session)
            await families.revoke_for_accounts([account_id], "password_changed")
            event = record_event(session, "user.password_changed", account_id)
            record_security_event(
                session,
                account_id,
                security_kind,
                RequestContext(client_address, user_agent),
                at=now,
            )
            opened = await self.session_service.open(families, stored, now, client_address)
        await self.session_service.revoke_user_tokens([account_id], at=now.timestamp())
        await self.state.outbox.publish_after_commit([event])
        return await self.session_service.sign_in(stored, opened, now)

    @counted("set_password")
    async def set_password(
        self, claims: AccessClaims, new_password: str, *, client_address: str | None = None
    ) -> SignIn:
        """Give a password to an account that has none (created through an identity provider);
        409 ``password_already_set`` otherwise — that is what change-password is for. Every
        session ends and the caller gets a fresh one, as after a change."""
        check_input_size(new_password)
        account = await self.current_account(claims)
        if account.password_hash is not None:
            raise ConflictError(
                "this account already has a password: change it with its current one",
                code="password_already_set",
            )
        normalised = self.state.policy.check(new_password, email=account.email)
        password_hash = await self.state.hashing.hash(normalised)
        return await self._replace_password(
            account.id,
            password_hash,
            client_address,
            only_if_unset=True,
            security_kind="password_set",
        )

    async def reset_password(self, account_id: uuid.UUID, new_password: str) -> AccountModel:
        """An operator's reset (no current password): the new password passes the same policy,
        and every session of the account ends, as after a change."""
        check_input_size(new_password)
        account = await AccountAdminService(self.state).get_account(account_id)
        normalised = self.state.policy.check(new_password, email=account.email)
        password_hash = await self.state.hashing.hash(normalised)
        now = datetime.now(UTC)
        async with self.state.sessions() as session, session.begin():
            stored = await AccountRepository(session).update(
                account.id, password_hash=password_hash, password_changed_at=now
            )
            assert stored is not None
            await SessionRepository(session).revoke_for_accounts([account.id], "password_changed")
            event = record_event(session, "user.password_changed", account.id)
            record_security_event(session, account.id, "password_reset_by_operator", at=now)
        await self.session_service.revoke_user_tokens([account.id], at=now.timestamp())
        await self.state.outbox.publish_after_commit([event])
        return stored

    @counted("delete_account")
    async def delete_account(self, claims: AccessClaims, password: str) -> None:
        """Delete the caller's account after re-checking the password."""
        check_input_size(password)
        account = await self.current_account(claims)
        await self.check_password(account, password, "the password is wrong")
        lifecycle = AccountAdminService(self.state)
        async with self.state.sessions() as session, session.begin():
            rows = await lifecycle.change_status(
                session, [account.id], AccountStatus.DELETED, "deleted by the user"
            )
        await lifecycle.after_status_change([account.id], rows)
