"""Settings of nova-gateway (environment variables prefixed ``NOVA_GATEWAY_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from nova_gateway.edge.settings import EdgeSettings

DEFAULT_FORWARDED_HEADERS = ["authorization", "traceparent", "tracestate", "x-request-id"]


class GatewaySettings(EdgeSettings):
    model_config = SettingsConfigDict(env_prefix="NOVA_GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    port: int = Field(default=8000, ge=1, le=65535)
    jwks_url: str | None = None
    """Set it (or ``NOVA_JWKS_URL``) to verify access tokens at the edge."""

    # federation
    supergraph: str = "deploy/supergraph.graphql"
    """Path or http(s) URL of the composed supergraph."""
    supergraph_poll_seconds: float = Field(default=10.0, ge=0)
    """How often to look for a changed supergraph; 0 turns hot reload off."""
    subgraph_urls: dict[str, str] = Field(default_factory=dict)
    """Routing URLs by subgraph name, overriding the supergraph's (JSON object)."""
    subgraph_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    subgraph_timeouts: dict[str, float] = Field(default_factory=dict)
    """Per-subgraph timeouts in seconds (JSON object), overriding the default."""
    subgraph_max_connections: int = Field(default=100, ge=1, le=10_000)
    subgraph_deduplicate_queries: bool = True
    """Send identical subgraph queries that are in flight at the same time once."""
    forward_headers: list[str] = Field(default_factory=lambda: list(DEFAULT_FORWARDED_HEADERS))
    """Client request headers passed on to every subgraph (case-insensitive names)."""
    freeze_heap: bool = True
    """After each supergraph load, exempt the objects alive then from full garbage collections
    (``gc.freeze``): no long event-loop pauses under load."""
    plan_cache_size: int = Field(default=1000, ge=0, le=1_000_000)
    check_invariants: bool | None = None
    """Fail a request (500) whose answer lacks a selected field with no error saying why,
    instead of reporting it as a ``FIELD_NOT_FETCHED`` error. None: on in dev/test, off in
    prod."""

    # request limits
    max_depth: int = Field(default=10, ge=1, le=100)
    max_aliases: int = Field(default=30, ge=0, le=10_000)
    max_tokens: int = Field(default=5000, ge=10, le=1_000_000)
    max_root_fields: int = Field(default=20, ge=1, le=10_000)
    max_fields: int = Field(default=1000, ge=1, le=1_000_000)
    """Fields of an operation with its fragments expanded (counted without expanding them)."""
    max_repeated_fields: int = Field(default=50, ge=1, le=1_000_000)
    """Fields one response name may stand for once same-named fields are merged."""
    max_field_merges: int = Field(default=10_000, ge=1, le=100_000_000)
    """Estimated field comparisons of the check that same-named fields merge (about a
    microsecond of validation each): wide repeated selections are quadratic in it."""
    max_body_bytes: int = Field(default=262_144, ge=1024, le=64 * 1024 * 1024)
    introspection: bool | None = None
    """None: on in dev/test, off in prod."""
    batching: bool = False
    max_batch_size: int = Field(default=10, ge=1, le=1000)

    def check_production(self) -> list[str]:
        problems = super().check_production()
        if self.redis_url is None:
            problems.append(
                f"{self.env_name('redis_url')}: must be set (or REDIS_URL); the edge's rate "
                "limits and token revocations live in Redis"
            )
        if not self.jwks_url:
            problems.append(
                f"{self.env_name('jwks_url')}: must name auth's JWKS (or NOVA_JWKS_URL); "
                "without it the edge checks no access token"
            )
        return problems

    @property
    def invariant_checks_enabled(self) -> bool:
        return self.is_dev if self.check_invariants is None else self.check_invariants

    @property
    def introspection_enabled(self) -> bool:
        return self.is_dev if self.introspection is None else self.introspection
