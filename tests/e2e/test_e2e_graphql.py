"""GraphQL through the gateway to the real subgraphs: one operation whose root and nested fields
fan out over both subgraphs at once (each resolving several root fields concurrently), the
GraphQL-over-HTTP rules at every endpoint, and one error per failed field."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from nova_kit.testing.graphql_http import check_one_field_error, run_cases_on
from nova_kit.testing.raw_http import raw_request
from nova_kit.testing.stack import Stack

PASSWORD = "correct horse battery staple"

TOGETHER = """query($id: ID!, $other: ID!) {
  me { id displayName email roles }
  account { id email status }
  user(id: $id) { id displayName email createdAt }
  missing: user(id: $other) { id displayName }
  again: me { id bio lastLoginAt }
}"""


def test_root_and_nested_fields_over_both_subgraphs(stack: Stack) -> None:
    email = f"together-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        registered = client.post(
            "/api/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": "Grace"},
        )
        assert registered.status_code == 202, registered.text
        signed_in = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        body = signed_in.json()
        token, user_id = body["access_token"], body["account"]["id"]
        headers = {"Authorization": f"Bearer {token}"}
        first_read = client.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
        assert first_read.status_code == 200, first_read.text
        for _ in range(3):
            response = client.post(
                "/graphql",
                json={"query": TOGETHER, "variables": {"id": user_id, "other": str(uuid.uuid4())}},
                headers=headers,
            )
            assert response.status_code == 200, response.text
            result = response.json()
            assert "errors" not in result, result["errors"]
            data = result["data"]
            assert data["me"]["id"] == user_id
            assert data["me"]["email"] == email
            assert data["me"]["roles"] == ["user"]
            assert data["account"] == {"id": user_id, "email": email, "status": "ACTIVE"}
            assert data["user"]["id"] == user_id
            assert data["user"]["email"] == email
            assert data["missing"] is None
            assert data["again"]["id"] == user_id


@pytest.mark.parametrize("endpoint", ["gateway", "auth", "users"])
def test_every_endpoint_follows_graphql_over_http(stack: Stack, endpoint: str) -> None:
    base = stack.gateway if endpoint == "gateway" else stack.urls[endpoint]

    async def audit() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await run_cases_on(client)

    asyncio.run(audit())


def test_a_failed_non_null_field_has_one_error(stack: Stack) -> None:
    """Anonymous ``me``: users refuses it, ``me`` is non-null so ``data`` becomes null — with
    the subgraph's one error, not a second one for the null in a non-null position."""

    async def check() -> None:
        async with httpx.AsyncClient(base_url=stack.gateway, timeout=30) as client:
            await check_one_field_error(client, "{ me { id email } }", "me", "unauthenticated")

    asyncio.run(check())


@pytest.mark.parametrize("endpoint", ["gateway", "auth", "users"])
def test_probes_answer_head_and_metrics_carry_one_charset(stack: Stack, endpoint: str) -> None:
    base = stack.urls[endpoint]
    for path in ("/health", "/ready"):
        head = raw_request(f"{base}{path}", "HEAD")
        assert head.status == 200, (path, head)
        assert head.body == b"", (path, head.body)
        (length,) = head.header("content-length")  # what GET would send; the body is not sent
        assert length.isdigit(), head.headers
    metrics = raw_request(f"{base}/metrics")
    (content_type,) = metrics.header("content-type")
    assert content_type.startswith("text/plain; version="), content_type
    assert content_type.lower().count("charset") == 1, content_type
