"""The model admin of a service: starlette-admin's SQLAlchemy views mounted in Litestar.

A service describes its views (``AdminModelView`` subclasses, one per model) and gets one route
handler and one start-up hook::

    site = AdminSite("Nova users", USERS_ADMIN_PATH, views=profile_views, settings=settings)
    create_service_app(..., route_handlers=[*controllers, site.route_handler()],
                       on_startup=[..., site.start])

What every admin of Nova shares (ADR 0019):

- **Nova's sign-in, no second one.** The admin takes the access tokens every route takes (the
  ``Authorization`` header; through the gateway, the browser's session cookie turned into that
  header) and requires the ``admin`` role with the kit's own check before starlette-admin sees
  the request: 401/403 (a page for a browser, JSON for the rest) and nothing else runs.
- **Reads only, through a read-only transaction.** The views list, search, filter, sort and show
  rows on a session whose transactions are ``READ ONLY``; creating, editing, deleting, importing
  and exporting rows are off. Every change is an action that calls the service layer (which
  records events and revokes tokens), and is logged with the acting administrator.
- **No secrets on a page.** Views list their fields explicitly; a field whose name says it holds
  a password, a hash, a secret or a token refuses to be declared.
- **Offline pages.** Every asset is served from the installed package; the one remote font of
  starlette-admin's base template is left out (``admin_assets/templates/base.html``).
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from litestar import Litestar, asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount
from starlette_admin.auth import AdminUser, BaseAuthProvider
from starlette_admin.contrib.sqla import Admin, ModelView
from starlette_admin.exceptions import ActionFailed
from starlette_admin.flash import flash

from nova_kit.admin_access import ADMIN_PAGE_HEADERS, admin_claims_or_refusal, send_admin_refusal
from nova_kit.app import Runtime
from nova_kit.compat import without_starlette_admin_csrf
from nova_kit.errors import AppError
from nova_kit.security import CLAIMS_STATE_KEY
from nova_kit.settings import AdminSettings
from nova_kit.tokens import AccessClaims

logger = logging.getLogger("nova_kit.admin")

ASSETS = Path(__file__).parent / "admin_assets"
SECRET_FIELD = re.compile(r"^password$|secret|totp|hash$|token$|recovery_code", re.IGNORECASE)
"""Names of fields no admin page may show (credentials and what stands for them)."""


class ReadOnlySession(Session):
    """The admin's ORM session: every transaction it begins is ``READ ONLY`` in PostgreSQL, so a
    view can read rows and nothing that reaches it through starlette-admin can write one."""


@event.listens_for(ReadOnlySession, "after_begin")
def _read_only(_session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def admin_claims(request: Request) -> AccessClaims:
    """The verified claims of the administrator making this admin request."""
    claims = request.scope.get("state", {}).get(CLAIMS_STATE_KEY)
    if not isinstance(claims, AccessClaims):  # pragma: no cover - the mount checked them
        raise RuntimeError("admin request without verified administrator claims")
    return claims


class NovaAdminAuth(BaseAuthProvider):
    """starlette-admin's view of who is signed in: the administrator whose token the mount
    verified (``AdminSite.handle`` refuses every other request before it gets here)."""

    async def authenticate(self, request: Request) -> AdminUser | None:
        claims = request.scope.get("state", {}).get(CLAIMS_STATE_KEY)
        if not isinstance(claims, AccessClaims) or not claims.is_admin:
            return None
        return AdminUser(username=str(claims.raw.get("email") or claims.subject))


class AdminModelView(ModelView):
    """A read-only view of one model whose changes are actions over the service layer.

    Subclasses list ``fields`` (never left to inference) and write actions with starlette-admin's
    ``@row_action``/``@action`` decorators that call a service method; :meth:`run` turns a
    service's refusal into the message the page shows. Every action is logged with the acting
    administrator, whether it succeeded or not.
    """

    page_size = 25
    page_size_options = (25, 50, 100)
    exporters = ()
    importers = ()
    column_visibility = False

    def __init__(self, model: type[Any], **kwargs: Any) -> None:
        declared = [getattr(field, "name", field) for field in self.fields]
        if not declared:
            raise ValueError(f"{type(self).__name__} must list its fields")
        secret = [str(name) for name in declared if SECRET_FIELD.search(str(name))]
        if secret:
            raise ValueError(f"{type(self).__name__} may not show {', '.join(secret)}")
        super().__init__(model, **kwargs)

    async def find_by_pk(self, request: Request, pk: Any) -> Any:
        """The row, or None for a key that cannot be one (a 404 page, a refused action)."""
        try:
            return await super().find_by_pk(request, pk)
        except (ValueError, TypeError):
            return None

    def can_create(self, request: Request) -> bool:
        return False

    def can_edit(self, request: Request) -> bool:
        return False

    def can_delete(self, request: Request) -> bool:
        return False

    def can_export(self, request: Request) -> bool:
        return False

    def can_import(self, request: Request) -> bool:
        return False

    async def after_action(
        self,
        request: Request,
        name: str,
        selection: Any,
        success: bool,
        error: str | None = None,
    ) -> None:
        claims = admin_claims(request)
        logger.info(
            "admin action %s on %s %s",
            name,
            self.key,
            "done" if success else "refused",
            extra={
                "admin_id": claims.subject,
                "admin_view": self.key,
                "admin_action": name,
                "targets": [str(pk) for pk in await selection.pks()],
                "succeeded": success,
                "refusal": error,
            },
        )

    @staticmethod
    def uuid_of(pk: Any) -> uuid.UUID:
        """The row's id from an action's ``pk``; a malformed one is the action's refusal."""
        try:
            return uuid.UUID(str(pk))
        except ValueError:
            raise ActionFailed("no such row") from None

    @staticmethod
    async def run[T](request: Request, call: Callable[[], Awaitable[T]], done: str | None) -> T:
        """Await a service call; its refusal (an ``AppError``) becomes the action's message,
        and ``done`` (if any) is flashed on success."""
        try:
            result = await call()
        except AppError as error:
            raise ActionFailed(error.message) from error
        if done:
            flash(request, done, "success")
        return result


ViewsFactory = Callable[[Runtime], Sequence[AdminModelView]]


class AdminSite:
    """One service's model admin, mounted at ``path`` (the same path the gateway serves it at,
    so the links starlette-admin builds are right both directly and through the gateway)."""

    def __init__(
        self,
        title: str,
        path: str,
        *,
        views: ViewsFactory,
        settings: AdminSettings,
    ) -> None:
        self.title = title
        self.path = "/" + path.strip("/")
        self.views = views
        self.settings = settings
        self.app: Starlette | None = None
        self.app_views: list[AdminModelView] = []

    def start(self, runtime: Runtime) -> None:
        """The start-up hook: the views need the engine, which exists once the lifespan runs."""
        if runtime.engine is None:
            raise RuntimeError("the model admin needs the service's database")
        sessions = async_sessionmaker(
            runtime.engine,
            class_=AsyncSession,
            expire_on_commit=False,
            autoflush=False,
            sync_session_class=ReadOnlySession,
        )
        admin = Admin(
            sessions,
            title=self.title,
            base_url=self.path,
            route_name="admin",
            templates_dir=str(ASSETS / "templates"),
            static_dir=str(ASSETS / "static"),
            auth_provider=NovaAdminAuth(),
            favicon_url="data:,",  # no /favicon.ico request to answer 404 (console errors)
            # Signs flash messages only (a message lost to another replica is harmless).
            secret_key=secrets.token_hex(32),
        )
        admin.templates.env.globals["nova_login_url"] = self.settings.admin_login_url
        without_starlette_admin_csrf(admin)
        self.app_views = [*self.views(runtime)]
        for view in self.app_views:
            admin.add_view(view)
        app = Starlette()
        admin.mount_to(app)
        self.app = app

    def route_samples(self) -> list[tuple[str, str]]:
        """Every route of the built admin as ``(method, path)``, path parameters filled in with
        each view's key (tests request all of them)."""
        if self.app is None:
            raise RuntimeError("the model admin is built at start-up")
        keys = [str(view.key) for view in self.app_views]
        samples: list[tuple[str, str]] = []
        for mount in self.app.routes:
            for route in getattr(mount, "routes", []):
                path = f"{self.path}{route.path}"
                if isinstance(route, Mount):
                    samples.append(("GET", f"{path}/js/nova-admin.js"))
                    continue
                filled = [path] if "{key}" not in path else [path.replace("{key}", k) for k in keys]
                for candidate in filled:
                    concrete = re.sub(r"\{[^}]+\}", "x", candidate)
                    samples += [(method, concrete) for method in sorted(route.methods or ())]
        return samples

    def route_handler(self) -> ASGIRouteHandler:
        return asgi(
            self.path,
            is_mount=True,
            copy_scope=True,
            include_in_schema=False,
            name="model-admin",
        )(self.handle)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        claims = admin_claims_or_refusal(scope)
        if isinstance(claims, AppError):
            await send_admin_refusal(scope, send, claims, login_url=self.settings.admin_login_url)
            return
        if self.app is None:  # pragma: no cover - routes are served after start-up
            raise RuntimeError("the model admin is served before start-up")
        # Litestar hands a mounted app the path below the mount (with a trailing slash added);
        # starlette-admin routes and builds links from the whole path.
        raw = (scope.get("raw_path") or b"").decode("latin-1").split("?", 1)[0]
        below = scope["path"] if raw.endswith("/") else scope["path"].rstrip("/")
        scope["path"] = f"{self.path}{below}"
        scope["raw_path"] = scope["path"].encode()
        # Links point where the browser is: through the gateway, at the host and scheme it was
        # reached at (its X-Forwarded-Host/-Proto). Believing them here needs no trusted peer:
        # they only shape the links of the page answered to the sender of the headers, a page
        # no cache keeps (``no-store``); client addresses still come from trusted peers only.
        forwarded = {
            name: value.decode("latin-1").split(",", 1)[0].strip()
            for name, value in scope["headers"]
            if name in (b"x-forwarded-host", b"x-forwarded-proto")
        }
        if host := forwarded.get(b"x-forwarded-host"):
            scope["headers"] = [
                *((name, value) for name, value in scope["headers"] if name != b"host"),
                (b"host", host.encode("latin-1")),
            ]
        if (scheme := forwarded.get(b"x-forwarded-proto")) in ("http", "https"):
            scope["scheme"] = scheme

        started = False

        async def send_with_headers(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in ADMIN_PAGE_HEADERS if k not in present]
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)  # type: ignore[arg-type]
        except Exception:
            if not started:
                raise  # Litestar answers it: 500 internal_error, logged with the request id
            # Starlette answered 500 already, then raised the error again for the server.
            logger.exception("model admin request failed")


def admin_site_of(app: Litestar) -> AdminSite:
    """The model admin mounted in a service's app."""
    for route in app.routes:
        handler = getattr(route, "route_handler", None)
        owner = getattr(getattr(handler, "fn", None), "__self__", None)
        if isinstance(owner, AdminSite):
            return owner
    raise LookupError("this app has no model admin")
