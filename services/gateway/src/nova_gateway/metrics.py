"""Prometheus metrics of the gateway (registered once per process on the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from nova_kit import metrics as kit_metrics
from nova_kit.metrics import LATENCY_BUCKETS

child = kit_metrics.child
"""``metric.labels(*labels)`` looked up once (:func:`nova_kit.metrics.child`)."""

SUBGRAPH_FETCH_DURATION = Histogram(
    "gateway_subgraph_fetch_duration_seconds",
    "Duration of subgraph fetches, by subgraph and outcome (success, error, timeout).",
    ["subgraph", "outcome"],
    buckets=LATENCY_BUCKETS,
)
SUBGRAPH_FETCHES = Counter(
    "gateway_subgraph_fetches",
    "Subgraph fetches, by subgraph and outcome (success, error, timeout).",
    ["subgraph", "outcome"],
)
SUBGRAPH_FETCHES_DEDUPLICATED = Counter(
    "gateway_subgraph_fetches_deduplicated",
    "Query fetches answered by an identical fetch already in flight (no request of their own), "
    "by subgraph.",
    ["subgraph"],
)
SUBGRAPH_GRAPHQL_ERRORS = Counter(
    "gateway_subgraph_graphql_errors",
    "GraphQL errors returned by subgraphs, by subgraph.",
    ["subgraph"],
)
PLAN_CACHE_LOOKUPS = Counter(
    "gateway_plan_cache_lookups",
    "Query plan cache lookups, by result (hit, miss).",
    ["result"],
)
SUPERGRAPH_RELOADS = Counter(
    "gateway_supergraph_reloads",
    "Supergraph loads, by outcome (loaded, unchanged, failed).",
    ["outcome"],
)
SUPERGRAPH_INFO = Gauge(
    "gateway_supergraph_info",
    "1 for the supergraph currently served; the label carries its SHA-256.",
    ["sha256"],
)
GRAPHQL_REQUESTS = Counter(
    "gateway_graphql_requests",
    "GraphQL operations handled, by operation kind and outcome.",
    ["operation", "outcome"],
)
