"""PostgreSQL faults: a restart under steady load, and an exhausted connection pool."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.resilience.conftest import Observe
from tests.resilience.harness import (
    PROFILE,
    Load,
    Probe,
    Sample,
    System,
    bearer,
    connections_by_application,
    load_client,
    register,
    summarize,
)

POOL_LIMIT = 10 + 5  # nova-kit's default pool size + overflow
RECOVERY_SECONDS = 10.0


@pytest.mark.scenario(
    1,
    "PostgreSQL restarted under steady load",
    expected="requests fail only while it is down, with 503 (no hang, no 500); liveness stays "
    "200; full recovery within 10 s of PostgreSQL being back; no leaked connections",
)
async def test_postgres_restart_under_load(system: System, observe: Observe) -> None:
    async with load_client(timeout=15) as client:
        account = await register(client, system.gateway, "restart@example.com")
        headers = bearer(account)

        async def me(client: httpx.AsyncClient, index: int) -> httpx.Response:
            return await client.get(f"{system.gateway}/api/users/me", headers=headers)

        down_seconds = PROFILE.down_seconds
        duration = PROFILE.warmup_seconds + down_seconds + PROFILE.recovery_seconds
        load = Load(me, rate=PROFILE.rate, duration=duration, timeout=15)
        probes = [
            Probe(f"{system.url(name)}/health") for name in ("gateway", "auth", "users", "worker")
        ]
        stop = asyncio.Event()
        before: dict[str, int] = {}
        window: dict[str, float] = {}

        async def fault() -> None:
            await asyncio.sleep(PROFILE.warmup_seconds)
            before.update(await connections_by_application(system.database_url))
            window["stop"] = load.now()
            await asyncio.to_thread(system.stop_postgres)
            window["down"] = load.now()
            await asyncio.sleep(down_seconds)
            await asyncio.to_thread(system.start_postgres)
            window["up"] = load.now()

        async with load_client(timeout=5) as probe_client:
            probing = [asyncio.create_task(p.run(probe_client, stop)) for p in probes]
            samples, _ = await asyncio.gather(load.run(client), fault())
            stop.set()
            await asyncio.gather(*probing)
        await asyncio.sleep(2)
        after = await connections_by_application(system.database_url)

    failures = [s for s in samples if not s.ok]
    late = [s for s in failures if s.started > window["up"] + RECOVERY_SECONDS]
    early = [s for s in failures if s.ended < window["stop"]]
    recovered_after = max((s.ended for s in failures), default=window["up"]) - window["up"]
    liveness: list[Sample] = [s for p in probes for s in p.samples]
    live_failures = [s for s in liveness if s.status != 200]
    slowest_failure = max((s.seconds for s in failures), default=0.0)
    observe(
        f"PostgreSQL down {window['up'] - window['stop']:.1f} s (stop took "
        f"{window['down'] - window['stop']:.1f} s); {summarize(samples)}"
    )
    observe(
        f"slowest failed request {slowest_failure * 1000:.0f} ms; last failure "
        f"{max(recovered_after, 0):.1f} s after PostgreSQL was back; "
        f"liveness {len(liveness) - len(live_failures)}/{len(liveness)} probes 200"
    )
    observe(f"server connections before {before}, after {after} (pool limit {POOL_LIMIT})")

    assert samples, "no load was generated"
    assert not early, f"failures before PostgreSQL stopped: {early[:3]}"
    assert all(s.status == 503 for s in failures), {(s.status, s.code) for s in failures}
    assert all(s.code == "database_unavailable" for s in failures), {s.code for s in failures}
    assert slowest_failure < 6.0, f"a failing request took {slowest_failure:.1f}s (a hang)"
    assert not late, f"{len(late)} failures more than {RECOVERY_SECONDS:g}s after recovery"
    assert samples[-1].ok
    assert not live_failures, f"liveness failed: {live_failures[:3]}"
    for name, count in after.items():
        if name.startswith("nova-"):
            assert count <= POOL_LIMIT, f"{name} holds {count} connections"


@pytest.mark.scenario(
    6,
    "Connection pool exhausted",
    expected="requests beyond the pool wait at most the pool timeout, then get 503 "
    "database_busy; everything succeeds again once connections are free",
)
async def test_pool_exhaustion(tmp_path_factory: pytest.TempPathFactory, observe: Observe) -> None:
    from tests.resilience.harness import running_system

    pool_timeout = 1.0
    users_env = {
        "NOVA_USERS_DB_POOL_SIZE": "2",
        "NOVA_USERS_DB_MAX_OVERFLOW": "0",
        "NOVA_USERS_DB_POOL_TIMEOUT_SECONDS": str(pool_timeout),
        "NOVA_USERS_DB_STATEMENT_TIMEOUT_MS": "30000",
    }
    with running_system(
        tmp_path_factory.mktemp("pool"), per_service_env={"users": users_env}, worker=False
    ) as system:
        async with load_client(timeout=15) as client:
            accounts = [
                await register(client, system.gateway, f"pool{i}@example.com") for i in range(12)
            ]
            for account in accounts:  # profiles exist before the lock is taken
                assert (
                    await client.get(f"{system.url('users')}/api/users/me", headers=bearer(account))
                ).status_code == 200
            # Hold every pooled connection: a lock makes the profile updates wait in the database.
            locker = await asyncpg.connect(system.database_url)
            transaction = locker.transaction()
            await transaction.start()
            await locker.execute("LOCK TABLE users.profiles IN ACCESS EXCLUSIVE MODE")

            async def patch(account_index: int) -> Sample:
                started = asyncio.get_running_loop().time()
                response = await client.patch(
                    f"{system.url('users')}/api/users/me",
                    headers=bearer(accounts[account_index]),
                    json={"display_name": f"Pool {account_index}"},
                )
                ended = asyncio.get_running_loop().time()
                code = response.json().get("code", "") if response.status_code >= 400 else ""
                return Sample(started, ended, response.status_code, code)

            blocked = [asyncio.create_task(patch(i)) for i in range(2)]
            await asyncio.sleep(0.5)  # the two pooled connections are now waiting on the lock
            refused = await asyncio.gather(*(patch(i) for i in range(2, 12)))
            await transaction.rollback()
            await locker.close()
            held = await asyncio.gather(*blocked)
            after = await asyncio.gather(*(patch(i) for i in range(12)))
            metrics = (await client.get(f"{system.url('users')}/metrics")).text

    timeouts = [
        line
        for line in metrics.splitlines()
        if line.startswith("db_client_connection_timeouts_total{")
    ]
    slowest = max(s.seconds for s in refused)
    observe(
        f"pool of 2 held by 2 requests waiting on a lock; 10 more requests: "
        f"{sorted({(s.status, s.code) for s in refused})}, slowest answer {slowest * 1000:.0f} ms "
        f"(pool timeout {pool_timeout * 1000:.0f} ms)"
    )
    observe(
        f"the 2 held requests ended {sorted({s.status or 0 for s in held})}; after release "
        f"{sum(s.ok for s in after)}/12 ok; metric {timeouts[0] if timeouts else 'missing'}"
    )
    assert all(s.status == 503 and s.code == "database_busy" for s in refused), refused
    assert all(pool_timeout * 0.9 <= s.seconds < pool_timeout + 2.0 for s in refused), refused
    assert all(s.status == 200 for s in held), held
    assert all(s.status == 200 for s in after), after
    assert timeouts
    assert float(timeouts[0].rsplit(" ", 1)[1]) >= 10
