"""Network faults between the gateway and a subgraph: latency, a blackhole, resets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.resilience.conftest import Observe
from tests.resilience.faultproxy import Fault
from tests.resilience.harness import (
    PROFILE,
    Load,
    Sample,
    bearer,
    load_client,
    ms,
    percentile,
    register,
    running_system,
)

TIMEOUT_SECONDS = 1.0
QUERY = "query Account { account { id email bio } }"
GATEWAY_ENV = {
    "NOVA_GATEWAY_SUBGRAPH_TIMEOUTS": f'{{"users": {TIMEOUT_SECONDS}}}',
    "NOVA_GATEWAY_UPSTREAM_TIMEOUTS": f'{{"/api/users": {TIMEOUT_SECONDS}}}',
}


@pytest.mark.scenario(
    10,
    "Network faults between the gateway and a subgraph (TCP proxy: latency, blackhole, reset)",
    expected="latency: full answers, slower; blackhole: partial GraphQL data with "
    "SUBREQUEST_TIMEOUT and REST 504 upstream_timeout within the 1 s timeout; reset: partial "
    "data with SUBREQUEST_HTTP_ERROR and REST 502; the gateway stays ready; full answers once "
    "healed",
)
async def test_subgraph_network_faults(
    tmp_path_factory: pytest.TempPathFactory, observe: Observe
) -> None:
    with running_system(
        tmp_path_factory.mktemp("network"),
        per_service_env={"gateway": GATEWAY_ENV},
        worker=False,
        proxied=("users",),
    ) as system:
        proxy = system.proxies["users"]
        seconds = 3.0 if PROFILE.name == "short" else 6.0
        async with load_client(timeout=15) as client:
            account = await register(client, system.gateway, "network@example.com")
            headers = bearer(account)
            graphql: dict[int, dict[str, Any]] = {}

            async def mixed(client: httpx.AsyncClient, index: int) -> httpx.Response:
                if index % 2:
                    return await client.get(f"{system.gateway}/api/users/me", headers=headers)
                response = await client.post(
                    f"{system.gateway}/graphql", json={"query": QUERY}, headers=headers
                )
                graphql[index] = response.json()
                return response

            phases: dict[str, tuple[list[Sample], dict[int, dict[str, Any]]]] = {}
            plan = [
                ("healthy", Fault.NONE, 0.0),
                ("latency 300 ms", Fault.LATENCY, 0.3),
                ("blackhole", Fault.BLACKHOLE, 0.0),
                ("reset", Fault.RESET, 0.0),
                ("healed", Fault.NONE, 0.0),
            ]
            ready: dict[str, int] = {}
            for name, fault, latency in plan:
                proxy.set(fault, latency)
                graphql = {}
                load = Load(mixed, rate=10, duration=seconds, timeout=15)
                samples = await load.run(client)
                phases[name] = (samples, graphql)
                ready[name] = (await client.get(f"{system.gateway}/ready")).status_code

    def describe(name: str) -> str:
        samples, bodies = phases[name]
        rest = [s for s in samples if s.index % 2]
        codes = sorted(
            {str(e["extensions"].get("code")) for b in bodies.values() for e in b.get("errors", [])}
        )
        partial = sum(1 for b in bodies.values() if b.get("errors"))
        statuses = sorted({(s.status or 0, s.code) for s in rest})
        latencies = [s.seconds for s in samples]
        return (
            f"{name}: GraphQL {len(bodies)} answers, {partial} partial {codes or ''}; "
            f"REST {statuses}; p50 {ms(percentile(latencies, 0.5))}, max "
            f"{ms(max(latencies))}; gateway /ready {ready[name]}"
        )

    for name, *_ in plan:
        observe(describe(name))

    def graphql_bodies(name: str) -> list[dict[str, Any]]:
        return list(phases[name][1].values())

    def rest_samples(name: str) -> list[Sample]:
        return [s for s in phases[name][0] if s.index % 2]

    for name in ("healthy", "latency 300 ms", "healed"):
        assert all(not body.get("errors") for body in graphql_bodies(name)), name
        assert all(s.status == 200 for s in rest_samples(name)), name
    assert percentile([s.seconds for s in phases["latency 300 ms"][0]], 0.5) >= 0.3
    for name, code, status, rest_codes in (
        ("blackhole", "SUBREQUEST_TIMEOUT", 504, {"upstream_timeout"}),
        ("reset", "SUBREQUEST_HTTP_ERROR", 502, {"upstream_error", "upstream_unreachable"}),
    ):
        for body in graphql_bodies(name):
            assert body["data"]["account"]["email"] == account.email, body
            assert body["data"]["account"]["bio"] is None, body
            assert [e["extensions"]["code"] for e in body["errors"]] == [code], body
            assert body["errors"][0]["path"][0] == "account", body
        assert all(s.status == status and s.code in rest_codes for s in rest_samples(name)), name
        assert max(s.seconds for s in phases[name][0]) < TIMEOUT_SECONDS + 2.0, name
    assert set(ready.values()) == {200}, ready
