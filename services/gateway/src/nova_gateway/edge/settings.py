"""Settings of the gateway's edge: REST routes, browser sessions, rate limits."""

from __future__ import annotations

from typing import Self

from pydantic import Field, field_validator, model_validator

from nova_kit.settings import ServiceSettings

DEFAULT_ROUTES = {
    "/api/auth": "http://127.0.0.1:8001",
    "/api/users": "http://127.0.0.1:8002",
}
DEFAULT_ADMIN_ROUTES = {
    "/admin/data/auth": "http://127.0.0.1:8001",
    "/admin/data/users": "http://127.0.0.1:8002",
}
DEFAULT_ANONYMOUS = [
    "POST /api/auth/register",
    "POST /api/auth/login",
    "POST /api/auth/login/two-factor",
    "POST /api/auth/refresh",
    "POST /api/auth/logout",
    "POST /api/auth/verify-email",
    "POST /api/auth/forgot-password",
    "POST /api/auth/reset-password",
    "GET /api/auth/oidc/providers",
    "GET /api/auth/oidc/*/authorize",
    "GET /api/auth/oidc/*/callback",
    "GET /api/users/*",
]


class EdgeSettings(ServiceSettings):
    """Mixed into ``GatewaySettings``; every field is read as ``NOVA_GATEWAY_<FIELD>``."""

    routes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ROUTES))
    """REST routes: path prefix → upstream base URL (JSON object). ``/internal`` never routes."""
    admin_routes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ADMIN_ROUTES))
    """The services' model admins: path prefix → upstream base URL (JSON object; ``{}`` routes
    none). Only administrators are let through: the edge checks the token's ``admin`` role
    before any upstream call. The prefix is the service's own mount path (links stay right)."""
    admin_login_url: str = "/login"
    """Where the admin's refusal page sends a browser that is not signed in."""
    anonymous_routes: list[str] = Field(default_factory=lambda: list(DEFAULT_ANONYMOUS))
    """``METHOD /path`` patterns (``*`` = one path segment) callable without a token; every
    other proxied request needs a valid access token at the edge."""
    upstream_connect_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    upstream_read_timeout_seconds: float = Field(default=15.0, gt=0, le=600)
    upstream_timeouts: dict[str, float] = Field(default_factory=dict)
    """Read timeouts by route prefix, overriding the default (JSON object)."""
    proxy_max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    proxy_buffer_total_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Chunked request bodies are buffered whole before they are sent upstream; this bounds the
    bytes held that way by all requests at once (past it: 503 ``gateway_busy``). At least
    ``proxy_max_body_bytes``."""
    retry_budget_ratio: float = Field(default=0.2, ge=0, le=1)
    """Retries (of idempotent requests whose upstream could not be reached) as a share of
    requests; a minimum of ``retry_budget_min_per_second`` is always allowed."""
    retry_budget_min_per_second: float = Field(default=5.0, ge=0)

    cookie_sessions: bool = True
    cookie_secure: bool | None = None
    """None: ``Secure`` cookies everywhere but dev/test."""
    cookie_domain: str | None = None
    access_cookie_name: str = "nova_at"
    refresh_cookie_name: str = "nova_rt"
    session_paths_prefix: str = "/api/auth"
    mfa_cookie_name: str = "nova_mfa"
    """Holds the two-factor challenge of a provider sign-in until the second step (httpOnly,
    ``SameSite=Strict``, scoped to ``<prefix>/login/two-factor``, as short-lived as the
    challenge)."""
    two_factor_page: str = Field(default="/login?step=two-factor", pattern=r"^/[^/\\]")
    """The site's page of the second sign-in step, where a provider sign-in of an account with
    two-factor sign-in is sent (with ``next``, the page to return to)."""
    oidc_error_page: str = Field(default="/login", pattern=r"^/[^/\\]")
    """Where a refused provider sign-in sends the browser, with auth's error code as ``error``."""

    rate_limit_enabled: bool = True
    rate_limit_per_client: int = Field(default=600, ge=1)
    rate_limit_per_subject: int = Field(default=1200, ge=1)
    rate_limit_window_seconds: float = Field(default=60.0, gt=0)
    rate_limit_fail_open: bool = True
    """When Redis is down the edge's general request budget lets requests through (logged and
    counted): it guards capacity, not credentials. Sign-in and registration are limited by auth
    itself, which fails closed outside dev/test. False answers 503 rate_limit_unavailable."""

    upstream_openapi_path: str = "/schema/openapi.json"
    openapi_cache_seconds: float = Field(default=60.0, ge=0)

    @field_validator("routes", "admin_routes")
    @classmethod
    def _valid_routes(cls, routes: dict[str, str]) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for prefix, upstream in routes.items():
            normalised = "/" + prefix.strip("/")
            if normalised == "/" or normalised.split("/")[1] == "internal":
                raise ValueError(f"route prefix {prefix!r} is not allowed")
            if not upstream.startswith(("http://", "https://")):
                raise ValueError(f"upstream of {prefix!r} must be an http(s) URL")
            cleaned[normalised] = upstream.rstrip("/")
        return cleaned

    @model_validator(mode="after")
    def _admin_routes_apart(self) -> Self:
        for prefix in self.admin_routes:
            if any(f"{prefix}/".startswith(f"{other}/") for other in self.routes):
                raise ValueError(
                    f"{self.env_name('admin_routes')}: {prefix!r} is under a REST route; an "
                    "admin route must have a prefix of its own"
                )
        return self

    @model_validator(mode="after")
    def _buffer_fits_one_body(self) -> Self:
        if self.proxy_buffer_total_bytes < self.proxy_max_body_bytes:
            raise ValueError(
                f"{self.env_name('proxy_buffer_total_bytes')} must be at least "
                f"{self.env_name('proxy_max_body_bytes')} ({self.proxy_max_body_bytes})"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        return not self.is_dev if self.cookie_secure is None else self.cookie_secure
