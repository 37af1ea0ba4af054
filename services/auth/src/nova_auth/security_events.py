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

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from nova_auth.models import SecurityEventModel
from nova_kit.errors import AppError

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
    context = request_context or RequestContext()
    row = SecurityEventModel(
        id=uuid.uuid4(),
        account_id=account_id,
        kind=kind,
        occurred_at=at or datetime.now(UTC),
        client_address=(context.client_address or None) and context.client_address[:MAX_ADDRESS],
        user_agent=(context.user_agent or None) and context.user_agent[:MAX_USER_AGENT],
        actor=actor,
    )
    session.add(row)
    return row


def encode_cursor(row: SecurityEventModel) -> str:
    raw = f"{row.occurred_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, _, ident = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        when = datetime.fromisoformat(moment)
        return (when if when.tzinfo else when.replace(tzinfo=UTC)), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError):
        raise AppError(
            "after is not a cursor returned by this API",
            code="validation_error",
            status_code=422,
            details=[{"field": "after", "message": "is not a cursor returned by this API"}],
        ) from None


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
            moment, ident = decode_cursor(after)
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
