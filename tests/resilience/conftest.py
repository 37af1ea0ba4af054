"""Fixtures of the resilience suite and the report it writes.

Each scenario test carries ``@pytest.mark.scenario(number, title, expected=...)`` and tells the
``observe`` fixture what it saw, before it asserts. After the run the suite writes a Markdown
table — scenario, expected, observed, pass/fail — to ``NOVA_RESILIENCE_REPORT`` (``make
resilience`` points it at ``docs/resilience.md``).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.resilience.harness import PROFILE, System, running_system

Observe = Callable[[str], None]


@dataclass
class Row:
    number: int
    title: str
    expected: str
    observed: list[str] = field(default_factory=list)
    outcome: str = "not run"
    failure: str = ""


ROWS: dict[str, Row] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "scenario(number, title, expected): a resilience scenario and its promise"
    )


@pytest.fixture
def observe(request: pytest.FixtureRequest) -> Observe:
    """Record what the scenario observed (one line per call), for the report."""
    row = _row(request.node)

    def add(line: str) -> None:
        row.observed.append(line)
        print(f"[{row.number}] {line}")

    return add


def _row(item: pytest.Item) -> Row:
    marker = item.get_closest_marker("scenario")
    assert marker is not None, f"{item.nodeid} needs @pytest.mark.scenario(number, title, ...)"
    if item.nodeid not in ROWS:
        number, title = marker.args
        ROWS[item.nodeid] = Row(number, title, marker.kwargs["expected"])
    return ROWS[item.nodeid]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if item.get_closest_marker("scenario") is None:
        return report
    row = _row(item)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        row.outcome = "pass" if report.passed else ("skipped" if report.skipped else "FAIL")
        if hasattr(report, "wasxfail") and not report.passed:
            row.outcome = "known FAIL"
            row.failure = str(report.wasxfail)
        if report.failed:
            message = str(call.excinfo.value) if call.excinfo else report.longreprtext
            row.failure = message.strip().splitlines()[0][:300] if message.strip() else "failed"
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not ROWS:
        return
    target = os.environ.get("NOVA_RESILIENCE_REPORT")
    if not target:
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(sorted(ROWS.values(), key=lambda row: row.number)))
    print(f"\nresilience report written to {path}")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_report(rows: list[Row]) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    passed = sum(row.outcome == "pass" for row in rows)
    lines = [
        "# Resilience report",
        "",
        "Written by `make resilience` (`tests/resilience/`): the whole system on loopback, real",
        "PostgreSQL, Redis, service processes and Celery workers, faults injected with signals",
        "and restarts. Figures are from one run on the machine below; the assertions behind each",
        "row are in the scenario's test.",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; profile `{PROFILE.name}` "
        f"(steady load {PROFILE.rate:g} req/s, {PROFILE.events} events, "
        f"soak {PROFILE.soak_seconds:g} s)",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}; load average at the end {load:.2f}",
        f"- result: {passed} of {len(rows)} scenarios passed",
        "",
        "| # | scenario | expected | observed | result |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        observed = "<br>".join(_cell(line) for line in row.observed) or "—"
        if row.failure:
            observed += f"<br>**failure:** {_cell(row.failure)}"
        lines.append(
            f"| {row.number} | {_cell(row.title)} | {_cell(row.expected)} | {observed} | "
            f"{row.outcome} |"
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    """A whole Nova system of the test's own (its PostgreSQL and Redis may be stopped)."""
    with running_system(tmp_path) as running:
        yield running
