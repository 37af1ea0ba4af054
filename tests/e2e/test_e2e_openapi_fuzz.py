"""Property-based API tests (schemathesis) through the gateway's merged OpenAPI document: no
generated request — valid or not, anonymous or signed in — may make any service answer 5xx.

Bounded: a few examples per operation, one worker, loopback only.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from tests.stack import Stack

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
EXAMPLES_PER_OPERATION = os.environ.get("NOVA_FUZZ_EXAMPLES", "8")


def run_schemathesis(stack: Stack, *headers: str) -> subprocess.CompletedProcess[str]:
    argv = [
        str(SCHEMATHESIS),
        "run",
        f"{stack.gateway}/api/openapi.json",
        "--url",
        stack.gateway,
        "--checks",
        "not_a_server_error",
        "--max-examples",
        EXAMPLES_PER_OPERATION,
        "--workers",
        "1",
        "--request-timeout",
        "15",
        "--seed",
        "20261126",
        "--generation-deterministic",
        "--suppress-health-check",
        "all",
    ]
    for header in headers:
        argv += ["--header", header]
    return subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)


def test_no_generated_request_makes_a_service_fail(stack: Stack) -> None:
    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    registered = httpx.post(
        f"{stack.gateway}/api/auth/register",
        json={"email": email, "password": "correct horse battery staple"},
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    token = registered.json()["access_token"]

    for headers in ((), (f"Authorization: Bearer {token}",)):
        result = run_schemathesis(stack, *headers)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-6000:]
        counts = re.search(r"(\d+) generated, (\d+) passed", output)
        assert counts is not None, output[-3000:]
        assert int(counts.group(1)) >= 100
        assert counts.group(1) == counts.group(2), output[-6000:]
