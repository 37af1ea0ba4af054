"""The security activity an account's owner sees: sign-ins, password changes and resets,
e-mail verification, second-factor changes, each with when and from which client.

Any service method records an entry in its own unit of work with :func:`record_security_event`
(the row commits, or not, with the change it describes)::

    record_security_event(session, account.id, "sign_in", RequestContext(address, user_agent))

Kinds are short ``snake_case`` strings; the ones in :data:`SECURITY_EVENT_KINDS` are those
documented for clients (``docs/contracts.md``). Entries are read newest first by keyset on
``(occurred_at, id)``, :class:`SecurityEventRepository`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from nova_auth.cursors import decode_keyset, encode_keyset
from nova_auth.models import SecurityEventModel

SECURITY_EVENT_KINDS = frozenset(
    {
        "sign_in",
        "password_changed",
        "password_reset",
        "password_reset_requested",
        "password_reset_by_operator",
        "email_verified",
        "email_verification_requested",
    }
)
MAX_USER_AGENT = 256
MAX_ADDRESS = 64


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Where a request came from, as the security log records it."""

    client_address: str | None = None
    user_agent: str | None = None


def record_security_event(
    session: AsyncSession,
    account_id: uuid.UUID,
    kind: str,
    request_context: RequestContext | None = None,
    *,
    at: datetime | None = None,
    actor: str | None = None,
) -> SecurityEventModel:
    """Add a security-log entry for the account to the caller's transaction; ``actor`` names the
    administrator when someone other than the owner acted."""
    row = security_event(account_id, kind, request_context, at=at, actor=actor)
    session.add(row)
    return row


def security_event(
    account_id: uuid.UUID,
    kind: str,
    request_context: RequestContext | None = None,
    *,
    at: datetime | None = None,
    actor: str | None = None,
) -> SecurityEventModel:
    """A security-log entry for the account, not stored yet (see :func:`record_security_event`)."""
    context = request_context or RequestContext()
    return SecurityEventModel(
        id=uuid.uuid4(),
        account_id=account_id,
        kind=kind,
        occurred_at=at or datetime.now(UTC),
        client_address=(context.client_address or None) and context.client_address[:MAX_ADDRESS],
        user_agent=(context.user_agent or None) and context.user_agent[:MAX_USER_AGENT],
        actor=actor,
    )


def encode_cursor(row: SecurityEventModel) -> str:
    return encode_keyset(row.occurred_at, row.id)


class SecurityEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, account_id: uuid.UUID, *, first: int, after: str | None
    ) -> Sequence[SecurityEventModel]:
        """Up to ``first + 1`` entries newest first, after the cursor (the extra one says that
        there is a next page)."""
        query = select(SecurityEventModel).where(SecurityEventModel.account_id == account_id)
        if after:
            moment, ident = decode_keyset(after)
            query = query.where(
                tuple_(SecurityEventModel.occurred_at, SecurityEventModel.id) < (moment, ident)
            )
        query = query.order_by(
            SecurityEventModel.occurred_at.desc(), SecurityEventModel.id.desc()
        ).limit(first + 1)
        return list(await self.session.scalars(query))

    async def purge_before(self, horizon: datetime, *, limit: int) -> int:
        stale = (
            select(SecurityEventModel.id)
            .where(SecurityEventModel.occurred_at < horizon)
            .limit(limit)
        )
        result = await self.session.execute(
            delete(SecurityEventModel)
            .where(SecurityEventModel.id.in_(stale))
            .returning(SecurityEventModel.id)
        )
        return len(result.all())
