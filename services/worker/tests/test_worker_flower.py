"""``nova-worker flower`` serves Flower for the worker's broker."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow


def test_flower_answers_its_healthcheck_and_metrics(
    start_service: Any, unused_port: int, redis_url: str
) -> None:
    start_service(
        "flower",
        ["nova-worker", "flower", "--port", str(unused_port)],
        env={"NOVA_ENVIRONMENT": "test", "NOVA_WORKER_REDIS_URL": redis_url},
        port=unused_port,
        wait="/healthcheck",
        timeout=60,
    )
    base = f"http://127.0.0.1:{unused_port}"
    assert httpx.get(f"{base}/healthcheck", timeout=10).text == "OK"
    metrics = httpx.get(f"{base}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert "# HELP flower_worker_online" in metrics.text
