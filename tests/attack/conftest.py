"""The abuse suite's system and the report it writes.

One Nova system (gateway, auth, users, worker, SMTP sink; embedded PostgreSQL and Redis) serves
every case. It runs with the failure policies of ``prod`` — revocation checks and auth's rate
limits fail closed, introspection and field suggestions off — and the gateway trusts no
``X-Forwarded-For``, as behind no ingress. Each case is an attacker's request and the refusal
it must meet; the report (``NOVA_ATTACK_REPORT``, ``docs/attacks.md`` for ``make attack``) lists
what each case saw.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.resilience.harness import System, running_system

Observe = Callable[[str], None]

PROD_POLICIES = {
    # what prod defaults to, set explicitly here (the stack runs with NOVA_ENVIRONMENT=test)
    "NOVA_GATEWAY_REVOCATION_FAIL_CLOSED": "true",
    "NOVA_USERS_REVOCATION_FAIL_CLOSED": "true",
    "NOVA_AUTH_REVOCATION_FAIL_CLOSED": "true",
    "NOVA_AUTH_RATE_LIMIT_FAIL_OPEN": "false",
    "NOVA_GATEWAY_INTROSPECTION": "false",
    # small budgets, so the cases reach them quickly (each case sends from its own address)
    "NOVA_GATEWAY_RATE_LIMIT_PER_CLIENT": "150",
    "NOVA_GATEWAY_RATE_LIMIT_WINDOW_SECONDS": "60",
    "NOVA_AUTH_LOGIN_LIMIT_PER_ACCOUNT_CLIENT": "5",
    "NOVA_AUTH_LOGIN_LIMIT_PER_CLIENT": "50",
    "NOVA_AUTH_LOGIN_SLOWDOWN_AFTER": "10",
    "NOVA_AUTH_LOGIN_SLOWDOWN_MAX_SECONDS": "1",
    "NOVA_AUTH_REGISTER_LIMIT_PER_CLIENT": "100",
}


@dataclass
class Case:
    number: int
    title: str
    refusal: str
    observed: list[str] = field(default_factory=list)
    outcome: str = "not run"


CASES: dict[str, Case] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "attack(number, title, refusal): an abuse case")


def _case(item: pytest.Item) -> Case:
    marker = item.get_closest_marker("attack")
    assert marker is not None, f"{item.nodeid} needs @pytest.mark.attack(number, title, refusal)"
    if item.nodeid not in CASES:
        CASES[item.nodeid] = Case(marker.args[0], marker.args[1], marker.kwargs["refusal"])
    return CASES[item.nodeid]


@pytest.fixture
def observe(request: pytest.FixtureRequest) -> Observe:
    case = _case(request.node)

    def add(line: str) -> None:
        case.observed.append(line)
        print(f"[{case.number}] {line}")

    return add


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if item.get_closest_marker("attack") is not None and report.when == "call":
        case = _case(item)
        case.outcome = "refused" if report.passed else "**GOT THROUGH**"
        if report.failed and call.excinfo is not None:
            first = str(call.excinfo.value).strip().splitlines()
            case.observed.append(f"failure: {first[0][:300] if first else 'failed'}")
    return report


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("NOVA_ATTACK_REPORT")
    if not CASES or not target:
        return
    rows = sorted(CASES.values(), key=lambda case: case.number)
    refused = sum(case.outcome == "refused" for case in rows)
    lines = [
        "# Attack report",
        "",
        "Written by `make attack` (`tests/attack/`): an outsider's abuse against the whole",
        "system on loopback (gateway, auth, users, worker; real PostgreSQL and Redis), with the",
        "failure policies of `prod`. Each row is an attacker's request and the refusal it must",
        "meet; the threat model and the controls are in [security.md](security.md).",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        f"- result: {refused} of {len(rows)} attacks refused",
        "",
        "| # | attack | expected refusal | observed | result |",
        "|---|---|---|---|---|",
    ]
    for case in rows:
        observed = "<br>".join(_cell(line) for line in case.observed) or "—"
        lines.append(
            f"| {case.number} | {_cell(case.title)} | {_cell(case.refusal)} | {observed} | "
            f"{case.outcome} |"
        )
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print(f"\nattack report written to {path}")


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    with running_system(tmp_path_factory.mktemp("attack"), env=PROD_POLICIES) as running:
        yield running
