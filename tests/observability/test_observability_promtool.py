"""The chart's alerts evaluated by Prometheus itself: ``promtool check rules`` and
``promtool test rules`` on the rendered PrometheusRule.

``promtool/alerts.test.yml`` holds a unit test for every alert (series that fire it, healthy
series that must not, the evaluation before its ``for:`` has elapsed and the one where it fires,
with every label and annotation). Breaking any alert's expression, or dropping its ``for:``,
makes those tests fail: each alert's tests are run again against a broken copy of its rule.
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.observe import chart_objects, rule_groups
from tests.observability.observability_helpers import tool

TESTS = Path(__file__).resolve().parent / "promtool" / "alerts.test.yml"


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(), *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def groups() -> list[dict[str, Any]]:
    return rule_groups(chart_objects())


@pytest.fixture(scope="module")
def alerts(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


@pytest.fixture(scope="module")
def unit_tests() -> dict[str, Any]:
    loaded = yaml.safe_load(TESTS.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def write(directory: Path, groups: list[dict[str, Any]], tests: dict[str, Any]) -> Path:
    (directory / "rules.yml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    path = directory / "alerts.test.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    return path


def unit_tests_of(unit_tests: dict[str, Any], alert: str) -> dict[str, Any]:
    """The unit-test file reduced to the groups that test ``alert``."""
    kept = [
        group
        for group in unit_tests["tests"]
        if any(case["alertname"] == alert for case in group.get("alert_rule_test", []))
    ]
    return {**unit_tests, "tests": kept}


def minutes(duration: str) -> int:
    match = re.fullmatch(r"(\d+)([mh])", duration)
    assert match, duration
    return int(match[1]) * (60 if match[2] == "h" else 1)


def test_the_rendered_rules_pass_promtool_check(
    tmp_path: Path, groups: list[dict[str, Any]]
) -> None:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    result = run_promtool("check", "rules", str(tmp_path / "rules.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in groups)} rules found" in result.stdout


def test_every_alert_has_a_firing_and_a_silent_case_around_its_for(
    alerts: dict[str, dict[str, Any]], unit_tests: dict[str, Any]
) -> None:
    cases: dict[str, list[dict[str, Any]]] = {}
    for group in unit_tests["tests"]:
        for case in group.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], []).append(case)
    assert set(cases) == set(alerts), "a unit test for every alert, and only for them"
    for name, rule in alerts.items():
        firing = [c for c in cases[name] if c["exp_alerts"]]
        assert firing, f"{name}: no case where it fires"
        for case in firing:
            for expected in case["exp_alerts"]:
                assert expected["exp_labels"]["severity"] == rule["labels"]["severity"], name
                assert set(expected["exp_annotations"]) == set(rule["annotations"]), name
        fired_at = {minutes(c["eval_time"]) for c in firing}
        silent_at = {minutes(c["eval_time"]) for c in cases[name] if not c["exp_alerts"]}
        assert any(t - 1 in silent_at for t in fired_at), (
            f"{name}: silent one evaluation before it fires (its for: {rule['for']} elapsing)"
        )


def test_the_alerts_pass_their_unit_tests(
    tmp_path: Path, groups: list[dict[str, Any]], unit_tests: dict[str, Any]
) -> None:
    result = run_promtool("test", "rules", str(write(tmp_path, groups, unit_tests)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def broken(groups: list[dict[str, Any]], alert: str, how: str) -> list[dict[str, Any]]:
    changed = copy.deepcopy(groups)
    for group in changed:
        for rule in group["rules"]:
            if rule.get("alert") != alert:
                continue
            if how == "expression never true":
                rule["expr"] = f"({rule['expr']}) unless on() vector(1)"
            elif how == "labels aggregated away":
                rule["expr"] = f"sum({rule['expr']})"
            else:
                rule["for"] = "0m"
    return changed


@pytest.mark.parametrize("how", ["expression never true", "labels aggregated away", "for: 0m"])
def test_a_broken_alert_fails_its_unit_tests(
    tmp_path: Path,
    groups: list[dict[str, Any]],
    alerts: dict[str, dict[str, Any]],
    unit_tests: dict[str, Any],
    how: str,
) -> None:
    survivors = []
    for alert in alerts:
        directory = tmp_path / alert
        directory.mkdir()
        own = unit_tests_of(unit_tests, alert)
        result = run_promtool(
            "test", "rules", str(write(directory, broken(groups, alert, how), own))
        )
        if result.returncode == 0:
            survivors.append(alert)
    assert not survivors, f"the unit tests still pass with a broken rule ({how}): {survivors}"
