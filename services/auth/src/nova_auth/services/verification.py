"""E-mail verification and password reset: single-use tokens mailed to the account's address.

- Registration issues a verification token (:meth:`EmailTokenService.issue_verification`, in
  the registration's unit of work); ``resend_verification`` issues a new one (rate-limited per
  account and per client), and ``verify_email`` spends it and marks the address verified.
- ``forgot_password`` answers the same for every address: for an active account it issues a
  reset token (the older ones stop working) and records ``user.password_reset_requested``; for
  any other address it runs the same statements against no account, so neither the answer nor
  the work tells them apart. The mail is published in the background either way, so the time
  of the answer does not include the broker.
- ``reset_password`` spends the token, sets the new password (the registration's strength and
  breached-list rules), verifies the address (the mail proved it), ends every session and
  access token of the account and records ``user.password_changed`` (its owner is told).

A token's value leaves auth only inside its account event, for the worker to mail; the outbox
drops it from the event when the worker confirms delivery (``nova_auth.events``). At rest,
``auth.one_time_tokens`` holds SHA-256 digests only. Unknown, used, expired or superseded
tokens all get one answer: 400 ``invalid_token``.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from nova_auth.events import record_event
from nova_auth.models import AccountModel, AccountStatus, OutboxEventModel, TokenPurpose
from nova_auth.one_time_tokens import OneTimeTokenRepository
from nova_auth.repositories import AccountRepository, SessionRepository
from nova_auth.security_events import RequestContext, record_security_event
from nova_auth.services.operations import check_input_size, counted, normalise_email
from nova_auth.services.sessions import SessionService
from nova_auth.state import AuthState
from nova_kit.errors import AppError, ConflictError
from nova_kit.ratelimit import Limit

NOBODY = uuid.UUID(int=0)
"""The account id the statements of a request for an unknown address run against."""
_background: set[asyncio.Task[int]] = set()


class InvalidTokenError(AppError):
    def __init__(self) -> None:
        super().__init__(
            "this link is invalid or has expired; ask for a new one",
            code="invalid_token",
            status_code=400,
        )


def address_key(address: str) -> str:
    """The rate-limit subject of an e-mail address: its digest, never the address."""
    return hashlib.sha256(address.encode()).hexdigest()


class EmailTokenService:
    def __init__(self, state: AuthState) -> None:
        self.state = state
        self.settings = state.settings
        self.session_service = SessionService(state)

    # --- verification --------------------------------------------------------------------

    async def issue_verification(
        self, session: AsyncSession, account: AccountModel, now: datetime
    ) -> OutboxEventModel:
        """A verification token for the account, and the event that mails it, in the caller's
        unit of work (publish the event after commit)."""
        issued = await OneTimeTokenRepository(session).issue(
            account.id, TokenPurpose.VERIFY_EMAIL, now, self.settings.verification_token_ttl_seconds
        )
        return record_event(
            session,
            "user.verification_requested",
            account.id,
            {
                "email": account.email,
                "token": issued.value,
                "expires_at": issued.expires_at.isoformat(),
            },
        )

    @counted("resend_verification")
    async def resend_verification(
        self, account: AccountModel, *, context: RequestContext | None = None
    ) -> None:
        """A new verification mail for the signed-in account (its earlier links stop working)."""
        if account.email_verified:
            raise ConflictError(
                "this e-mail address is already verified", code="email_already_verified"
            )
        client = (context.client_address if context else None) or "-"
        await self.state.limiter.hit(
            [
                Limit(
                    "verify-resend:account",
                    str(account.id),
                    self.settings.verification_resend_limit_per_account,
                ),
                Limit(
                    "verify-resend:ip", client, self.settings.verification_resend_limit_per_client
                ),
            ]
        )
        now = datetime.now(UTC)
        async with self.state.sessions() as session, session.begin():
            event = await self.issue_verification(session, account, now)
            record_security_event(
                session, account.id, "email_verification_requested", context, at=now
            )
        await self.state.outbox.publish_after_commit([event])

    @counted("verify_email")
    async def verify_email(self, token: str, *, context: RequestContext | None = None) -> None:
        """Spend a verification token: the account's address is verified."""
        await self._limit_token_use(context)
        now = datetime.now(UTC)
        async with self.state.sessions() as session, session.begin():
            account_id = await OneTimeTokenRepository(session).use(
                token, TokenPurpose.VERIFY_EMAIL, now
            )
            if account_id is None:
                raise InvalidTokenError
            stored = await AccountRepository(session).update(
                account_id, only_active=True, email_verified=True, email_verified_at=now
            )
            if stored is None:  # disabled or deleted since the mail was sent
                raise InvalidTokenError
            event = record_event(session, "user.email_verified", account_id, {})
            record_security_event(session, account_id, "email_verified", context, at=now)
        await self.state.outbox.publish_after_commit([event])

    # --- password reset -------------------------------------------------------------------

    @counted("forgot_password")
    async def forgot_password(self, email: str, *, context: RequestContext | None = None) -> None:
        """Mail a reset link if the address has an active account; the same answer, the same
        work, whatever the address (no account enumeration)."""
        address = normalise_email(email)  # 422 for what cannot be an address, known or not
        client = (context.client_address if context else None) or "-"
        await self.state.limiter.hit(
            [
                Limit("forgot-password:ip", client, self.settings.forgot_password_limit_per_client),
                Limit(
                    "forgot-password:address",
                    address_key(address),
                    self.settings.forgot_password_limit_per_address,
                ),
            ]
        )
        now = datetime.now(UTC)
        event: OutboxEventModel | None = None
        async with self.state.sessions() as session, session.begin():
            account = await AccountRepository(session).by_email(address)
            tokens = OneTimeTokenRepository(session)
            if account is None or account.status != AccountStatus.ACTIVE:
                # The same statements as below, against no account: nothing matches.
                await tokens.revoke(NOBODY, TokenPurpose.RESET_PASSWORD)
                await session.flush()
            else:
                issued = await tokens.issue(
                    account.id,
                    TokenPurpose.RESET_PASSWORD,
                    now,
                    self.settings.password_reset_token_ttl_seconds,
                )
                event = record_event(
                    session,
                    "user.password_reset_requested",
                    account.id,
                    {"token": issued.value, "expires_at": issued.expires_at.isoformat()},
                )
                record_security_event(
                    session, account.id, "password_reset_requested", context, at=now
                )
        if event is not None:
            # Published off the request's path: the answer's timing does not include it.
            task = asyncio.create_task(self.state.outbox.publish_after_commit([event]))
            _background.add(task)
            task.add_done_callback(_background.discard)

    @counted("reset_password")
    async def reset_password(
        self, token: str, new_password: str, *, context: RequestContext | None = None
    ) -> None:
        """Spend a reset token: set the password, verify the address, end every session."""
        check_input_size(new_password)
        await self._limit_token_use(context)
        now = datetime.now(UTC)
        async with self.state.sessions() as session:
            account = await OneTimeTokenRepository(session).live_account(
                token, TokenPurpose.RESET_PASSWORD, now
            )
        if account is None or account.status != AccountStatus.ACTIVE:
            raise InvalidTokenError
        # Checked before the token is spent: a refused password leaves the link usable.
        normalised = self.state.policy.check(new_password, email=account.email)
        password_hash = await self.state.hashing.hash(normalised)
        now = datetime.now(UTC)
        async with self.state.sessions() as session, session.begin():
            tokens = OneTimeTokenRepository(session)
            if await tokens.use(token, TokenPurpose.RESET_PASSWORD, now) != account.id:
                raise InvalidTokenError  # spent meanwhile by a concurrent request
            stored = await AccountRepository(session).update(
                account.id,
                only_active=True,
                password_hash=password_hash,
                password_changed_at=now,
                email_verified=True,
                email_verified_at=account.email_verified_at or now,
            )
            if stored is None:
                raise InvalidTokenError
            await tokens.revoke(account.id, TokenPurpose.RESET_PASSWORD)
            await SessionRepository(session).revoke_for_accounts([account.id], "password_reset")
            event = record_event(session, "user.password_changed", account.id, {"reason": "reset"})
            record_security_event(session, account.id, "password_reset", context, at=now)
        await self.session_service.revoke_user_tokens([account.id], at=now.timestamp())
        await self.state.outbox.publish_after_commit([event])

    async def _limit_token_use(self, context: RequestContext | None) -> None:
        client = (context.client_address if context else None) or "-"
        await self.state.limiter.hit(
            [Limit("email-token:ip", client, self.settings.email_token_limit_per_client)]
        )
