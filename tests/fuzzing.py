"""Property-based API testing with schemathesis (its CLI, one worker, loopback only), shared by
the e2e suite (the gateway's merged OpenAPI) and the resilience suite (every service's OpenAPI and
the gateway's GraphQL).

A run is bounded: a fixed number of examples per operation, a timeout per request and one for the
whole run, deterministic generation. Its JSON and NDJSON reports are read back, so the caller gets
the number of cases run and every answer's status, not only an exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS_FILE = Path(__file__).with_name("fuzzing_checks.py")
SEED = "20261126"

OPENAPI_CHECKS = ("not_a_server_error",)
NOVA_OPENAPI_CHECKS = ("not_a_server_error", "nova_error_shape")
"""Nova's services also promise the ``{code, message}`` shape of every 4xx answer."""
GRAPHQL_CHECKS = ("graphql_not_a_server_error",)
WITHOUT_STATEFUL = ("examples", "coverage", "fuzzing")


@dataclass(frozen=True)
class FuzzRun:
    """What one ``schemathesis run`` did."""

    returncode: int
    output: str
    report: dict[str, Any]
    statuses: Counter[int] = field(default_factory=Counter)
    """Every answer's HTTP status, by status (from the NDJSON report)."""

    @property
    def generated(self) -> int:
        return int(self.report.get("test_cases", {}).get("generated", 0))

    @property
    def failed(self) -> int:
        return int(self.report.get("test_cases", {}).get("with_failures", 0))

    @property
    def errored(self) -> int:
        """Cases that got no answer or broke the runner (a timeout, a reset connection)."""
        return int(self.report.get("test_cases", {}).get("errored", 0)) + len(
            self.report.get("errors", [])
        )

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def client_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if 400 <= status < 500)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def tail(self, characters: int = 6000) -> str:
        return self.output[-characters:]


def run_schemathesis(
    location: str,
    *,
    report_dir: Path,
    url: str | None = None,
    headers: Sequence[str] = (),
    checks: Sequence[str] = OPENAPI_CHECKS,
    max_examples: int = 8,
    phases: Sequence[str] | None = None,
    request_timeout: float = 15,
    timeout: float = 900,
    extra_args: Sequence[str] = (),
) -> FuzzRun:
    """Run schemathesis against ``location`` (an OpenAPI or GraphQL URL or file).

    ``headers`` are ``"Name: value"`` strings sent with every request; ``phases`` defaults to
    schemathesis' own (stateful included); ``extra_args`` go to the command line as they are
    (filters such as ``--exclude-name-regex``). Raises ``subprocess.TimeoutExpired`` past
    ``timeout`` seconds.
    """
    report_dir.mkdir(parents=True, exist_ok=True)
    json_report = report_dir / "report.json"
    ndjson_report = report_dir / "events.ndjson"
    argv = [
        str(SCHEMATHESIS),
        "run",
        location,
        "--checks",
        ",".join(checks),
        "--max-examples",
        str(max_examples),
        "--workers",
        "1",
        "--request-timeout",
        f"{request_timeout:g}",
        "--seed",
        SEED,
        "--generation-deterministic",
        "--suppress-health-check",
        "all",
        "--no-color",
        "--report",
        "json,ndjson",
        "--report-json-path",
        str(json_report),
        "--report-ndjson-path",
        str(ndjson_report),
    ]
    if url is not None:
        argv += ["--url", url]
    if phases is not None:
        argv += ["--phases", ",".join(phases)]
    for header in headers:
        argv += ["--header", header]
    argv += extra_args
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(CHECKS_FILE), "NO_PROXY": "*"}
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        cwd=report_dir,
    )
    report = json.loads(json_report.read_text()) if json_report.exists() else {}
    return FuzzRun(
        result.returncode,
        result.stdout + result.stderr,
        report,
        answer_statuses(ndjson_report),
    )


def answer_statuses(ndjson: Path) -> Counter[int]:
    """The status of every recorded answer in a schemathesis NDJSON report."""
    statuses: Counter[int] = Counter()
    if not ndjson.exists():
        return statuses
    with ndjson.open() as lines:
        for line in lines:
            if '"ScenarioFinished"' not in line[:40]:
                continue
            event = json.loads(line)["ScenarioFinished"]
            interactions = (event.get("recorder") or {}).get("interactions") or {}
            for interaction in interactions.values():
                response = interaction.get("response") or {}
                if isinstance(response.get("status_code"), int):
                    statuses[response["status_code"]] += 1
    return statuses
