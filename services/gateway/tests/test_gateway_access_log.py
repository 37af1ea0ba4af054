"""The gateway writes one structured access-log line per request, and never a secret."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from nova_kit.logs import JsonFormatter

SECRET = "s3cr3t-value-never-logged"


async def test_one_line_per_request_without_tokens_cookies_or_bodies(
    gateway: AsyncTestClient[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="nova.access")
    response = await gateway.post(
        f"/graphql?token={SECRET}",
        json={"query": "{ me { name } }", "variables": {"password": SECRET}},
        headers={
            "Authorization": f"Bearer {SECRET}",
            "Cookie": f"nova_at={SECRET}",
            "X-Request-ID": "access-log-test-1",
        },
    )
    assert response.status_code == 200, response.text
    await gateway.get("/health")

    records = [record for record in caplog.records if record.name == "nova.access"]
    graphql, health = records
    formatter = JsonFormatter("gateway")
    line = json.loads(formatter.format(graphql))
    assert line["http_method"] == "POST"
    assert line["path"] == "/graphql"
    assert line["route"] == "/graphql"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["bytes"] == len(response.content)
    assert line["message"] == "POST /graphql 200"
    assert graphql.levelno == logging.INFO
    assert SECRET not in formatter.format(graphql)
    assert line["request_id"] == "access-log-test-1"
    served = [record for record in caplog.records if not record.name.startswith("httpx")]
    assert all(SECRET not in formatter.format(record) for record in served)
    # probes are logged at DEBUG only
    assert health.levelno == logging.DEBUG
    assert json.loads(formatter.format(health))["path"] == "/health"
