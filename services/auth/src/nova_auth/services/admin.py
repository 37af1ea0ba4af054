"""Accounts as administrators and operators see them, and their lifecycle: disable, re-enable,
delete, the deactivation of inactive accounts, accounts made by an operator."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import ColumnElement, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nova_auth.cursors import decode_keyset, encode_keyset
from nova_auth.events import record_event
from nova_auth.models import AccountModel, AccountStatus, OutboxEventModel, Role, SessionModel
from nova_auth.repositories import AccountRepository, SessionRepository
from nova_auth.security_events import record_security_event
from nova_auth.services.operations import check_display_name, check_input_size, normalise_email
from nova_auth.services.sessions import SessionService
from nova_auth.state import AuthState
from nova_kit.errors import AppError, ConflictError, NotFoundError

ACCOUNT_PAGE_DEFAULT = 20
ACCOUNT_PAGE_MAX = 100
SEARCH_MAX = 200
SESSIONS_SHOWN = 50


def _invalid(field: str, message: str) -> AppError:
    return AppError(
        f"{field} {message}",
        code="validation_error",
        status_code=422,
        details=[{"field": field, "message": message}],
    )


@dataclass(frozen=True, slots=True)
class AccountFilter:
    """What an administrator looks for: ``search`` is part of an e-mail address or a whole
    account id; ``role`` one of :class:`Role`; ``status`` one of :class:`AccountStatus`."""

    search: str | None = None
    role: str | None = None
    status: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        term = (self.search or "").strip()
        if len(term) > SEARCH_MAX:
            raise _invalid("search", f"is longer than {SEARCH_MAX} characters")
        if term:
            try:
                conditions.append(AccountModel.id == uuid.UUID(term))
            except ValueError:
                escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                conditions.append(AccountModel.email.like(f"%{escaped}%", escape="\\"))
        if self.role is not None:
            if self.role not in {role.value for role in Role}:
                raise _invalid("role", "is not one of: " + ", ".join(role.value for role in Role))
            conditions.append(AccountModel.roles.contains([self.role]))
        if self.status is not None:
            if self.status not in {status.value for status in AccountStatus}:
                raise _invalid(
                    "status", "is not one of: " + ", ".join(s.value for s in AccountStatus)
                )
            conditions.append(AccountModel.status == self.status)
        return conditions


@dataclass(frozen=True, slots=True)
class AccountPage:
    accounts: list[AccountModel]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return account_cursor(self.accounts[-1]) if self.accounts else None


def account_cursor(account: AccountModel) -> str:
    return encode_keyset(account.created_at, account.id)


class AccountAdminService:
    def __init__(self, state: AuthState) -> None:
        self.state = state
        self.session_service = SessionService(state)

    async def get_account(self, account_id: uuid.UUID) -> AccountModel:
        async with self.state.sessions() as session:
            account = await AccountRepository(session).get(account_id)
        if account is None:
            raise NotFoundError("no such account", code="account_not_found")
        return account

    async def get_accounts(self, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AccountModel]:
        """Accounts by id, in one query (GraphQL entity batches)."""
        if not account_ids:
            return {}
        if self.state.engine is not None:
            return await AccountRepository.read_many(self.state.engine, account_ids)
        async with self.state.sessions() as session:
            return await AccountRepository(session).get_many(account_ids)

    async def list_accounts(
        self,
        *,
        first: int = ACCOUNT_PAGE_DEFAULT,
        after: str | None = None,
        where: AccountFilter | None = None,
    ) -> AccountPage:
        """One page of accounts matching ``where``, newest first (keyset on creation time and
        id, so the filter and the paging happen in one query over the owner's table)."""
        if not 1 <= first <= ACCOUNT_PAGE_MAX:
            raise _invalid("first", f"must be between 1 and {ACCOUNT_PAGE_MAX}")
        conditions = (where or AccountFilter()).conditions()
        before = decode_keyset(after) if after else None
        async with self.state.sessions() as session:
            rows = await AccountRepository(session).newest_first(
                limit=first + 1, before=before, conditions=conditions
            )
        return AccountPage(rows[:first], has_next_page=len(rows) > first)

    async def list_sessions(self, account_id: uuid.UUID) -> list[SessionModel]:
        """The account's latest sessions (at most 50), live and ended, most recent first."""
        async with self.state.sessions() as session:
            if await AccountRepository(session).get(account_id) is None:
                raise NotFoundError("no such account", code="account_not_found")
            return await SessionRepository(session).for_account(account_id, limit=SESSIONS_SHOWN)

    async def find_by_email(self, email: str) -> AccountModel | None:
        async with self.state.sessions() as session:
            return await AccountRepository(session).by_email(normalise_email(email))

    async def disable(
        self, account_id: uuid.UUID, *, by: str, reason: str | None = None
    ) -> AccountModel:
        """An administrator (``by``, their subject) disables an account, never their own."""
        if str(account_id) == by:
            # An administrator locking themselves out helps nobody; another one can do it.
            raise ConflictError(
                "administrators cannot disable their own account", code="cannot_disable_self"
            )
        return await self.set_status(
            account_id, "disabled", reason or "disabled by an administrator", by=by
        )

    async def set_status(
        self,
        account_id: uuid.UUID,
        status: Literal["active", "disabled"],
        reason: str | None,
        *,
        by: str | None = None,
    ) -> AccountModel:
        """Disable (ending every session) or re-enable an account; deleted ones stay deleted.
        A change is an entry of the account's security log naming ``by``, the administrator."""
        async with self.state.sessions() as session, session.begin():
            account = await AccountRepository(session).get(account_id, for_update=True)
            if account is None:
                raise NotFoundError("no such account", code="account_not_found")
            if account.status == AccountStatus.DELETED:
                raise ConflictError("this account is deleted", code="account_deleted")
            rows: list[OutboxEventModel] = []
            if status == "disabled" and account.status == AccountStatus.ACTIVE:
                rows = await self.change_status(
                    session, [account.id], AccountStatus.DISABLED, reason or "disabled"
                )
                record_security_event(session, account.id, "account_disabled", actor=by)
            elif status == "active" and account.status == AccountStatus.DISABLED:
                account.status = AccountStatus.ACTIVE
                account.disabled_reason = None
                account.last_login_at = datetime.now(UTC)
                record_security_event(session, account.id, "account_enabled", actor=by)
        await self.after_status_change([account.id], rows)
        return await self.get_account(account_id)

    async def deactivate_inactive(self, cutoff: datetime) -> int:
        """Disable active accounts not seen (signed in, or registered) since ``cutoff``."""
        if cutoff.tzinfo is None:
            cutoff = cutoff.replace(tzinfo=UTC)
        async with self.state.sessions() as session, session.begin():
            ids = await AccountRepository(session).lock_inactive_since(cutoff)
            rows = await self.change_status(session, ids, AccountStatus.DISABLED, "inactive")
        await self.after_status_change(ids, rows)
        return len(ids)

    async def change_status(
        self,
        session: AsyncSession,
        account_ids: Sequence[uuid.UUID],
        status: AccountStatus,
        reason: str,
    ) -> list[OutboxEventModel]:
        """Disable or delete accounts in the caller's unit of work: their sessions end, and an
        event per account is recorded (published by :meth:`after_status_change`)."""
        if not account_ids:
            return []
        values: dict[str, object] = {"status": status, "disabled_reason": reason}
        if status == AccountStatus.DELETED:
            # Erase the credential; the row stays as a tombstone for the id.
            values["password_hash"] = "!deleted"  # noqa: S105 - matches no password
            values["email"] = func.concat("deleted-", AccountModel.id, "@deleted.invalid")
        await AccountRepository(session).update_many(account_ids, **values)
        await SessionRepository(session).revoke_for_accounts(account_ids, status)
        if status == AccountStatus.DELETED:
            return [record_event(session, "user.deleted", account_id) for account_id in account_ids]
        return [
            record_event(session, "user.disabled", account_id, {"reason": reason})
            for account_id in account_ids
        ]

    async def after_status_change(
        self, account_ids: Sequence[uuid.UUID], rows: Sequence[OutboxEventModel]
    ) -> None:
        """After commit: the accounts' access tokens stop working, their events go out."""
        if rows:
            await self.session_service.revoke_user_tokens(account_ids)
            await self.state.outbox.publish_after_commit(rows)

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
        normalised = self.state.policy.check(password, email=address)
        password_hash = await self.state.hashing.hash(normalised)
        try:
            async with self.state.sessions() as session, session.begin():
                account = await AccountRepository(session).create(
                    address, password_hash, sorted({Role.USER, *roles})
                )
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
        await self.state.outbox.publish_after_commit([event])
        return await self.get_account(account.id)
