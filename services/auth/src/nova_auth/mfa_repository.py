"""The SQL of two-factor sign-in: an account's TOTP secret and its recovery codes.

Like :mod:`nova_auth.repositories`, it works on the caller's unit of work and never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from nova_auth.models import RecoveryCodeModel, TwoFactorModel
from nova_kit.db import OneRowRead


class TwoFactorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, account_id: uuid.UUID, *, for_update: bool = False
    ) -> TwoFactorModel | None:
        return await self.session.get(
            TwoFactorModel, account_id, with_for_update=True if for_update else None
        )

    @staticmethod
    async def enabled(engine: AsyncEngine, account_id: uuid.UUID) -> bool:
        """Whether the account has a confirmed second factor, by a single statement outside any
        session (see :class:`nova_kit.db.OneRowRead`)."""
        row = await _ENABLED_AT.one_or_none(engine, account_id=account_id)
        return row is not None and row["enabled_at"] is not None

    async def enabled_among(self, account_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of the accounts have a confirmed second factor (one query)."""
        if not account_ids:
            return set()
        rows = await self.session.scalars(
            select(TwoFactorModel.account_id).where(
                TwoFactorModel.account_id.in_(set(account_ids)),
                TwoFactorModel.enabled_at.is_not(None),
            )
        )
        return set(rows)

    async def put_pending(self, row: TwoFactorModel) -> None:
        """Replace whatever the account had (a pending secret) with ``row``."""
        await self.session.execute(
            delete(TwoFactorModel).where(TwoFactorModel.account_id == row.account_id)
        )
        self.session.add(row)
        await self.session.flush()

    async def remove(self, account_id: uuid.UUID) -> bool:
        """Forget the account's second factor and recovery codes; whether it was enabled."""
        enabled = await self.session.scalar(
            delete(TwoFactorModel)
            .where(TwoFactorModel.account_id == account_id)
            .returning(TwoFactorModel.enabled_at)
        )
        await self.session.execute(
            delete(RecoveryCodeModel).where(RecoveryCodeModel.account_id == account_id)
        )
        return enabled is not None

    async def replace_recovery_codes(
        self, account_id: uuid.UUID, code_hashes: Sequence[str], now: datetime
    ) -> None:
        await self.session.execute(
            delete(RecoveryCodeModel).where(RecoveryCodeModel.account_id == account_id)
        )
        self.session.add_all(
            RecoveryCodeModel(id=uuid.uuid4(), account_id=account_id, code_hash=h, created_at=now)
            for h in code_hashes
        )
        await self.session.flush()

    async def unused_recovery_codes(self, account_id: uuid.UUID) -> list[RecoveryCodeModel]:
        return list(
            await self.session.scalars(
                select(RecoveryCodeModel)
                .where(
                    RecoveryCodeModel.account_id == account_id,
                    RecoveryCodeModel.used_at.is_(None),
                )
                .with_for_update()
            )
        )

    async def count_unused_recovery_codes(self, account_id: uuid.UUID) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(RecoveryCodeModel)
            .where(RecoveryCodeModel.account_id == account_id, RecoveryCodeModel.used_at.is_(None))
        )
        return int(count or 0)

    async def use_recovery_code(self, code_id: uuid.UUID, now: datetime) -> bool:
        result = await self.session.execute(
            update(RecoveryCodeModel)
            .where(RecoveryCodeModel.id == code_id, RecoveryCodeModel.used_at.is_(None))
            .values(used_at=now)
            .returning(RecoveryCodeModel.id)
        )
        return result.first() is not None


_ENABLED_AT = OneRowRead(
    select(TwoFactorModel.__table__.c.enabled_at).where(
        TwoFactorModel.__table__.c.account_id == bindparam("account_id")
    )
)
