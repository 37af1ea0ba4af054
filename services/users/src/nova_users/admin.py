"""Admin pages at ``/admin``: list, search and filter profiles, see deleted ones, restore them.

Server-rendered (Jinja) Litestar routes over :class:`ProfileService`, rather than sqladmin or
starlette-admin: those are Starlette apps that want an engine when they are built (ours exists
only once the lifespan has started), sign admins in with their own login form and session, and
would read and restore rows without the service's rules. Here the pages use the same service,
the same ``requires_admin`` guard and the same access tokens as every other route. Tokens come
in the ``Authorization: Bearer`` header (a browser cannot forge it cross-site, so the restore
form needs no CSRF token).
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Controller, MediaType, Response, get, post
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from nova_kit.security import requires_admin
from nova_users.controllers import SERVICE_DEPENDENCIES, Claims, Profiles
from nova_users.services import ProfileFilter

ADMIN_PAGE_SIZE = 50
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@cache
def templates() -> Environment:
    return Environment(
        loader=PackageLoader("nova_users", "templates"),
        autoescape=select_autoescape(["html"]),
        auto_reload=False,
    )


def render(template: str, **context: Any) -> Response[str]:
    html = templates().get_template(template).render(**context)
    return Response(html, media_type=MediaType.HTML, headers=PAGE_HEADERS)


class AdminController(Controller):
    path = "/admin"
    guards = [requires_admin]  # noqa: RUF012
    dependencies = SERVICE_DEPENDENCIES
    include_in_schema = False

    @get("/", summary="Profiles (admin page)")
    async def list_page(
        self,
        claims: Claims,
        profiles: Profiles,
        q: Annotated[str, QueryParameter(max_length=200)] = "",
        status: Annotated[ProfileFilter, QueryParameter()] = ProfileFilter.ACTIVE,
        after: Annotated[str | None, QueryParameter()] = None,
    ) -> Response[str]:
        page = await profiles.list(
            first=ADMIN_PAGE_SIZE, after=after or None, search=q, status=status
        )
        next_url = None
        if page.has_next_page and page.end_cursor:
            query = {"q": q, "status": status.value, "after": page.end_cursor}
            next_url = f"/admin?{urlencode(query)}"
        return render(
            "admin/profiles.html",
            profiles=page.profiles,
            search=q,
            status=status.value,
            statuses=[option.value for option in ProfileFilter],
            next_url=next_url,
            admin_id=claims.subject,
        )

    @get("/profiles/{user_id:uuid}", summary="One profile (admin page)")
    async def detail_page(
        self, claims: Claims, profiles: Profiles, user_id: Annotated[uuid.UUID, PathParameter()]
    ) -> Response[str]:
        profile = await profiles.get(user_id, include_deleted=True)
        return render("admin/profile.html", profile=profile, admin_id=claims.subject)

    @post("/profiles/{user_id:uuid}/restore", summary="Restore a profile (admin page)")
    async def restore(
        self, profiles: Profiles, user_id: Annotated[uuid.UUID, PathParameter()]
    ) -> Redirect:
        await profiles.restore(user_id)
        return Redirect(f"/admin/profiles/{user_id}", status_code=HTTP_303_SEE_OTHER)
