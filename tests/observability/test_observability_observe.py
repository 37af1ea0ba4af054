"""``scripts/observe.py``: the Prometheus and Alertmanager configuration it derives from the chart.

Scrape jobs are the rendered ServiceMonitors' endpoints, whatever components and ports the values
declare; the rules file is the rendered PrometheusRule; ``promtool check config`` and ``amtool
check-config`` accept what it writes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from scripts.observe import Layout, chart_objects, rule_groups, scrape_targets
from tests.observability.observability_helpers import tool


def targets(values: dict[str, Any] | None = None) -> dict[str, tuple[int, str, str]]:
    return {t.service: (t.port, t.path, t.interval) for t in scrape_targets(chart_objects(values))}


def test_every_service_monitor_is_a_scrape_target_on_its_local_port() -> None:
    assert targets() == {
        "nova-gateway": (8000, "/metrics", "30s"),
        "nova-auth": (8001, "/metrics", "30s"),
        "nova-users": (8002, "/metrics", "30s"),
        "nova-worker": (9808, "/metrics", "30s"),
    }


def test_the_targets_follow_the_values() -> None:
    changed = targets(
        {
            "components": {
                "gateway": {"port": 18000, "metrics": {"path": "/internal/metrics"}},
                "worker": {"metrics": {"enabled": False}},
                "flower": {"enabled": True},
            },
            "metrics": {"serviceMonitor": {"interval": "10s"}},
        }
    )
    assert changed["nova-gateway"] == (18000, "/internal/metrics", "10s")
    assert "nova-worker" not in changed
    assert changed["nova-flower"] == (5555, "/metrics", "10s")


def test_targets_carry_the_labels_the_rules_select(tmp_path: Path) -> None:
    layout = Layout(tmp_path, 19090, 19093)
    written = layout.write(chart_objects(), ports={"auth": 18001}, scrape_interval="1s")
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {f"{t.service}/{t.endpoint}" for t in written}
    (auth,) = jobs["nova-auth/http"]["static_configs"]
    assert auth["targets"] == ["127.0.0.1:18001"]
    assert auth["labels"] == {
        "namespace": "nova",
        "service": "nova-auth",
        "pod": "nova-auth-local",
        "container": "auth",
        "endpoint": "http",
        "job": "nova-auth",
    }
    rules = yaml.safe_load((tmp_path / "rules.yml").read_text(encoding="utf-8"))
    assert rules["groups"] == rule_groups(chart_objects())
    checked = subprocess.run(
        [tool(), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    checked = subprocess.run(
        [tool("amtool"), "check-config", str(tmp_path / "alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_test_renderings_shorten_for_without_touching_the_chart() -> None:
    shipped = rule_groups(chart_objects())
    short = rule_groups(chart_objects(), for_override="5s")
    assert {r["for"] for g in short for r in g["rules"]} == {"5s"}
    assert len({r["for"] for g in shipped for r in g["rules"]}) > 1
    assert [r["expr"] for g in short for r in g["rules"]] == [
        r["expr"] for g in shipped for r in g["rules"]
    ]
