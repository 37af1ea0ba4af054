"""REST skin of nova-users: ``/api/users/*`` for clients, ``/internal/profiles/*`` for services.

Handlers receive a ready :class:`ProfileService`; guards from ``nova_kit.security`` decide who
may call what, from the roles in the caller's access token.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from nova_kit.errors import ForbiddenError
from nova_kit.security import current_claims, requires_admin, requires_service, requires_user
from nova_kit.tokens import AccessClaims
from nova_users.schemas import (
    PAGE_SIZE_DEFAULT,
    ProfilePage,
    ProfileRead,
    ProfileSeed,
    ProfileUpdate,
)
from nova_users.services import ProfileFilter, ProfileService, Viewer, present
from nova_users.state import UsersState

UserId = Annotated[uuid.UUID, PathParameter(description="the user's id (auth's user id)")]
Profiles = NamedDependency[ProfileService]
Claims = NamedDependency[AccessClaims]


def provide_profile_service(users_state: NamedDependency[UsersState]) -> ProfileService:
    """A service for this request, over the process-wide state. It holds no database session:
    every method opens its own unit of work."""
    return ProfileService(users_state)


SERVICE_DEPENDENCIES = {"profiles": Provide(provide_profile_service, sync_to_thread=False)}


class ProfileController(Controller):
    """Profiles of end users; the list and restore are for administrators."""

    path = "/api/users"
    tags = ["users"]  # noqa: RUF012 - Litestar reads a plain list
    dependencies = SERVICE_DEPENDENCIES

    @get("/me", guards=[requires_user], summary="The caller's profile (created on first read)")
    async def get_me(self, claims: Claims, profiles: Profiles) -> ProfileRead:
        return present(await profiles.get_own(claims), Viewer(claims))

    @patch("/me", guards=[requires_user], summary="Change the caller's profile")
    async def update_me(
        self, claims: Claims, profiles: Profiles, data: JSONBody[ProfileUpdate]
    ) -> ProfileRead:
        return present(await profiles.update_own(claims, data), Viewer(claims))

    @delete("/me", guards=[requires_user], summary="Delete the caller's profile (soft delete)")
    async def delete_me(self, claims: Claims, profiles: Profiles) -> None:
        await profiles.delete_own(claims)

    @get("/{user_id:uuid}", summary="A user's public profile")
    async def get_user(
        self,
        request: Request[Any, Any, Any],
        profiles: Profiles,
        user_id: UserId,
        include_deleted: Annotated[
            bool, QueryParameter(description="administrators only: show a soft-deleted profile")
        ] = False,
    ) -> ProfileRead:
        viewer = Viewer(current_claims(request))
        if include_deleted and not viewer.is_admin:
            raise ForbiddenError("administrator role required", code="admin_required")
        profile = await profiles.get(user_id, include_deleted=include_deleted)
        return present(profile, viewer)

    @get("/", guards=[requires_admin], summary="List profiles (administrators)")
    async def list_users(  # noqa: PLR0917 - query parameters
        self,
        claims: Claims,
        profiles: Profiles,
        first: Annotated[int, QueryParameter(ge=1, le=100, description="page size (1 to 100)")] = (
            PAGE_SIZE_DEFAULT
        ),
        after: Annotated[
            str | None, QueryParameter(description="cursor of the last row seen")
        ] = None,
        search: Annotated[
            str | None, QueryParameter(max_length=200, description="part of a name, or an id")
        ] = None,
        include_deleted: Annotated[
            bool, QueryParameter(description="include soft-deleted profiles")
        ] = False,
        ids: Annotated[
            list[uuid.UUID] | None,
            QueryParameter(description="only these users (repeat the parameter; at most 100)"),
        ] = None,
    ) -> ProfilePage:
        status = ProfileFilter.ALL if include_deleted else ProfileFilter.ACTIVE
        page = await profiles.list(first=first, after=after, search=search, status=status, ids=ids)
        return page.present(Viewer(claims))

    @post(
        "/{user_id:uuid}/restore",
        guards=[requires_admin],
        status_code=HTTP_200_OK,
        summary="Restore a soft-deleted profile (administrators)",
    )
    async def restore_user(
        self, claims: Claims, profiles: Profiles, user_id: UserId
    ) -> ProfileRead:
        return present(await profiles.restore(user_id), Viewer(claims))


class InternalProfileController(Controller):
    """Called by other Nova services with a service token; never routed by the gateway."""

    path = "/internal/profiles"
    tags = ["internal"]  # noqa: RUF012
    guards = [requires_service]  # noqa: RUF012
    dependencies = SERVICE_DEPENDENCIES

    @put(
        "/{user_id:uuid}",
        summary="Create the profile if missing, else keep it (201 created / 200 kept)",
        responses={},
    )
    async def ensure_profile(
        self, claims: Claims, profiles: Profiles, user_id: UserId, data: JSONBody[ProfileSeed]
    ) -> Response[ProfileRead]:
        profile, created = await profiles.ensure(user_id, data)
        return Response(
            present(profile, Viewer(claims, trusted=True)),
            status_code=HTTP_201_CREATED if created else HTTP_200_OK,
        )

    @delete(
        "/{user_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Soft-delete the profile (idempotent)",
    )
    async def delete_profile(self, profiles: Profiles, user_id: UserId) -> None:
        await profiles.delete(user_id)
