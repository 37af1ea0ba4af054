"""Tables of nova-users, all in the PostgreSQL schema ``users``.

Soft delete is a mixin: a model with :class:`SoftDeleteMixin` has a ``deleted_at`` column, and
every ORM ``SELECT`` run through a :class:`UsersSession` leaves soft-deleted rows out unless the
statement opts in with ``.execution_options(include_deleted=True)`` (what admins ask for).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, event, func
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria

from nova_kit.db import declarative_base

Base = declarative_base("users")

INCLUDE_DELETED = "include_deleted"


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class SoftDeleteMixin:
    deleted_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, default=None
    )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ProfileModel(SoftDeleteMixin, TimestampMixin, Base):  # type: ignore[valid-type,misc]
    """A user's profile; ``id`` is the auth service's user id."""

    __tablename__ = "profiles"
    __table_args__ = (Index("ix_profiles_created_at_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(64), nullable=False)
    bio: Mapped[str | None] = mapped_column(String(500), nullable=True)
    avatar_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    locale: Mapped[str | None] = mapped_column(String(35), nullable=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)


class UsersSession(Session):
    """The ORM session of nova-users: soft-deleted rows are invisible unless asked for."""


@event.listens_for(UsersSession, "do_orm_execute")
def _exclude_soft_deleted(state: ORMExecuteState) -> None:
    if (
        state.is_select
        and not state.is_column_load
        and not state.is_relationship_load
        and not state.execution_options.get(INCLUDE_DELETED, False)
    ):
        state.statement = state.statement.options(
            with_loader_criteria(
                SoftDeleteMixin,
                _not_deleted,
                include_aliases=True,
            )
        )


def _not_deleted(cls: Any) -> Any:
    return cls.deleted_at.is_(None)
