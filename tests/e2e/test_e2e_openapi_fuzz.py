"""Property-based API tests (schemathesis) through the gateway's merged OpenAPI document: no
generated request — valid or not, anonymous or signed in — may make any service answer 5xx.

Bounded: a few examples per operation, one worker, loopback only (``tests/fuzzing.py``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx

from nova_kit.testing.stack import Stack
from tests.fuzzing import run_schemathesis

EXAMPLES_PER_OPERATION = int(os.environ.get("NOVA_FUZZ_EXAMPLES", "8"))


def test_no_generated_request_makes_a_service_fail(stack: Stack, tmp_path: Path) -> None:
    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    credentials = {"email": email, "password": "correct horse battery staple"}
    registered = httpx.post(f"{stack.gateway}/api/auth/register", json=credentials, timeout=30)
    assert registered.status_code == 202, registered.text
    signed_in = httpx.post(f"{stack.gateway}/api/auth/login", json=credentials, timeout=30)
    token = signed_in.json()["access_token"]

    for name, headers in (("anonymous", ()), ("signed-in", (f"Authorization: Bearer {token}",))):
        run = run_schemathesis(
            f"{stack.gateway}/api/openapi.json",
            url=stack.gateway,
            report_dir=tmp_path / name,
            headers=headers,
            max_examples=EXAMPLES_PER_OPERATION,
        )
        assert run.returncode == 0, run.tail()
        assert run.generated >= 100, run.tail(3000)
        assert run.failed == 0, run.tail()
        assert run.errored == 0, run.tail()
        assert run.server_errors == 0, run.statuses
