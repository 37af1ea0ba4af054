"""Every PromQL expression the chart ships — dashboard panels, dashboard variables and alert
rules — parses with a real PromQL parser (PyPI ``promql-parser``)."""

from __future__ import annotations

import re

import promql_parser
import pytest

from tests.observability.observability_helpers import dashboard_queries, dashboards, rendered_rules
from tests.observability.test_observability_alerts import ENABLED

# Grafana's variables, replaced by values of the kind Grafana substitutes.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "$slo": "0.999",
}
_LABEL_VALUES = re.compile(r"label_values\((?P<args>.*)\)\s*$")


def substitute(query: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        query = query.replace(variable, value)
    # the remaining variables only appear inside label matchers' quoted values
    return re.sub(r"\$\{?[A-Za-z_]+\}?", ".*", query)


def as_promql(query: str) -> str:
    """A Grafana ``label_values(metric{...}, label)`` variable query → its metric selector."""
    match = _LABEL_VALUES.match(query.strip())
    if match is None:
        return query
    selector = (
        match.group("args").rsplit(",", 1)[0] if "," in match.group("args") else match.group("args")
    )
    return selector.strip()


def dashboard_expressions() -> list[tuple[str, str]]:
    return [
        (f"{name}: {where}", as_promql(substitute(query)))
        for name, dashboard in dashboards().items()
        for where, query in dashboard_queries(dashboard)
        if query.strip()
    ]


@pytest.mark.parametrize(("where", "expr"), dashboard_expressions())
def test_dashboard_queries_parse(where: str, expr: str) -> None:
    promql_parser.parse(expr)


def test_alert_rules_parse() -> None:
    rules = rendered_rules(ENABLED)
    assert len(rules) >= 10
    for rule in rules:
        promql_parser.parse(rule["expr"])


@pytest.mark.parametrize("broken", ["sum(rate(x[5m])", "rate(x[5m]) >", "x{a=}"])
def test_the_parser_rejects_broken_expressions(broken: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        promql_parser.parse(broken)
