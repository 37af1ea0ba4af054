"""The model admin of nova-auth at ``/admin/data/auth``: accounts and the security log.

Generated from the models by starlette-admin through the kit's admin (``nova_kit.admin``,
ADR 0019). Accounts: search by e-mail or id, filters (status, roles, verified), sorting, a detail
page with the account's second factor, its recent security events and sessions. Disable, enable
and resetting the second factor are actions over the same service calls as the REST API
(disabling ends every session and revokes the account's access tokens; every one records its
event). No credential is ever shown: password hashes, TOTP secrets, recovery-code and token
hashes have no field.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, exists, not_, or_, select
from starlette.requests import Request
from starlette_admin import ComputedField, EnumField, ListField
from starlette_admin.actions import row_action
from starlette_admin.contrib.sqla.filters import IsNotNullFilter, IsNullFilter, SqlaFilterRegistry
from starlette_admin.exceptions import ActionFailed
from starlette_admin.filters import FilterApplyContext, FilterRegistry
from starlette_admin.filters.base import BaseFilter, FilterDataType
from starlette_admin.filters.boolean import IsFalseFilter, IsTrueFilter
from starlette_admin.flash import flash

from nova_auth.config import AuthSettings
from nova_auth.models import (
    AccountModel,
    AccountStatus,
    SecurityEventModel,
    SessionModel,
    TwoFactorModel,
)
from nova_auth.services.admin import AccountAdminService
from nova_auth.services.two_factor import TwoFactorService
from nova_auth.state import AUTH_STATE
from nova_kit.admin import AdminModelView, AdminSite, admin_claims
from nova_kit.app import Runtime

AUTH_ADMIN_PATH = "/admin/data/auth"
RECENT = 10
"""Security events and sessions shown on an account's page."""


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


class TwoFactorField(ComputedField):
    """Whether the account signs in with a second factor (never the secret itself)."""

    async def parse_obj(self, request: Request, obj: Any) -> str:
        enabled = await request.state.session.scalar(
            select(TwoFactorModel.enabled_at).where(TwoFactorModel.account_id == obj.id)
        )
        return f"on since {_when(enabled)}" if enabled is not None else "off"


def _has_two_factor() -> Any:
    return exists().where(
        TwoFactorModel.account_id == AccountModel.id, TwoFactorModel.enabled_at.is_not(None)
    )


class HasTwoFactorFilter(IsTrueFilter):
    def apply(self, ctx: FilterApplyContext) -> Any:
        return _has_two_factor()


class LacksTwoFactorFilter(IsFalseFilter):
    def apply(self, ctx: FilterApplyContext) -> Any:
        return not_(_has_two_factor())


class HasRoleFilter(BaseFilter):
    """``roles__has=admin``: accounts whose roles include one."""

    name = "has"
    label = "Has"
    data_type = FilterDataType.STRING

    def apply(self, ctx: FilterApplyContext) -> Any:
        return AccountModel.roles.any(ctx.value)


class RecentSecurityEvents(ComputedField):
    async def parse_obj(self, request: Request, obj: Any) -> str:
        rows = await request.state.session.scalars(
            select(SecurityEventModel)
            .where(SecurityEventModel.account_id == obj.id)
            .order_by(SecurityEventModel.occurred_at.desc())
            .limit(RECENT)
        )
        return (
            " · ".join(
                f"{_when(row.occurred_at)} {row.kind}"
                + (f" from {row.client_address}" if row.client_address else "")
                + (f" by {row.actor}" if row.actor else "")
                for row in rows
            )
            or "none"
        )


class RecentSessions(ComputedField):
    async def parse_obj(self, request: Request, obj: Any) -> str:
        rows = await request.state.session.scalars(
            select(SessionModel)
            .where(SessionModel.account_id == obj.id)
            .order_by(SessionModel.created_at.desc())
            .limit(RECENT)
        )
        return (
            " · ".join(
                f"started {_when(row.created_at)}, last used {_when(row.last_used_at)}, "
                + (
                    f"ended {_when(row.revoked_at)} ({row.revoked_reason})"
                    if row.revoked_at is not None
                    else f"open until {_when(row.expires_at)}"
                )
                + (f", from {row.client_address}" if row.client_address else "")
                for row in rows
            )
            or "none"
        )


class AccountAdmin(AdminModelView):
    key = "account"
    display_name = "Account"
    menu_label = "Accounts"
    icon = "fa fa-user-shield"
    fields = (  # type: ignore[assignment]  # names: starlette-admin converts them
        "id",
        "email",
        "email_verified",
        EnumField("status", choices=[(status.value, status.value) for status in AccountStatus]),
        "roles",
        TwoFactorField("two_factor", label="Two-factor"),
        "disabled_reason",
        "created_at",
        "last_login_at",
        "password_changed_at",
        RecentSecurityEvents("security_events", label="Recent security events"),
        RecentSessions("sessions", label="Recent sessions"),
    )
    exclude_fields_from_list = (
        "disabled_reason",
        "password_changed_at",
        "security_events",
        "sessions",
    )
    searchable_fields = (
        "email",
        "email_verified",
        "status",
        "roles",
        "two_factor",
        "created_at",
        "last_login_at",
    )
    sortable_fields = ("email", "status", "created_at", "last_login_at")
    fields_default_sort = (("created_at", True),)

    def __init__(self, accounts: AccountAdminService, two_factor: TwoFactorService) -> None:
        self.accounts = accounts
        self.two_factor = two_factor
        super().__init__(AccountModel)

    def get_filter_registry(self) -> FilterRegistry:
        return SqlaFilterRegistry(
            {
                ListField: [HasRoleFilter, IsNullFilter, IsNotNullFilter],
                TwoFactorField: [HasTwoFactorFilter, LacksTwoFactorFilter],
            }
        )

    def get_search_query(self, request: Request, term: str) -> Any:
        term = term.strip()
        return or_(
            AccountModel.email.ilike(f"%{term}%"),
            cast(AccountModel.id, String).ilike(f"{term}%"),
        )

    async def is_row_action_allowed_for_obj(self, request: Request, name: str, obj: Any) -> bool:
        if name == "disable":
            return bool(obj.status == AccountStatus.ACTIVE)
        if name == "enable":
            return bool(obj.status == AccountStatus.DISABLED)
        if name == "reset_two_factor":
            return bool(obj.status != AccountStatus.DELETED)
        return await super().is_row_action_allowed_for_obj(request, name, obj)

    @row_action(
        name="disable",
        text="Disable",
        confirmation="Disable this account? Every session ends and its tokens stop working.",
        submit_btn_text="Disable",
        icon_class="fa fa-ban",
    )
    async def disable(self, request: Request, pk: Any) -> None:
        admin = admin_claims(request).subject
        await self.run(
            request,
            lambda: self.accounts.disable(
                self.uuid_of(pk), by=admin, reason="disabled by an administrator"
            ),
            "Account disabled; its sessions are ended.",
        )

    @row_action(
        name="enable",
        text="Enable",
        confirmation="Let this account sign in again?",
        submit_btn_text="Enable",
        icon_class="fa fa-circle-check",
    )
    async def enable(self, request: Request, pk: Any) -> None:
        admin = admin_claims(request).subject
        await self.run(
            request,
            lambda: self.accounts.set_status(self.uuid_of(pk), "active", None, by=admin),
            "Account enabled.",
        )

    @row_action(
        name="reset_two_factor",
        text="Reset two-factor",
        confirmation="Remove this account's second factor (a lost device)? Its owner signs in "
        "with the password alone until they set up a new one.",
        submit_btn_text="Reset",
        icon_class="fa fa-key",
        exclude_from_list=True,
    )
    async def reset_two_factor(self, request: Request, pk: Any) -> None:
        account_id, admin = self.uuid_of(pk), admin_claims(request).subject
        if not await self.run(request, lambda: self.two_factor.reset(account_id, by=admin), None):
            raise ActionFailed("this account has no second factor")
        flash(request, "Second factor removed.", "success")


class SecurityEventAdmin(AdminModelView):
    key = "security-event"
    display_name = "Security event"
    menu_label = "Security events"
    icon = "fa fa-list"
    fields = (  # type: ignore[assignment]  # names: starlette-admin converts them
        "id",
        "account_id",
        "kind",
        "occurred_at",
        "client_address",
        "user_agent",
        "actor",
    )
    exclude_fields_from_list = ("id", "user_agent")
    searchable_fields = ("kind", "client_address", "occurred_at")
    sortable_fields = ("kind", "occurred_at")
    fields_default_sort = (("occurred_at", True),)

    def __init__(self) -> None:
        super().__init__(SecurityEventModel)

    def get_search_query(self, request: Request, term: str) -> Any:
        term = term.strip()
        return or_(
            SecurityEventModel.kind.ilike(f"%{term}%"),
            SecurityEventModel.client_address.ilike(f"{term}%"),
            cast(SecurityEventModel.account_id, String).ilike(f"{term}%"),
        )


def auth_views(runtime: Runtime) -> list[AdminModelView]:
    state = AUTH_STATE.get(runtime.state)
    return [
        AccountAdmin(AccountAdminService(state), TwoFactorService(state)),
        SecurityEventAdmin(),
    ]


def auth_admin(settings: AuthSettings) -> AdminSite:
    return AdminSite("Nova · auth", AUTH_ADMIN_PATH, views=auth_views, settings=settings)
