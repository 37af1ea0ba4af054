"""The SQL of nova-auth: accounts, and sessions with their refresh tokens.

A repository works on the ``AsyncSession`` of one unit of work, which the service method that
opens it owns (``async with state.sessions() as session, session.begin()``) and closes before it
returns. Repositories never commit, and no session outlives the call that opened it: GraphQL root
fields run concurrently, and an ``AsyncSession`` is not safe to share (ADR 0012).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from nova_auth.models import (
    AccountModel,
    AccountStatus,
    RefreshTokenModel,
    SecurityEventModel,
    SessionModel,
    TwoFactorModel,
)
from nova_kit.db import OneRowRead, OneRowStatement, StatementTransaction


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    async def read(engine: AsyncEngine, account_id: uuid.UUID) -> AccountModel | None:
        """One account by a single statement outside any session (the hot read of
        ``GET /api/auth/me``; see :class:`nova_kit.db.OneRowRead`). The object is detached:
        read it, do not change it."""
        row = await _ACCOUNT_BY_ID.one_or_none(engine, account_id=account_id)
        return AccountModel(**row) if row is not None else None

    @staticmethod
    async def read_for_sign_in(
        engine: AsyncEngine, address: str
    ) -> tuple[AccountModel, bool] | None:
        """One account by its (normalised) address, and whether it has a confirmed second
        factor, by a single statement outside any session (sign-in's lookup); the account is
        detached, like :meth:`read`'s."""
        row = await _SIGN_IN_ACCOUNT.one_or_none(engine, address=address)
        if row is None:
            return None
        two_factor = bool(row.pop("two_factor_enabled"))
        return AccountModel(**row), two_factor

    @staticmethod
    async def read_many(
        engine: AsyncEngine, account_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, AccountModel]:
        """Accounts by id, by a single statement outside any session (GraphQL entity batches);
        detached, like :meth:`read`'s."""
        rows = await _ACCOUNTS_BY_IDS.all(engine, account_ids=list(set(account_ids)))
        return {row["id"]: AccountModel(**row) for row in rows}

    @staticmethod
    async def record_sign_in(
        engine: AsyncEngine,
        account_id: uuid.UUID,
        session: SessionModel,
        token: RefreshTokenModel,
        event: SecurityEventModel,
    ) -> AccountModel | None:
        """Sign-in's writes as one statement outside any session: the (still active) account's
        ``last_login_at``, the new session and its first refresh token, and the security-log
        entry — all or none, in one round trip; the account as stored, or ``None`` when it is
        no longer active (nothing is written then). ``session``, ``token`` and ``event`` are
        unsaved rows; the account is detached, like :meth:`read`'s."""
        row = await _RECORD_SIGN_IN.one_or_none(
            engine,
            p_account=account_id,
            p_active=AccountStatus.ACTIVE.value,
            p_now=session.created_at,
            p_session=session.id,
            p_session_expires=session.expires_at,
            p_session_address=session.client_address,
            p_token=token.id,
            p_token_hash=token.token_hash,
            p_token_expires=token.expires_at,
            p_event=event.id,
            p_event_kind=event.kind,
            p_event_at=event.occurred_at,
            p_event_address=event.client_address,
            p_event_agent=event.user_agent,
        )
        return AccountModel(**row) if row is not None else None

    async def get(self, account_id: uuid.UUID, *, for_update: bool = False) -> AccountModel | None:
        return await self.session.get(
            AccountModel, account_id, with_for_update=True if for_update else None
        )

    async def get_many(self, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AccountModel]:
        rows = await self.session.scalars(
            select(AccountModel).where(AccountModel.id.in_(set(account_ids)))
        )
        return {row.id: row for row in rows}

    async def by_email(self, address: str) -> AccountModel | None:
        account: AccountModel | None = await self.session.scalar(
            select(AccountModel).where(AccountModel.email == address)
        )
        return account

    async def id_by_email(self, address: str) -> uuid.UUID | None:
        account_id: uuid.UUID | None = await self.session.scalar(
            select(AccountModel.id).where(AccountModel.email == address)
        )
        return account_id

    async def create(self, email: str, password_hash: str, roles: list[str]) -> AccountModel:
        """A new active account, inserted now (a taken address raises ``IntegrityError`` on
        ``uq_accounts_email`` here, inside the caller's transaction)."""
        account = AccountModel(
            id=uuid.uuid4(),
            email=email,
            password_hash=password_hash,
            status=AccountStatus.ACTIVE,
            roles=roles,
        )
        self.session.add(account)
        await self.session.flush()
        return account

    async def update(
        self, account_id: uuid.UUID, *, only_active: bool = False, **values: Any
    ) -> AccountModel | None:
        """Set ``values`` on the account and answer it as stored; ``None`` when there is no such
        account (or, with ``only_active``, it is no longer active)."""
        condition = [AccountModel.id == account_id]
        if only_active:
            condition.append(AccountModel.status == AccountStatus.ACTIVE)
        stored: AccountModel | None = await self.session.scalar(
            update(AccountModel).where(*condition).values(**values).returning(AccountModel)
        )
        return stored

    async def update_many(self, account_ids: Sequence[uuid.UUID], **values: Any) -> None:
        await self.session.execute(
            update(AccountModel).where(AccountModel.id.in_(account_ids)).values(**values)
        )

    async def newest_first(
        self,
        *,
        limit: int,
        before: tuple[datetime, uuid.UUID] | None,
        conditions: Sequence[ColumnElement[bool]],
    ) -> list[AccountModel]:
        """Up to ``limit`` accounts matching ``conditions``, newest first by keyset on
        ``(created_at, id)``, after the ``before`` row (accounts added meanwhile shift nothing)."""
        query = select(AccountModel).where(*conditions)
        if before is not None:
            query = query.where(tuple_(AccountModel.created_at, AccountModel.id) < before)
        query = query.order_by(AccountModel.created_at.desc(), AccountModel.id.desc()).limit(limit)
        return list(await self.session.scalars(query))

    async def lock_inactive_since(self, cutoff: datetime) -> list[uuid.UUID]:
        """Ids of active accounts not seen (signed in, or registered) since ``cutoff``, locked;
        rows another transaction holds are skipped (a concurrent run takes them)."""
        return list(
            await self.session.scalars(
                select(AccountModel.id)
                .where(
                    AccountModel.status == AccountStatus.ACTIVE,
                    func.coalesce(AccountModel.last_login_at, AccountModel.created_at) < cutoff,
                )
                .with_for_update(skip_locked=True)
            )
        )


class SessionRepository:
    """Sessions (refresh-token families) and their refresh tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_family(self, family: SessionModel) -> None:
        self.session.add(family)
        await self.session.flush()  # the family row first: its tokens reference it

    async def add_token(self, token: RefreshTokenModel, *, flush: bool = True) -> None:
        self.session.add(token)
        if flush:
            await self.session.flush()

    async def token_by_hash(self, token_hash: str) -> RefreshTokenModel | None:
        token: RefreshTokenModel | None = await self.session.scalar(
            select(RefreshTokenModel).where(RefreshTokenModel.token_hash == token_hash)
        )
        return token

    async def lock_family(self, session_id: uuid.UUID) -> SessionModel | None:
        return await self.session.get(SessionModel, session_id, with_for_update=True)

    async def for_account(self, account_id: uuid.UUID, *, limit: int) -> list[SessionModel]:
        """The account's sessions, most recently used first (live and ended ones alike)."""
        return list(
            await self.session.scalars(
                select(SessionModel)
                .where(SessionModel.account_id == account_id)
                .order_by(SessionModel.last_used_at.desc(), SessionModel.id.desc())
                .limit(limit)
            )
        )

    async def revoke_for_accounts(self, account_ids: Sequence[uuid.UUID], reason: str) -> int:
        """End every live session of the accounts; how many ended."""
        result = await self.session.execute(
            update(SessionModel)
            .where(SessionModel.account_id.in_(account_ids), SessionModel.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoked_reason=reason)
            .returning(SessionModel.id)
        )
        return len(result.all())

    async def purge_ended_before(self, horizon: datetime, *, limit: int) -> int:
        """Delete sessions (their tokens cascade) expired or revoked before ``horizon``."""
        stale = (
            select(SessionModel.id)
            .where(or_(SessionModel.expires_at < horizon, SessionModel.revoked_at < horizon))
            .limit(limit)
        )
        result = await self.session.execute(
            delete(SessionModel).where(SessionModel.id.in_(stale)).returning(SessionModel.id)
        )
        return len(result.all())


class TokenRotation:
    """The statements of a refresh token's rotation, in one transaction on the driver connection
    (:func:`nova_kit.db.driver_transaction`): the token and its family locked with the account
    read alongside, then either the rotation's writes in one statement or the family's end. The
    objects answered are detached: the rotation writes what changes through these methods."""

    def __init__(self, statements: StatementTransaction) -> None:
        self.statements = statements

    async def lock_token(
        self, token_hash: str
    ) -> tuple[RefreshTokenModel, SessionModel, AccountModel] | None:
        """The token and its family locked (``FOR UPDATE``), the account read alongside, in one
        round trip."""
        row = await self.statements.one_or_none(_LOCK_TOKEN, token_hash=token_hash)
        if row is None:
            return None
        token = RefreshTokenModel(**{name: row.pop(f"token_{name}") for name in _TOKEN_COLUMNS})
        family = SessionModel(**{name: row.pop(f"session_{name}") for name in _SESSION_COLUMNS})
        return token, family, AccountModel(**row)

    async def token_used_at(self, token_id: uuid.UUID) -> datetime | None:
        row = await self.statements.one_or_none(_TOKEN_USED_AT, token_id=token_id)
        return None if row is None else row["used_at"]

    async def rotate(
        self, token: RefreshTokenModel, successor: RefreshTokenModel, now: datetime
    ) -> None:
        """Spend ``token`` (used now, ``successor`` named), insert ``successor`` and mark the
        family used now: one statement."""
        # (bind parameters named unlike any column: SQLAlchemy's execution, taken while
        # statements are traced, would read a column's name as a value for the CTEs' DML)
        await self.statements.execute(
            _ROTATE,
            now=now,
            spent_id=token.id,
            family_id=successor.session_id,
            next_id=successor.id,
            next_hash=successor.token_hash,
            next_expires_at=successor.expires_at,
        )
        token.used_at = now
        token.successor_id = successor.id

    async def save_revocation(self, family: SessionModel) -> None:
        """Store the family's end as set on it (``revoked_at``, ``revoked_reason``)."""
        await self.statements.execute(
            _REVOKE_FAMILY,
            family_id=family.id,
            ended_at=family.revoked_at,
            reason=family.revoked_reason,
        )


_ACCOUNT_BY_ID = OneRowRead(
    select(AccountModel.__table__).where(AccountModel.__table__.c.id == bindparam("account_id"))
)
_ACCOUNTS_BY_IDS = OneRowRead(
    select(AccountModel.__table__).where(
        AccountModel.__table__.c.id
        == any_(bindparam("account_ids", type_=ARRAY(PG_UUID(as_uuid=True))))
    )
)
_two_factor = cast("Table", TwoFactorModel.__table__)
_SIGN_IN_ACCOUNT = OneRowRead(
    select(
        AccountModel.__table__,
        exists()
        .where(
            _two_factor.c.account_id == AccountModel.__table__.c.id,
            _two_factor.c.enabled_at.is_not(None),
        )
        .label("two_factor_enabled"),
    ).where(AccountModel.__table__.c.email == bindparam("address"))
)

_tokens = cast("Table", RefreshTokenModel.__table__)
_sessions = cast("Table", SessionModel.__table__)
_TOKEN_COLUMNS = tuple(column.name for column in _tokens.c)
_SESSION_COLUMNS = tuple(column.name for column in _sessions.c)
_LOCK_TOKEN = OneRowStatement(
    select(
        *(column.label(f"token_{column.name}") for column in _tokens.c),
        *(column.label(f"session_{column.name}") for column in _sessions.c),
        AccountModel.__table__,
    )
    .join_from(_tokens, _sessions, _sessions.c.id == _tokens.c.session_id)
    .join(AccountModel.__table__, AccountModel.__table__.c.id == _sessions.c.account_id)
    .where(_tokens.c.token_hash == bindparam("token_hash"))
    .with_for_update(of=[_tokens, _sessions])
)
_TOKEN_USED_AT = OneRowStatement(
    select(_tokens.c.used_at).where(_tokens.c.id == bindparam("token_id"))
)
_ROTATE = OneRowStatement(
    select(
        insert(_tokens)
        .values(
            id=bindparam("next_id"),
            session_id=bindparam("family_id"),
            token_hash=bindparam("next_hash"),
            created_at=bindparam("now"),
            expires_at=bindparam("next_expires_at"),
        )
        .returning(_tokens.c.id)
        .cte("successor")
        .c.id
    ).add_cte(
        update(_tokens)
        .where(_tokens.c.id == bindparam("spent_id"))
        .values(used_at=bindparam("now"), successor_id=bindparam("next_id"))
        .returning(_tokens.c.id)
        .cte("spent"),
        update(_sessions)
        .where(_sessions.c.id == bindparam("family_id"))
        .values(last_used_at=bindparam("now"))
        .returning(_sessions.c.id)
        .cte("used"),
    )
)
_REVOKE_FAMILY = OneRowStatement(
    update(_sessions)
    .where(_sessions.c.id == bindparam("family_id"))
    .values(revoked_at=bindparam("ended_at"), revoked_reason=bindparam("reason"))
)


def _record_sign_in() -> Select[Any]:
    """``UPDATE accounts … RETURNING`` and the inserts that hang off the row it answers: no
    account row (gone, or no longer active), no session, token or log entry. The parameters
    are named unlike any column: SQLAlchemy's execution (taken while statements are traced)
    would read a column's name as a value to write."""
    accounts = AccountModel.__table__
    sessions = SessionModel.__table__
    tokens = RefreshTokenModel.__table__
    events = SecurityEventModel.__table__
    now = bindparam("p_now", type_=sessions.c.created_at.type)
    account = (
        update(AccountModel)
        .where(
            accounts.c.id == bindparam("p_account"),
            accounts.c.status == bindparam("p_active", type_=accounts.c.status.type),
        )
        .values(last_login_at=now, updated_at=func.now())
        .returning(*accounts.c)
        .cte("account")
    )
    family = (
        insert(SessionModel)
        .from_select(
            ["id", "account_id", "created_at", "last_used_at", "expires_at", "client_address"],
            select(
                bindparam("p_session", type_=sessions.c.id.type),
                account.c.id,
                now,
                now,
                bindparam("p_session_expires", type_=sessions.c.expires_at.type),
                bindparam("p_session_address", type_=sessions.c.client_address.type),
            ),
        )
        .returning(sessions.c.id)
        .cte("family")
    )
    token = (
        insert(RefreshTokenModel)
        .from_select(
            ["id", "session_id", "token_hash", "created_at", "expires_at"],
            select(
                bindparam("p_token", type_=tokens.c.id.type),
                family.c.id,
                bindparam("p_token_hash", type_=tokens.c.token_hash.type),
                now,
                bindparam("p_token_expires", type_=tokens.c.expires_at.type),
            ),
        )
        .cte("token")
    )
    event = (
        insert(SecurityEventModel)
        .from_select(
            ["id", "account_id", "kind", "occurred_at", "client_address", "user_agent"],
            select(
                bindparam("p_event", type_=events.c.id.type),
                account.c.id,
                bindparam("p_event_kind", type_=events.c.kind.type),
                bindparam("p_event_at", type_=events.c.occurred_at.type),
                bindparam("p_event_address", type_=events.c.client_address.type),
                bindparam("p_event_agent", type_=events.c.user_agent.type),
            ),
        )
        .cte("event")
    )
    return select(account).add_cte(family, token, event)


_RECORD_SIGN_IN = OneRowStatement(_record_sign_in())
