"""Single-use tokens mailed to an account's address (e-mail verification, password reset).

A token is 32 random bytes (URL-safe base64); only its SHA-256 is stored. Issuing one deletes
the account's earlier tokens of the same purpose, so only the latest mail works; using one
stamps ``used_at`` in the same statement that checks it is unused and unexpired, so of two
concurrent uses exactly one succeeds.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nova_auth.models import AccountModel, OneTimeTokenModel, TokenPurpose

TOKEN_BYTES = 32


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just issued: its value (to mail, never stored) and when it expires."""

    value: str
    expires_at: datetime


class OneTimeTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def issue(
        self, account_id: uuid.UUID, purpose: TokenPurpose, now: datetime, ttl_seconds: int
    ) -> IssuedToken:
        """A new token for the account, replacing its earlier ones of this purpose."""
        await self.revoke(account_id, purpose)
        value = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = now + timedelta(seconds=ttl_seconds)
        self.session.add(
            OneTimeTokenModel(
                id=uuid.uuid4(),
                account_id=account_id,
                purpose=purpose,
                token_hash=hash_token(value),
                created_at=now,
                expires_at=expires_at,
            )
        )
        await self.session.flush()
        return IssuedToken(value, expires_at)

    async def revoke(self, account_id: uuid.UUID, purpose: TokenPurpose) -> None:
        """Delete the account's tokens of this purpose (used ones too: nothing reads them)."""
        await self.session.execute(
            delete(OneTimeTokenModel).where(
                OneTimeTokenModel.account_id == account_id, OneTimeTokenModel.purpose == purpose
            )
        )

    async def live_account(
        self, token: str, purpose: TokenPurpose, now: datetime
    ) -> AccountModel | None:
        """The account of a token that is unused and unexpired, without using it."""
        account: AccountModel | None = await self.session.scalar(
            select(AccountModel)
            .join(OneTimeTokenModel, OneTimeTokenModel.account_id == AccountModel.id)
            .where(*self._live(token, purpose, now))
        )
        return account

    async def use(self, token: str, purpose: TokenPurpose, now: datetime) -> uuid.UUID | None:
        """Spend a live token; the id of its account, or None (unknown, used or expired)."""
        account_id: uuid.UUID | None = await self.session.scalar(
            update(OneTimeTokenModel)
            .where(*self._live(token, purpose, now))
            .values(used_at=now)
            .returning(OneTimeTokenModel.account_id)
        )
        return account_id

    @staticmethod
    def _live(token: str, purpose: TokenPurpose, now: datetime) -> list[ColumnElement[bool]]:
        return [
            OneTimeTokenModel.token_hash == hash_token(token),
            OneTimeTokenModel.purpose == purpose,
            OneTimeTokenModel.used_at.is_(None),
            OneTimeTokenModel.expires_at > now,
        ]

    async def purge_dead_before(self, horizon: datetime, *, limit: int) -> int:
        """Delete tokens that expired, or were used, before ``horizon``."""
        stale = (
            select(OneTimeTokenModel.id)
            .where((OneTimeTokenModel.expires_at < horizon) | (OneTimeTokenModel.used_at < horizon))
            .limit(limit)
        )
        result = await self.session.execute(
            delete(OneTimeTokenModel)
            .where(OneTimeTokenModel.id.in_(stale))
            .returning(OneTimeTokenModel.id)
        )
        return len(result.all())
