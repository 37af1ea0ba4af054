"""Metrics of the REST proxy, by upstream route (never by raw path)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from nova_kit.metrics import LATENCY_BUCKETS

UPSTREAM_DURATION = Histogram(
    "gateway_upstream_request_duration_seconds",
    "Time until an upstream's response headers arrived, by route, method and status class.",
    ["upstream", "method", "status_class"],
    buckets=LATENCY_BUCKETS,
)
UPSTREAM_FAILURES = Counter(
    "gateway_upstream_failures",
    "Proxied requests that got no upstream answer, by route and reason "
    "(unreachable, timeout, protocol, body_too_large).",
    ["upstream", "reason"],
)
UPSTREAM_RETRIES = Counter(
    "gateway_upstream_retries",
    "Retries of idempotent requests whose upstream could not be reached, by route.",
    ["upstream"],
)
EDGE_REJECTIONS = Counter(
    "gateway_edge_rejections",
    "Requests the edge refused before any upstream call, by reason.",
    ["reason"],
)
EDGE_REJECTION_REASONS = (
    "unsafe_path",
    "unauthenticated",
    "body_too_large",
    "buffer_full",
    "csrf",
    "rate_limited",
    "admin_only",
)
# Every reason is exported from the start (at 0): a dashboard shows no rejections, not no data.
for _reason in EDGE_REJECTION_REASONS:
    EDGE_REJECTIONS.labels(_reason)
PROXY_BUFFERED_BYTES = Gauge(
    "gateway_proxy_buffered_bytes",
    "Bytes of chunked request bodies the proxy holds in memory right now, all routes together.",
)
