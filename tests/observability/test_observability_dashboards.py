"""The Grafana dashboards the chart ships read only metrics that exist.

Every PromQL expression (panel targets and templating queries) of
``deploy/helm/nova/dashboards/*.json`` may only select series of families documented in
``docs/metrics.md`` — which ``test_observability_metrics.py`` checks against the services'
real ``/metrics`` — and the reference's *Used by* column names exactly the dashboards that read
each family. Every dashboard validates against Grafana's dashboard JSON model
(``grafana-dashboard.schema.json``) and ships in a ConfigMap Grafana's dashboard sidecar imports.
"""

from __future__ import annotations

import copy
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from deploy.render import render
from tests.observability.observability_helpers import (
    DocumentedMetric,
    dashboard_queries,
    dashboards,
    documented_metrics,
    grafana_query_metric_names,
    known_series_names,
    panels,
    promql_metric_names,
    queryable_names,
)

REQUIRED = {
    "nova-overview.json": {"http_server_request_duration_seconds"},
    "nova-gateway.json": {
        "gateway_subgraph_fetch_duration_seconds",
        "gateway_subgraph_fetches_total",
        "gateway_plan_cache_lookups_total",
        "gateway_supergraph_info",
        "gateway_supergraph_reloads_total",
        "gateway_upstream_request_duration_seconds",
        "gateway_upstream_failures_total",
    },
    "nova-auth.json": {"nova_auth_operations_total", "db_client_connections"},
    "nova-worker.json": {
        "worker_tasks_total",
        "worker_task_duration_seconds",
        "worker_queue_depth",
        "worker_beat_last_run_timestamp_seconds",
    },
    "nova-datastores.json": {"db_client_connections", "db_client_connections_max"},
}


def short_name(dashboard: dict[str, Any]) -> str:
    """``Nova / Gateway`` -> ``Gateway``: how docs/metrics.md names a dashboard."""
    title = str(dashboard["title"])
    assert title.startswith("Nova / "), title
    return title.removeprefix("Nova / ")


def families_used(dashboard: dict[str, Any], documented: dict[str, DocumentedMetric]) -> set[str]:
    by_series = {name: m.name for m in documented.values() for name in queryable_names(m)}
    used = set()
    for _, query in dashboard_queries(dashboard):
        used |= {by_series[name] for name in grafana_query_metric_names(query) if name in by_series}
    return used


@pytest.fixture(scope="module")
def documented() -> dict[str, DocumentedMetric]:
    return documented_metrics()


def test_the_promql_reader_finds_metric_names_and_nothing_else() -> None:
    expr = (
        'sum by (subgraph, outcome) (rate(gateway_subgraph_fetches_total{service=~".+-gateway", '
        'outcome!="success"}[$__rate_interval])) / ignoring(outcome) group_left '
        "sum by (subgraph) (rate(gateway_subgraph_fetches_total[5m])) > 0.05 and on (namespace) "
        "time() - max(worker_beat_last_run_timestamp_seconds offset 1h) > 3600"
    )
    assert promql_metric_names(expr) == {
        "gateway_subgraph_fetches_total",
        "worker_beat_last_run_timestamp_seconds",
    }
    assert promql_metric_names(
        "histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket"
        '{namespace="$namespace", route!~"/health|/ready"}[5m]))) / (1 - $slo)'
    ) == {"http_server_request_duration_seconds_bucket"}
    assert promql_metric_names("up == 0") == {"up"}
    assert grafana_query_metric_names('label_values(nova_build_info{a="b"}, namespace)') == {
        "nova_build_info"
    }
    assert grafana_query_metric_names("label_values(namespace)") == set()


METRIC_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,30}", fullmatch=True).filter(
    lambda name: (
        name
        not in {
            "by",
            "on",
            "or",
            "and",
            "bool",
            "unless",
            "offset",
            "without",
            "ignoring",
            "group_left",
            "group_right",
            "inf",
            "nan",
        }
    )
)
LABEL_VALUES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters='"\\\n'), max_size=20
)


@given(
    first=METRIC_NAMES,
    second=METRIC_NAMES,
    value=LABEL_VALUES,
    quantile=st.sampled_from(["0.5", "0.99"]),
)
def test_the_promql_reader_ignores_whatever_label_values_hold(
    first: str, second: str, value: str, quantile: str
) -> None:
    expr = (
        f"histogram_quantile({quantile}, sum by (le, route) (rate({first}"
        f'{{route="{value}", service=~".+-gateway"}}[5m]))) / on (route) group_left '
        f'sum without (pod) ({second}{{a!="{value}"}} offset 1h)'
    )
    assert promql_metric_names(expr) == {first, second}


def test_dashboards_are_well_formed() -> None:
    loaded = dashboards()
    assert set(REQUIRED) <= set(loaded)
    uids = [d["uid"] for d in loaded.values()]
    assert len(uids) == len(set(uids))
    titles = [short_name(d) for d in loaded.values()]
    assert len(titles) == len(set(titles))
    for name, dashboard in loaded.items():
        variables = {v["name"] for v in dashboard["templating"]["list"]}
        assert {"datasource", "namespace"} <= variables, name
        ids = [panel["id"] for panel in panels(dashboard)]
        assert len(ids) == len(set(ids)), name
        for panel in panels(dashboard):
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] == "${datasource}", (name, panel["title"])
            refs = [target["refId"] for target in panel["targets"]]
            assert refs, (name, panel["title"])
            assert len(refs) == len(set(refs)), (name, panel["title"])
            for target in panel["targets"]:
                expr = target["expr"]
                assert expr.count("(") == expr.count(")"), (name, panel["title"])
                assert expr.count("{") == expr.count("}"), (name, panel["title"])
                assert 'namespace="$namespace"' in expr, (name, panel["title"])


def test_every_dashboard_query_reads_only_documented_metrics(
    documented: dict[str, DocumentedMetric],
) -> None:
    known = known_series_names(documented)
    unknown = []
    queries = 0
    for name, dashboard in dashboards().items():
        for where, query in dashboard_queries(dashboard):
            queries += 1
            names = grafana_query_metric_names(query)
            assert names or "label_values" in query, f"{name} {where}: no metric in {query!r}"
            unknown += [f"{name} {where}: {metric}" for metric in sorted(names - known)]
    assert not unknown, "metrics that no service exports:\n" + "\n".join(unknown)
    assert queries > 60


def test_dashboards_cover_what_operators_need(documented: dict[str, DocumentedMetric]) -> None:
    loaded = dashboards()
    for name, needed in REQUIRED.items():
        missing = needed - families_used(loaded[name], documented)
        assert not missing, f"{name} lacks {sorted(missing)}"


def test_the_reference_names_the_dashboards_that_read_each_metric(
    documented: dict[str, DocumentedMetric],
) -> None:
    readers: dict[str, set[str]] = defaultdict(set)
    names = set()
    for dashboard in dashboards().values():
        names.add(short_name(dashboard))
        for family in families_used(dashboard, documented):
            readers[family].add(short_name(dashboard))
    wrong = []
    for metric in documented.values():
        cell = metric.used_by
        mentioned = {n for n in names if re.search(rf"(^|[ ,;(]){re.escape(n)}([ ,;)]|$)", cell)}
        if mentioned != readers[metric.name]:
            wrong.append(
                f"{metric.name}: docs say {sorted(mentioned)}, "
                f"dashboards read it: {sorted(readers[metric.name])}"
            )
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------------------------------------
# Grafana's dashboard JSON model, and the import through Grafana's dashboard sidecar

SCHEMA = Path(__file__).resolve().parent / "grafana-dashboard.schema.json"
# The label the Grafana chart's dashboard sidecar (kiwigrid k8s-sidecar) watches by default.
SIDECAR_LABEL = "grafana_dashboard"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(validator: jsonschema.Draft202012Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_dashboards_follow_grafanas_json_model(
    validator: jsonschema.Draft202012Validator,
) -> None:
    for name, dashboard in dashboards().items():
        assert not schema_errors(validator, dashboard), name
        cells: set[tuple[int, int]] = set()
        for panel in panels(dashboard):
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (name, panel["title"])
            area = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not area & cells, f"{name}: {panel['title']!r} overlaps another panel"
            cells |= area


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("dashboard", {"titel": "typo"}),
        ("panel", {"gridPos": {"x": 0, "y": 0, "w": 25, "h": 8}}),
        ("panel", {"type": "graph-v2"}),
        ("target", {"refId": None}),
        ("variable", {"type": "dropdown"}),
    ],
)
def test_the_schema_refuses_what_grafana_would_not_load(
    validator: jsonschema.Draft202012Validator, where: str, change: dict[str, Any]
) -> None:
    dashboard = copy.deepcopy(dashboards()["nova-overview.json"])
    panel = next(p for p in panels(dashboard) if p["type"] != "row")
    target = {
        "dashboard": dashboard,
        "panel": panel,
        "target": panel["targets"][0],
        "variable": dashboard["templating"]["list"][1],
    }[where]
    for key, value in change.items():
        if value is None:
            del target[key]
        else:
            target[key] = value
    assert schema_errors(validator, dashboard)


def test_dashboards_ship_as_configmaps_the_grafana_sidecar_imports() -> None:
    manifests = [
        item
        for item in yaml.safe_load_all(render({}))
        if isinstance(item, dict) and item.get("kind") == "ConfigMap"
    ]
    shipped: dict[str, Any] = {}
    for configmap in manifests:
        if configmap["metadata"]["labels"].get(SIDECAR_LABEL) is None:
            continue
        assert configmap["metadata"]["labels"][SIDECAR_LABEL] == "1"
        (key,) = configmap["data"]
        assert key.endswith(".json"), key
        shipped[key] = json.loads(configmap["data"][key])
    assert shipped == dashboards(), "one ConfigMap per dashboard, its JSON unchanged"
    overridden = render({"dashboards": {"labels": {"grafana_dashboard": "nova"}}})
    assert "grafana_dashboard: nova" in overridden
    assert not [
        item
        for item in yaml.safe_load_all(render({"dashboards": {"enabled": False}}))
        if isinstance(item, dict) and SIDECAR_LABEL in item["metadata"].get("labels", {})
    ]
