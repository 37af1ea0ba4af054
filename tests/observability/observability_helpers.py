"""What the observability tests share: a real Nova stack, Prometheus text parsing, the metric
reference in ``docs/metrics.md`` and the metric names a PromQL expression reads."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from deploy.render import render

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "nova"
DASHBOARDS = CHART / "dashboards"
METRICS_DOC = ROOT / "docs" / "metrics.md"
RUNBOOKS_DOC = ROOT / "docs" / "runbooks.md"
PASSWORD = "correct horse battery staple"

# Families every prometheus_client default registry adds (process and interpreter runtime);
# docs/metrics.md describes them in one sentence instead of one row each.
DEFAULT_COLLECTOR_PREFIXES = ("process_", "python_")

# Metrics of Prometheus itself and of kube-state-metrics that the alerts may use, by name.
EXTERNAL_METRICS = frozenset(
    {
        "up",
        "kube_pod_container_status_ready",
        "kube_job_status_failed",
        "kube_job_owner",
    }
)


# ---------------------------------------------------------------------------------------------
# Processes


def register(client: httpx.Client) -> tuple[str, str]:
    """Register a fresh account through ``client``; (account id, access token)."""
    email = f"obs-{os.urandom(4).hex()}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    response = client.post("/api/auth/register", json=credentials)
    assert response.status_code == 202, response.text
    signed_in = client.post("/api/auth/login", json=credentials)
    assert signed_in.status_code == 200, signed_in.text
    body = signed_in.json()
    return str(body["account"]["id"]), str(body["access_token"])


def wait_for[T](
    probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.1
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def tool(name: str = "promtool") -> str:
    """A Prometheus tool's path; missing, the test is skipped (on a CI machine it fails)."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is missing: make observe-deps installs Prometheus and Alertmanager"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


# ---------------------------------------------------------------------------------------------
# Prometheus exposition


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]


@dataclass(frozen=True)
class Family:
    """A scraped metric family under the name PromQL queries it by (counters end in _total)."""

    name: str
    type: str
    samples: tuple[Sample, ...]

    def label_names(self) -> frozenset[str]:
        return frozenset(k for s in self.samples for k in s.labels if k not in {"le", "quantile"})


def parse_exposition(text: str) -> dict[str, Family]:
    families: dict[str, Family] = {}
    for metric in text_string_to_metric_families(text):
        name = f"{metric.name}_total" if metric.type == "counter" else metric.name
        samples = tuple(Sample(s.name, dict(s.labels)) for s in metric.samples)
        families[name] = Family(name, metric.type, samples)
    return families


def scrape(base_url: str) -> dict[str, Family]:
    response = httpx.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return parse_exposition(response.text)


def own_families(families: Mapping[str, Family]) -> dict[str, Family]:
    """Every family but the default process/interpreter collectors."""
    return {n: f for n, f in families.items() if not n.startswith(DEFAULT_COLLECTOR_PREFIXES)}


# ---------------------------------------------------------------------------------------------
# docs/metrics.md


@dataclass(frozen=True)
class DocumentedMetric:
    name: str
    type: str
    labels: frozenset[str]
    services: frozenset[str]
    used_by: str


_ROW = re.compile(r"^\|\s*`(?P<name>[a-z_:][a-z0-9_:]*)`\s*\|(?P<rest>.*)\|\s*$")


def documented_metrics(path: Path = METRICS_DOC) -> dict[str, DocumentedMetric]:
    """The rows of the tables under ``## Reference`` (until the next ``## `` heading)."""
    metrics: dict[str, DocumentedMetric] = {}
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            inside = line.strip() == "## Reference"
            continue
        match = _ROW.match(line) if inside else None
        if match is None:
            continue
        cells = [cell.strip() for cell in match["rest"].split("|")]
        assert len(cells) == 5, f"expected 6 columns: {line}"
        kind, labels, services, _meaning, used_by = cells
        name = match["name"]
        assert name not in metrics, f"{name} is documented twice"
        metrics[name] = DocumentedMetric(
            name=name,
            type=kind,
            labels=frozenset(re.findall(r"`([a-z_][a-z0-9_]*)`", labels)),
            services=frozenset(s.strip() for s in services.split(",") if s.strip()),
            used_by=used_by,
        )
    return metrics


def queryable_names(metric: DocumentedMetric) -> set[str]:
    """The series names PromQL can select for a documented family."""
    if metric.type == "histogram":
        return {f"{metric.name}_{suffix}" for suffix in ("bucket", "count", "sum")}
    return {metric.name}


def known_series_names(documented: Mapping[str, DocumentedMetric]) -> set[str]:
    return {name for metric in documented.values() for name in queryable_names(metric)}


# ---------------------------------------------------------------------------------------------
# PromQL

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_IDENTIFIER = re.compile(r"(?<![\w$.:])[a-zA-Z_:][a-zA-Z0-9_:]*")
_KEYWORDS = frozenset(
    {
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "inf",
        "nan",
    }
)


def promql_metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (functions, keywords and labels are not)."""
    stripped = _STRING.sub('""', expr)
    stripped = re.sub(r"\$\{[^}]*\}|\$\w+", "0", stripped)  # Grafana variables
    previous = None
    while previous != stripped:
        previous = stripped
        stripped = _MATCHERS.sub("", stripped)
        stripped = _RANGE.sub("", stripped)
        stripped = _GROUPING.sub("", stripped)
    names = set()
    for match in _IDENTIFIER.finditer(stripped):
        rest = stripped[match.end() :].lstrip()
        if rest.startswith("(") or match[0].lower() in _KEYWORDS:
            continue
        names.add(match[0])
    return names


def grafana_query_metric_names(query: str) -> set[str]:
    """Metric names of a templating query (``label_values(expr, label)`` or an expression)."""
    query = query.strip()
    match = re.fullmatch(r"label_values\((?P<args>.*)\)", query, re.DOTALL)
    if match is None:
        return promql_metric_names(query)
    args = match["args"]
    depth, cut = 0, -1
    for index, char in enumerate(args):
        depth += char in "({["
        depth -= char in ")}]"
        if char == "," and depth == 0:
            cut = index
    if cut < 0:
        return set()  # label_values(label): no metric
    return promql_metric_names(args[:cut])


# ---------------------------------------------------------------------------------------------
# Dashboards and rules


def dashboards() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(document, dict)
        loaded[path.name] = document
    return loaded


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows


def dashboard_queries(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, query) for every panel target and templating query."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel.get('title')!r} {target.get('refId')}", str(target["expr"])
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if variable.get("type") == "query":
            text = query.get("query") if isinstance(query, dict) else query
            yield f"variable {variable['name']!r}", str(text)


def rendered_rules(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The alerting rules of the chart's PrometheusRule rendered with ``values``."""
    rules: list[dict[str, Any]] = []
    for document in yaml.safe_load_all(render(dict(values))):
        if isinstance(document, dict) and document.get("kind") == "PrometheusRule":
            for group in document["spec"]["groups"]:
                rules.extend({**rule, "group": group["name"]} for rule in group["rules"])
    return rules


def exercise_account(client: httpx.Client, prefix: str) -> dict[str, str]:
    """One new account through the gateway, touching every HTTP family of gateway, auth and
    users: register, login, a wrong password (401), refresh, GraphQL ``me``, REST ``me`` with and
    without a token (401), an unknown path (404). Answers the account's bearer header."""
    email = f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
    registered = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 202, registered.text
    login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    wrong = client.post("/api/auth/login", json={"email": email, "password": "not it at all!"})
    assert wrong.status_code == 401, wrong.text
    refreshed = client.post(
        "/api/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    me = client.post("/graphql", json={"query": "{ me { id displayName email } }"}, headers=bearer)
    assert me.status_code == 200, me.text
    assert me.json()["data"]["me"]["email"] == email
    assert client.get("/api/users/me", headers=bearer).status_code == 200
    assert client.get("/api/users/me").status_code == 401
    assert client.get(f"/nowhere/{uuid.uuid4()}").status_code == 404
    return bearer
