"""The chart's alerting rules: structure, metrics that exist, and a runbook for every alert.

The PrometheusRule is rendered offline (``deploy/render.py``) with ``metrics.prometheusRule``
switched on. Every metric an expression selects is documented in ``docs/metrics.md`` (checked
against real ``/metrics`` elsewhere) or is one of the kube-state-metrics / Prometheus series
listed in ``EXTERNAL_METRICS``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest

from deploy.render import DEFAULT_NAMESPACE, RenderError, render
from tests.observability.observability_helpers import (
    EXTERNAL_METRICS,
    RUNBOOKS_DOC,
    DocumentedMetric,
    documented_metrics,
    known_series_names,
    promql_metric_names,
    queryable_names,
    rendered_rules,
)

ENABLED = {"metrics": {"prometheusRule": {"enabled": True}}}
DURATION = re.compile(r"^\d+[smh]$")
# What the alerts must watch, by the metric that shows it.
REQUIRED = {
    "NovaHighErrorRate": "http_server_request_duration_seconds_count",
    "NovaHighLatency": "http_server_request_duration_seconds_bucket",
    "NovaTargetDown": "up",
    "NovaPodNotReady": "kube_pod_container_status_ready",
    "NovaComponentUnavailable": "kube_pod_container_status_ready",
    "NovaMigrationJobFailed": "kube_job_status_failed",
    "NovaWorkerQueueBacklog": "worker_queue_depth",
    "NovaBeatNotScheduling": "worker_beat_last_run_timestamp_seconds",
    "NovaBeatStalled": "worker_beat_heartbeat_timestamp_seconds",
}


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    found = rendered_rules(ENABLED)
    assert found
    return found


@pytest.fixture(scope="module")
def documented() -> dict[str, DocumentedMetric]:
    return documented_metrics()


def runbook_sections() -> list[str]:
    text = RUNBOOKS_DOC.read_text(encoding="utf-8")
    return re.findall(r"^## (\S+)\s*$", text, re.MULTILINE)


def test_rules_are_opt_in() -> None:
    assert rendered_rules({}) == []


def test_every_rule_is_a_complete_alert(rules: list[dict[str, Any]]) -> None:
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "alert names are unique"
    assert set(REQUIRED) <= set(names)
    for rule in rules:
        name = rule["alert"]
        assert name.startswith("Nova"), name
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations", "group"}, name
        assert DURATION.match(str(rule["for"])), name
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert {"summary", "description"} <= set(rule["annotations"]), name
        assert all(str(text).strip() for text in rule["annotations"].values()), name
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")"), name
        assert expr.count("{") == expr.count("}"), name
        assert f'namespace="{DEFAULT_NAMESPACE}"' in expr, (
            f"{name} is scoped to the release's namespace"
        )


def test_rules_read_only_metrics_that_exist(
    rules: list[dict[str, Any]], documented: dict[str, DocumentedMetric]
) -> None:
    known = known_series_names(documented) | EXTERNAL_METRICS
    for rule in rules:
        names = promql_metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= known, f"{rule['alert']}: unknown {sorted(names - known)}"
    for alert, metric in REQUIRED.items():
        (rule,) = [r for r in rules if r["alert"] == alert]
        assert metric in promql_metric_names(rule["expr"]), alert


def test_the_reference_names_the_alerts_that_read_each_metric(
    rules: list[dict[str, Any]], documented: dict[str, DocumentedMetric]
) -> None:
    by_series = {name: m.name for m in documented.values() for name in queryable_names(m)}
    readers: dict[str, set[str]] = defaultdict(set)
    for rule in rules:
        for name in promql_metric_names(rule["expr"]):
            if name in by_series:
                readers[by_series[name]].add(rule["alert"])
    wrong = []
    for metric in documented.values():
        mentioned = set(re.findall(r"\bNova[A-Za-z]+\b", metric.used_by))
        if mentioned != readers[metric.name]:
            rules_reading = sorted(readers[metric.name])
            wrong.append(f"{metric.name}: docs say {sorted(mentioned)}, rules: {rules_reading}")
    assert not wrong, "\n".join(wrong)


def test_every_alert_has_a_runbook_section(rules: list[dict[str, Any]]) -> None:
    sections = runbook_sections()
    assert sorted(sections) == sorted(rule["alert"] for rule in rules)


def test_runbook_links_point_at_the_sections() -> None:
    base = "https://docs.example.com/nova/runbooks"
    linked = rendered_rules({"metrics": {"prometheusRule": {"enabled": True, "runbookUrl": base}}})
    sections = {section.lower() for section in runbook_sections()}
    for rule in linked:
        url = rule["annotations"]["runbook_url"]
        assert url == f"{base}#{rule['alert'].lower()}"
        assert url.rpartition("#")[2] in sections
    assert all("runbook_url" not in rule["annotations"] for rule in rendered_rules(ENABLED))


def test_thresholds_come_from_values() -> None:
    values = {
        "enabled": True,
        "errorRateThreshold": 0.02,
        "latencyThresholdSeconds": 2.5,
        "subgraphErrorRatioThreshold": 0.03,
        "loginFailureRatioThreshold": 0.7,
        "queueBacklogThreshold": 42,
        "taskFailureRatioThreshold": 0.25,
        "beatMaxSilenceSeconds": 7200,
        "beatHeartbeatMaxAgeSeconds": 120,
    }
    expressions = {
        rule["alert"]: " ".join(rule["expr"].split())
        for rule in rendered_rules({"metrics": {"prometheusRule": values}})
    }
    assert expressions["NovaHighErrorRate"].endswith("> 0.02")
    assert expressions["NovaHighLatency"].endswith("> 2.5")
    assert expressions["NovaSubgraphFetchErrors"].endswith("> 0.03")
    assert "> 0.7 and" in expressions["NovaAuthLoginFailures"]
    assert expressions["NovaWorkerQueueBacklog"].endswith("> 42")
    assert expressions["NovaWorkerTaskFailures"].endswith("> 0.25")
    assert expressions["NovaBeatNotScheduling"].endswith("> 7200")
    assert expressions["NovaBeatStalled"].endswith("> 120")


def test_request_alerts_leave_probes_out(rules: list[dict[str, Any]]) -> None:
    """A failing readiness probe answers 503 but is NovaPodNotReady, not a user-facing error."""
    for rule in rules:
        if "http_server_request_duration_seconds" in rule["expr"]:
            selectors = re.findall(
                r"http_server_request_duration_seconds_\w+\{([^}]*)\}", rule["expr"]
            )
            assert selectors, rule["alert"]
            assert all('route!~"/health|/ready"' in s for s in selectors), rule["alert"]


@pytest.mark.parametrize(
    "bad",
    [
        {"unknownKnob": 1},
        {"queueBacklogThreshold": 0},
        {"errorRateThreshold": 1.5},
        {"runbookUrl": "not a url"},
    ],
)
def test_the_schema_refuses_bad_alert_values(bad: dict[str, Any]) -> None:
    with pytest.raises(RenderError):
        render({"metrics": {"prometheusRule": {"enabled": True, **bad}}})
