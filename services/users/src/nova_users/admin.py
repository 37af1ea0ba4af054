"""The model admin of nova-users at ``/admin/data/users``: profiles.

Generated from :class:`~nova_users.models.ProfileModel` by starlette-admin through the kit's
admin (``nova_kit.admin``, ADR 0019): list with search (display name or id), filters (a deleted
profile has ``deleted_at`` set), sorting and a detail page, all read-only; soft-delete and restore
are actions over :class:`~nova_users.services.ProfileService`, the same calls the REST and
GraphQL APIs make.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, or_
from starlette.requests import Request
from starlette_admin.actions import row_action

from nova_kit.admin import AdminModelView, AdminSite
from nova_kit.app import Runtime
from nova_users.config import UsersSettings
from nova_users.models import ProfileModel
from nova_users.services import ProfileService
from nova_users.state import USERS_STATE

USERS_ADMIN_PATH = "/admin/data/users"


class ProfileAdmin(AdminModelView):
    key = "profile"
    display_name = "Profile"
    menu_label = "Profiles"
    icon = "fa fa-id-card"
    fields = (  # type: ignore[assignment]  # names: starlette-admin converts them
        "id",
        "display_name",
        "bio",
        "avatar_url",
        "locale",
        "timezone",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    exclude_fields_from_list = ("bio", "avatar_url", "updated_at")
    searchable_fields = ("display_name", "locale", "timezone", "deleted_at")
    sortable_fields = ("display_name", "created_at", "updated_at", "deleted_at")
    fields_default_sort = (("created_at", True),)

    def __init__(self, profiles: ProfileService) -> None:
        self.profiles = profiles
        super().__init__(ProfileModel)

    def get_search_query(self, request: Request, term: str) -> Any:
        term = term.strip()
        return or_(
            ProfileModel.display_name.ilike(f"%{term}%"),
            cast(ProfileModel.id, String).ilike(f"{term}%"),
        )

    async def is_row_action_allowed_for_obj(self, request: Request, name: str, obj: Any) -> bool:
        if name == "soft_delete":
            return obj.deleted_at is None
        if name == "restore":
            return obj.deleted_at is not None
        return await super().is_row_action_allowed_for_obj(request, name, obj)

    @row_action(
        name="soft_delete",
        text="Soft-delete",
        confirmation="Hide this profile from everyone but administrators?",
        submit_btn_text="Soft-delete",
        icon_class="fa fa-eye-slash",
    )
    async def soft_delete(self, request: Request, pk: Any) -> None:
        await self.run(request, lambda: self.profiles.delete(self.uuid_of(pk)), "Profile deleted.")

    @row_action(
        name="restore",
        text="Restore",
        confirmation="Make this profile visible again?",
        submit_btn_text="Restore",
        icon_class="fa fa-rotate-left",
    )
    async def restore(self, request: Request, pk: Any) -> None:
        await self.run(
            request, lambda: self.profiles.restore(self.uuid_of(pk)), "Profile restored."
        )


def profile_views(runtime: Runtime) -> list[AdminModelView]:
    return [ProfileAdmin(ProfileService(USERS_STATE.get(runtime.state)))]


def users_admin(settings: UsersSettings) -> AdminSite:
    return AdminSite("Nova · users", USERS_ADMIN_PATH, views=profile_views, settings=settings)
