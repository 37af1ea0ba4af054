"""The SQL of linked identities (``auth.identities``): who signs in through which provider.

Like :mod:`nova_auth.repositories`, it works on the caller's unit of work and never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nova_auth.models import AccountModel, AccountStatus, IdentityModel, Role


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_subject(self, provider: str, subject: str) -> IdentityModel | None:
        identity: IdentityModel | None = await self.session.scalar(
            select(IdentityModel).where(
                IdentityModel.provider == provider, IdentityModel.subject == subject
            )
        )
        return identity

    async def of_account(self, account_id: uuid.UUID) -> Sequence[IdentityModel]:
        rows = await self.session.scalars(
            select(IdentityModel)
            .where(IdentityModel.account_id == account_id)
            .order_by(IdentityModel.created_at, IdentityModel.id)
        )
        return rows.all()

    async def count_of_account(self, account_id: uuid.UUID) -> int:
        count: int | None = await self.session.scalar(
            select(func.count())
            .select_from(IdentityModel)
            .where(IdentityModel.account_id == account_id)
        )
        return count or 0

    async def add(
        self, account_id: uuid.UUID, provider: str, subject: str, email: str | None, now: datetime
    ) -> IdentityModel:
        """Link an identity now (one already linked raises ``IntegrityError`` on
        ``uq_identities_provider_subject`` here, inside the caller's transaction)."""
        identity = IdentityModel(
            id=uuid.uuid4(),
            account_id=account_id,
            provider=provider,
            subject=subject,
            email=email,
            created_at=now,
            last_used_at=now,
        )
        self.session.add(identity)
        await self.session.flush()
        return identity

    async def touch(self, identity_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(IdentityModel).where(IdentityModel.id == identity_id).values(last_used_at=now)
        )

    async def remove(self, account_id: uuid.UUID, identity_id: uuid.UUID) -> IdentityModel | None:
        removed: IdentityModel | None = await self.session.scalar(
            delete(IdentityModel)
            .where(IdentityModel.id == identity_id, IdentityModel.account_id == account_id)
            .returning(IdentityModel)
        )
        return removed

    async def create_account(self, email: str, *, email_verified: bool) -> AccountModel:
        """A new active account with no password (it signs in through its identity)."""
        account = AccountModel(
            id=uuid.uuid4(),
            email=email,
            email_verified=email_verified,
            email_verified_at=datetime.now(UTC) if email_verified else None,
            password_hash=None,
            status=AccountStatus.ACTIVE,
            roles=[Role.USER],
        )
        self.session.add(account)
        await self.session.flush()
        await self.session.refresh(account)
        return account
