"""Fixed-window rate limits in a real Redis, failing open when Redis is gone."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY
from redis.asyncio import Redis

from nova_kit.embedded import EmbeddedRedis
from nova_kit.ratelimit import RateLimiter
from nova_kit.redis import create_redis


async def test_the_limit_allows_then_refuses_with_a_retry_after(redis_client: Redis) -> None:
    limiter = RateLimiter(redis_client, prefix="nova:test:rl", name="test")
    decisions = [await limiter.hit("client-a", limit=3, window_seconds=30) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert 1 <= decisions[-1].retry_after_seconds <= 30
    assert decisions[0].remaining == 2
    # another subject has its own budget
    assert (await limiter.hit("client-b", limit=3, window_seconds=30)).allowed
    # keys never carry the raw subject
    assert not [key async for key in redis_client.scan_iter("*client-a*")]


async def test_the_window_expires(redis_client: Redis) -> None:
    limiter = RateLimiter(redis_client, prefix="nova:test:rl", name="test")
    assert (await limiter.hit("x", limit=1, window_seconds=0.3)).allowed
    assert not (await limiter.hit("x", limit=1, window_seconds=0.3)).allowed
    await asyncio.sleep(0.45)
    assert (await limiter.hit("x", limit=1, window_seconds=0.3)).allowed


async def test_concurrent_hits_are_counted_exactly(redis_client: Redis) -> None:
    limiter = RateLimiter(redis_client, prefix="nova:test:rl", name="test")
    decisions = await asyncio.gather(
        *(limiter.hit("storm", limit=10, window_seconds=30) for _ in range(40))
    )
    assert sum(d.allowed for d in decisions) == 10


async def test_an_unreachable_redis_fails_open(disposable_redis: EmbeddedRedis) -> None:
    client = create_redis(disposable_redis.url, timeout_seconds=0.3)
    limiter = RateLimiter(client, prefix="nova:test:rl", name="test")
    try:
        assert (await limiter.hit("y", limit=1, window_seconds=30)).allowed
        await asyncio.to_thread(disposable_redis.stop)
        errors = (
            REGISTRY.get_sample_value(
                "redis_client_errors_total", {"client": "ratelimit", "error": "connection"}
            )
            or 0.0
        )
        decision = await limiter.hit("y", limit=1, window_seconds=30)
        assert decision.allowed
        assert decision.count == 0
        assert (
            REGISTRY.get_sample_value(
                "redis_client_errors_total", {"client": "ratelimit", "error": "connection"}
            )
            == errors + 1
        )
    finally:
        await client.aclose()
