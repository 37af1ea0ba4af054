"""Business rules of nova-users. REST controllers, GraphQL resolvers and the admin pages all
call :class:`ProfileService`; none of them touches the database or decides visibility itself.
"""

from __future__ import annotations

import base64
import binascii
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from prometheus_client import Counter
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from nova_kit.errors import AppError, NotFoundError
from nova_kit.tokens import AccessClaims
from nova_users.models import ProfileModel
from nova_users.repositories import ProfileRepository
from nova_users.schemas import (
    DEFAULT_DISPLAY_NAME,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    PageInfo,
    ProfileEdge,
    ProfilePage,
    ProfileRead,
    ProfileSeed,
    ProfileUpdate,
    seed_display_name,
    validation_error,
)
from nova_users.state import UsersState

PROFILE_CHANGES = Counter(
    "nova_users_profile_changes_total",
    "Profile changes by kind: created (from the registration event or on first read), "
    "updated, deleted, restored",
    ["change"],
)


class ProfileDeletedError(AppError):
    """The caller's own profile was deleted (the account is being removed)."""

    status_code = 410
    code = "profile_deleted"


class ProfileFilter(enum.StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking, as far as profile visibility goes."""

    claims: AccessClaims | None
    trusted: bool = False
    """A Nova service on the internal API: sees every field."""

    @property
    def user_id(self) -> uuid.UUID | None:
        if self.claims is None or self.claims.is_service:
            return None
        try:
            return uuid.UUID(self.claims.subject)
        except ValueError:
            return None

    @property
    def is_admin(self) -> bool:
        return self.trusted or (self.claims is not None and self.claims.is_admin)

    def sees_private_fields(self, profile_id: uuid.UUID) -> bool:
        return self.is_admin or self.user_id == profile_id


def present(profile: ProfileModel, viewer: Viewer) -> ProfileRead:
    """The profile as ``viewer`` may see it: private fields only for the owner and admins,
    the deletion time only for admins."""
    private = viewer.sees_private_fields(profile.id)
    return ProfileRead(
        id=profile.id,
        display_name=profile.display_name,
        bio=profile.bio,
        avatar_url=profile.avatar_url,
        locale=profile.locale if private else None,
        timezone=profile.timezone if private else None,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
        deleted_at=profile.deleted_at if viewer.is_admin else None,
    )


def encode_cursor(profile: ProfileModel) -> str:
    raw = f"{profile.created_at.isoformat()}|{profile.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, _, ident = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        instant = datetime.fromisoformat(created)
        if instant.tzinfo is None:
            raise ValueError("naive timestamp")
        return instant, uuid.UUID(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise validation_error([("after", "is not a cursor returned by this API")]) from None


def check_page_size(first: int) -> int:
    if not 1 <= first <= PAGE_SIZE_MAX:
        raise validation_error([("first", f"must be between 1 and {PAGE_SIZE_MAX}")])
    return first


def default_display_name(claims: AccessClaims) -> str:
    """A name for a profile created on first read: the token's ``name`` if it has one."""
    name = claims.raw.get("name")
    return seed_display_name(name) if isinstance(name, str) else DEFAULT_DISPLAY_NAME


@dataclass(frozen=True, slots=True)
class Page:
    profiles: Sequence[ProfileModel]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return encode_cursor(self.profiles[-1]) if self.profiles else None

    def present(self, viewer: Viewer) -> ProfilePage:
        return ProfilePage(
            edges=[
                ProfileEdge(cursor=encode_cursor(profile), node=present(profile, viewer))
                for profile in self.profiles
            ],
            page_info=PageInfo(has_next_page=self.has_next_page, end_cursor=self.end_cursor),
        )


class ProfileService:
    """Profiles: read, create idempotently, update, soft-delete, restore, list.

    Every public method is one unit of work on a session of its own, opened from the service's
    session factory and closed before it returns: callers that run at the same time (GraphQL
    root fields, which Strawberry resolves concurrently; DataLoader batches) never share an
    ``AsyncSession``, which is not safe to use from two coroutines. The SQL is in
    :class:`~nova_users.repositories.ProfileRepository` (ADR 0012).
    """

    def __init__(self, state: UsersState) -> None:
        self.state = state

    # --- reads -----------------------------------------------------------------------------

    async def get(self, user_id: uuid.UUID, *, include_deleted: bool = False) -> ProfileModel:
        async with self.state.sessions() as session:
            return await self._get(
                ProfileRepository(session), user_id, include_deleted=include_deleted
            )

    async def get_many(self, user_ids: Sequence[uuid.UUID]) -> list[ProfileModel | None]:
        """Live profiles for ``user_ids`` in that order (``None`` where missing), in one query."""
        if not user_ids:
            return []
        async with self.state.sessions() as session:
            found = await ProfileRepository(session).get_many(user_ids)
        return [found.get(user_id) for user_id in user_ids]

    async def get_own(self, claims: AccessClaims) -> ProfileModel:
        """The caller's profile, created on first read if the registration event is late.

        The common case, a profile that exists, is one statement outside any session; a
        missing profile takes the unit of work that creates it."""
        found = await ProfileRepository.read(self.state.engine, self._own_id(claims))
        if found is not None:
            if found.deleted_at is not None:
                raise ProfileDeletedError("this profile has been deleted")
            return found
        async with self.state.sessions() as session:
            return await self._get_own(session, claims)

    async def list(
        self,
        *,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
        search: str | None = None,
        status: ProfileFilter = ProfileFilter.ACTIVE,
        ids: Sequence[uuid.UUID] | None = None,
    ) -> Page:
        """One page of profiles, newest first, by keyset on ``(created_at, id)``: rows inserted
        while a client pages never shift the pages it has not read yet. ``ids`` (at most a
        page's worth) keeps those users' profiles only: the names of a page of accounts."""
        check_page_size(first)
        if ids is not None and len(ids) > PAGE_SIZE_MAX:
            raise validation_error([("ids", f"names at most {PAGE_SIZE_MAX} users")])
        before = decode_cursor(after) if after else None
        deleted = {ProfileFilter.ACTIVE: False, ProfileFilter.DELETED: True}.get(status)
        async with self.state.sessions() as session:
            rows = await ProfileRepository(session).newest_first(
                limit=first + 1,
                before=before,
                term=(search or "").strip(),
                deleted=deleted,
                ids=ids,
            )
        return Page(profiles=rows[:first], has_next_page=len(rows) > first)

    # --- writes ----------------------------------------------------------------------------

    async def ensure(
        self,
        user_id: uuid.UUID,
        seed: ProfileSeed,
        *,
        source: Literal["event", "first_read"] = "event",
    ) -> tuple[ProfileModel, bool]:
        """Create the profile if missing, else keep it as it is. Safe under concurrency:
        ``INSERT … ON CONFLICT DO NOTHING`` lets exactly one caller create the row."""
        async with self.state.sessions() as session:
            return await self._ensure(session, user_id, seed, source=source)

    async def update_own(self, claims: AccessClaims, changes: ProfileUpdate) -> ProfileModel:
        """Change the caller's profile. The common case, a live profile, is one
        ``UPDATE … RETURNING`` outside any session (ADR 0030); a missing profile (created on
        first use, then changed) or a deleted one (410) takes the unit of work."""
        values = changes.changes()
        if not values:
            return await self.get_own(claims)
        updated = await ProfileRepository.update_live(
            self.state.engine, self._own_id(claims), values
        )
        if updated is not None:
            PROFILE_CHANGES.labels("updated").inc()
            return updated
        async with self.state.sessions() as session:
            profile = await self._get_own(session, claims)
            updated = await ProfileRepository(session).update(
                profile.id, ProfileModel.deleted_at.is_(None), **values, updated_at=func.now()
            )
            await session.commit()
        if updated is None:
            raise ProfileDeletedError("this profile has been deleted")
        PROFILE_CHANGES.labels("updated").inc()
        return updated

    async def delete(self, user_id: uuid.UUID) -> None:
        """Soft-delete; idempotent. A profile that does not exist yet is recorded as deleted,
        so a late ``user.registered`` cannot bring it back."""
        async with self.state.sessions() as session:
            changed = await ProfileRepository(session).mark_deleted(
                user_id, display_name=DEFAULT_DISPLAY_NAME
            )
            await session.commit()
        if changed:
            PROFILE_CHANGES.labels("deleted").inc()

    async def delete_own(self, claims: AccessClaims) -> None:
        await self.delete(self._own_id(claims))

    async def restore(self, user_id: uuid.UUID) -> ProfileModel:
        """Undo a soft delete; restoring a live profile changes nothing."""
        async with self.state.sessions() as session:
            profiles = ProfileRepository(session)
            restored = await profiles.update(
                user_id,
                ProfileModel.deleted_at.is_not(None),
                deleted_at=None,
                updated_at=func.now(),
            )
            await session.commit()
            if restored is None:
                return await self._get(profiles, user_id, include_deleted=True)
        PROFILE_CHANGES.labels("restored").inc()
        return restored

    # --- internals: steps of one unit of work, on the caller's session ---------------------

    @staticmethod
    async def _get(
        profiles: ProfileRepository, user_id: uuid.UUID, *, include_deleted: bool
    ) -> ProfileModel:
        profile = await profiles.find(user_id, include_deleted=include_deleted)
        if profile is None:
            raise NotFoundError("no such user", code="user_not_found")
        return profile

    async def _get_own(self, session: AsyncSession, claims: AccessClaims) -> ProfileModel:
        user_id = self._own_id(claims)
        profile = await ProfileRepository(session).find(user_id, include_deleted=True)
        if profile is None:
            profile, _ = await self._ensure(
                session,
                user_id,
                ProfileSeed(display_name=default_display_name(claims)),
                source="first_read",
            )
        if profile.deleted_at is not None:
            raise ProfileDeletedError("this profile has been deleted")
        return profile

    async def _ensure(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        seed: ProfileSeed,
        *,
        source: Literal["event", "first_read"],
    ) -> tuple[ProfileModel, bool]:
        profiles = ProfileRepository(session)
        profile = await profiles.insert_if_missing(
            user_id, display_name=seed.display_name, locale=seed.locale
        )
        await session.commit()
        if profile is not None:
            PROFILE_CHANGES.labels(f"created_on_{source}").inc()
            return profile, True
        return await self._get(profiles, user_id, include_deleted=True), False

    @staticmethod
    def _own_id(claims: AccessClaims) -> uuid.UUID:
        viewer = Viewer(claims)
        if viewer.user_id is None:
            raise validation_error([("sub", "the token's subject is not a user id")])
        return viewer.user_id
