"""The SQL of nova-users: profiles.

A repository works on the ``AsyncSession`` of one unit of work, which the service method that
opens it owns and closes before it returns; the service decides when to commit. No session
outlives the call that opened it: GraphQL root fields run concurrently, and an ``AsyncSession``
is not safe to share (ADR 0012).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, false, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from nova_kit.db import OneRowRead, OneRowStatement
from nova_users.models import INCLUDE_DELETED, ProfileModel


class ProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    async def read(engine: AsyncEngine, user_id: uuid.UUID) -> ProfileModel | None:
        """One profile, deleted or not, by a single statement outside any session (the hot
        read of ``GET /api/users/me``; see :class:`nova_kit.db.OneRowRead`). The object is
        detached: read it, do not change it."""
        row = await _PROFILE_BY_ID.one_or_none(engine, user_id=user_id)
        return ProfileModel(**row) if row is not None else None

    @staticmethod
    async def update_live(
        engine: AsyncEngine, user_id: uuid.UUID, values: dict[str, Any]
    ) -> ProfileModel | None:
        """Set ``values`` (and ``updated_at``) on the live profile by a single
        ``UPDATE … RETURNING`` outside any session (the hot write of ``PATCH /api/users/me``;
        see :class:`nova_kit.db.OneRowStatement`): the profile as stored, or ``None`` when there
        is no live profile (missing, or soft-deleted). Detached, like :meth:`read`'s."""
        names = tuple(values)
        statement = _LIVE_UPDATES.get(names)
        if statement is None:
            table = ProfileModel.__table__
            statement = OneRowStatement(
                update(table)
                .where(table.c.id == bindparam("user_id"), table.c.deleted_at.is_(None))
                .values({**{name: bindparam(name) for name in names}, "updated_at": func.now()})
                .returning(table)
            )
            _LIVE_UPDATES[names] = statement
        row = await statement.one_or_none(engine, user_id=user_id, **values)
        return ProfileModel(**row) if row is not None else None

    async def find(self, user_id: uuid.UUID, *, include_deleted: bool) -> ProfileModel | None:
        result = await self.session.scalars(
            select(ProfileModel)
            .where(ProfileModel.id == user_id)
            .execution_options(**{INCLUDE_DELETED: include_deleted, "populate_existing": True})
        )
        return result.one_or_none()

    async def get_many(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ProfileModel]:
        """Live profiles by id, in one query."""
        rows = await self.session.scalars(
            select(ProfileModel).where(ProfileModel.id.in_(set(user_ids)))
        )
        return {profile.id: profile for profile in rows}

    async def newest_first(
        self,
        *,
        limit: int,
        before: tuple[datetime, uuid.UUID] | None,
        term: str,
        deleted: bool | None,
        ids: Sequence[uuid.UUID] | None = None,
    ) -> list[ProfileModel]:
        """Profiles newest first by keyset on ``(created_at, id)``, after the cursor ``before``.

        ``deleted``: ``None`` for every profile, ``True`` for soft-deleted ones only, ``False``
        for live ones only. ``term`` matches part of the display name, or the id; ``ids``, when
        given, keeps those profiles only.
        """
        statement = select(ProfileModel).order_by(
            ProfileModel.created_at.desc(), ProfileModel.id.desc()
        )
        if deleted is not False:
            statement = statement.execution_options(**{INCLUDE_DELETED: True})
        if deleted:
            statement = statement.where(ProfileModel.deleted_at.is_not(None))
        if ids is not None:
            statement = statement.where(ProfileModel.id.in_(set(ids)))
        if before is not None:
            created_at, user_id = before
            statement = statement.where(
                tuple_(ProfileModel.created_at, ProfileModel.id)
                < tuple_(literal(created_at), literal(user_id))
            )
        if "\x00" in term:  # no name holds NUL, and PostgreSQL text cannot carry one
            statement = statement.where(false())
        elif term:
            statement = statement.where(_matches(term))
        return list(await self.session.scalars(statement.limit(limit)))

    async def insert_if_missing(
        self, user_id: uuid.UUID, *, display_name: str, locale: str | None
    ) -> ProfileModel | None:
        """``INSERT … ON CONFLICT DO NOTHING``: the new profile, or ``None`` if one existed."""
        inserted = await self.session.scalars(
            pg_insert(ProfileModel)
            .values(id=user_id, display_name=display_name, locale=locale)
            .on_conflict_do_nothing(index_elements=[ProfileModel.id])
            .returning(ProfileModel),
            execution_options={"populate_existing": True},
        )
        return inserted.one_or_none()

    async def mark_deleted(self, user_id: uuid.UUID, *, display_name: str) -> bool:
        """Soft-delete the profile, recording one as deleted if there is none yet (so a late
        creation cannot bring it back); whether anything changed."""
        result = await self.session.execute(
            pg_insert(ProfileModel)
            .values(id=user_id, display_name=display_name, deleted_at=func.now())
            .on_conflict_do_update(
                index_elements=[ProfileModel.id],
                set_={"deleted_at": func.now(), "updated_at": func.now()},
                where=ProfileModel.deleted_at.is_(None),
            )
            .returning(ProfileModel.id)
        )
        return result.scalar_one_or_none() is not None

    async def update(
        self, user_id: uuid.UUID, condition: Any, **values: Any
    ) -> ProfileModel | None:
        """Set ``values`` where ``condition`` holds; the profile as stored, or ``None``."""
        result = await self.session.scalars(
            update(ProfileModel)
            .where(ProfileModel.id == user_id, condition)
            .values(**values)
            .returning(ProfileModel),
            execution_options={"synchronize_session": False, "populate_existing": True},
        )
        return result.one_or_none()


def _matches(term: str) -> Any:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    condition = ProfileModel.display_name.ilike(f"%{escaped}%", escape="\\")
    try:
        return or_(condition, ProfileModel.id == uuid.UUID(term))
    except ValueError:
        return condition


_PROFILE_BY_ID = OneRowRead(
    select(ProfileModel.__table__).where(ProfileModel.__table__.c.id == bindparam("user_id"))
)
_LIVE_UPDATES: dict[tuple[str, ...], OneRowStatement] = {}
"""``update_live``'s statements by the columns they set (at most one per subset of the fields
a client may change)."""
