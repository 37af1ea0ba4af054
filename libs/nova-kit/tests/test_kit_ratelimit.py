"""The one rate limiter, in a real Redis: atomic multi-limit charges, sliding and fixed windows,
the soft counter, refunds, and the explicit policy when Redis is gone."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Literal

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from nova_kit import ratelimit
from nova_kit.embedded import EmbeddedRedis
from nova_kit.ratelimit import (
    Limit,
    RateLimitedError,
    RateLimiter,
    RateLimitUnavailableError,
)
from nova_kit.redis import create_redis


def limiter_for(
    redis: Redis, window: float = 30, strategy: Literal["fixed", "sliding"] = "sliding"
) -> RateLimiter:
    return RateLimiter(
        redis, prefix="nova:test:rl", name="test", window_seconds=window, strategy=strategy
    )


@pytest.mark.parametrize("strategy", ["fixed", "sliding"])
async def test_the_limit_allows_then_refuses_with_a_retry_after(
    redis_client: Redis, strategy: Literal["fixed", "sliding"]
) -> None:
    limiter = limiter_for(redis_client, strategy=strategy)
    decisions = [await limiter.check([Limit("ip", "client-a", 3)]) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert 1 <= decisions[-1].retry_after_seconds <= 60
    # another subject has its own budget
    assert (await limiter.check([Limit("ip", "client-b", 3)])).allowed
    # keys never carry the raw subject
    assert not [key async for key in redis_client.scan_iter("*client-a*")]
    with pytest.raises(RateLimitedError) as error:
        await limiter.hit([Limit("ip", "client-a", 3)])
    assert error.value.status_code == 429
    assert error.value.headers["Retry-After"] == str(error.value.retry_after)


async def test_an_attempt_over_one_limit_charges_none(redis_client: Redis) -> None:
    limiter = limiter_for(redis_client)
    assert (await limiter.check([Limit("a", "x", 1)])).allowed
    refused = await limiter.check([Limit("a", "x", 1), Limit("b", "y", 5)])
    assert not refused.allowed
    # ``b`` was not charged by the refused attempt: five more fit
    assert [(await limiter.check([Limit("b", "y", 5)])).allowed for _ in range(6)] == [
        *[True] * 5,
        False,
    ]


@pytest.mark.parametrize("strategy", ["fixed", "sliding"])
async def test_take_grants_as_many_units_as_fit_and_never_more(
    redis_client: Redis, strategy: Literal["fixed", "sliding"]
) -> None:
    limiter = limiter_for(redis_client, strategy=strategy, window=3600)
    limit = Limit("ip", "leasing", 10)
    granted = [await limiter.take([limit], 4) for _ in range(4)]
    assert [d.granted for d in granted] == [4, 4, 2, 0]
    assert [d.allowed for d in granted] == [True, True, True, False]
    assert granted[-1].retry_after_ms >= 1
    assert granted[0].window == limiter.window_index()
    # the smallest room of all the limits bounds a grant; a refusal charges none of them
    other = Limit("ip", "leasing-other", 100)
    assert (await limiter.take([other, Limit("ip", "leasing-small", 3)], 50)).granted == 3
    assert not (await limiter.take([other, Limit("ip", "leasing-small", 3)], 50)).allowed
    assert (await limiter.take([other], 200)).granted == 97


class HeldClock:
    """The limiter's clock, held still: two attempts fall in one window however slowly the
    machine runs them (on the real clock they could straddle a window's end)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


async def test_the_window_expires(redis_client: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = HeldClock()
    monkeypatch.setattr(ratelimit, "time", clock)
    limiter = limiter_for(redis_client, window=0.3, strategy="fixed")
    subject = uuid.uuid4().hex  # the held clock's windows are the same in every run
    assert (await limiter.check([Limit("s", subject, 1)])).allowed
    assert not (await limiter.check([Limit("s", subject, 1)])).allowed
    clock.now += 0.65
    assert (await limiter.check([Limit("s", subject, 1)])).allowed


async def test_concurrent_hits_are_counted_exactly(redis_client: Redis) -> None:
    limiter = RateLimiter(  # forty connections open at once: a loaded machine needs time
        redis_client, prefix="nova:test:rl", name="test", window_seconds=30, timeout_seconds=10
    )
    decisions = await asyncio.gather(*(limiter.check([Limit("s", "storm", 10)]) for _ in range(40)))
    assert sum(d.allowed for d in decisions) == 10


async def test_the_soft_counter_never_refuses_and_refunds_give_back(redis_client: Redis) -> None:
    limiter = limiter_for(redis_client)
    counts = [(await limiter.count("account", "ada"))[0] for _ in range(4)]
    assert counts == [1, 2, 3, 4]
    _, charged = await limiter.count("account", "ada")
    await limiter.refund(charged, "account")
    await limiter.refund(charged, "other-scope")  # only the named scope is refunded
    assert (await limiter.count("account", "ada"))[0] == 5


@pytest.mark.parametrize("strategy", ["fixed", "sliding"])
async def test_hit_and_count_is_a_hit_then_a_count(
    redis_client: Redis, strategy: Literal["fixed", "sliding"]
) -> None:
    limiter = limiter_for(redis_client, strategy=strategy)
    limits = [Limit("pair", "ada 10.0.0.1", 3), Limit("ip", "10.0.0.1", 10)]
    counts = []
    for _ in range(3):
        decision, count = await limiter.hit_and_count(limits, "account", "ada")
        assert decision.allowed
        assert decision.granted == 1
        assert len(decision.charged) == 3
        counts.append(count)
    assert counts == [1, 2, 3]
    # refused by a hard limit: nothing is charged, the soft counter included
    with pytest.raises(RateLimitedError) as error:
        await limiter.hit_and_count(limits, "account", "ada")
    assert error.value.retry_after >= 1
    assert (await limiter.count("account", "ada"))[0] == 4
    assert [(await limiter.check([Limit("ip", "10.0.0.1", 10)])).allowed for _ in range(8)] == [
        *[True] * 7,
        False,
    ]
    # the same figures as the two calls it replaces
    hit = await limiter.hit([Limit("pair", "bob 10.0.0.2", 3)])
    spent, counter = await limiter.count("account", "bob")
    both, count = await limiter.hit_and_count([Limit("pair", "cy 10.0.0.2", 3)], "account", "cy")
    assert (both.limit, both.window, count) == (hit.limit, hit.window, spent)
    assert [key.rsplit(":", 2)[0] for key in both.charged] == [
        key.rsplit(":", 2)[0] for key in (*hit.charged, *counter)
    ]


async def test_one_refund_gives_back_the_units_of_every_scope_named(redis_client: Redis) -> None:
    limiter = limiter_for(redis_client)
    limits = [Limit("pair", "ada 10.0.0.1", 5), Limit("ip", "10.0.0.1", 5)]
    decision, _ = await limiter.hit_and_count(limits, "account", "ada")
    decision, count = await limiter.hit_and_count(limits, "account", "ada")
    assert count == 2
    await limiter.refund(decision.charged, "account", "pair")
    await limiter.refund((), "account")  # nothing charged: nothing to give back
    # the two named scopes got their unit back, the third did not
    _, count = await limiter.hit_and_count(limits, "account", "ada")
    assert count == 2
    pair, ip = Limit("pair", "ada 10.0.0.1", 5), Limit("ip", "10.0.0.1", 5)
    assert [(await limiter.check([pair])).allowed for _ in range(4)] == [True] * 3 + [False]
    assert [(await limiter.check([ip])).allowed for _ in range(3)] == [True] * 2 + [False]
    # a counter at zero stays at zero
    _, fresh = await limiter.count("account", "bob")
    await limiter.refund(fresh, "account")
    await limiter.refund(fresh, "account")
    assert (await limiter.count("account", "bob"))[0] == 1


async def test_an_unreachable_redis_fails_open_or_closed_as_configured(
    disposable_redis: EmbeddedRedis,
) -> None:
    client = create_redis(disposable_redis.url, timeout_seconds=0.3)
    open_limiter = limiter_for(client)
    closed = RateLimiter(
        client, prefix="nova:test:rl", name="closed", window_seconds=30, fail_open=False
    )
    try:
        assert (await open_limiter.check([Limit("s", "y", 1)])).allowed
        await asyncio.to_thread(disposable_redis.stop)

        def unavailable(name: str) -> float:
            sample = REGISTRY.get_sample_value(
                "rate_limit_decisions_total", {"limiter": name, "outcome": "unavailable"}
            )
            return sample or 0.0

        before = unavailable("test")
        decision = await open_limiter.check([Limit("s", "y", 1)])
        assert decision.allowed
        assert decision.charged == ()
        assert unavailable("test") == before + 1
        assert await open_limiter.count("account", "ada") == (0, ())
        # the two decisions of hit_and_count, as the two calls would record them
        before = unavailable("test")
        decision, count = await open_limiter.hit_and_count([Limit("s", "y", 1)], "account", "ada")
        assert (decision.allowed, decision.charged, count) == (True, (), 0)
        assert unavailable("test") == before + 2
        await open_limiter.refund(decision.charged, "account")  # nothing to give back
        await open_limiter.refund(["nova:test:rl:account:x:1"], "account")  # logged, not raised
        with pytest.raises(RateLimitUnavailableError):
            await closed.hit_and_count([Limit("s", "y", 1)], "account", "ada")

        started = time.perf_counter()
        with pytest.raises(RateLimitUnavailableError) as error:
            await closed.check([Limit("s", "y", 1)])
        assert time.perf_counter() - started < 0.5
        assert (error.value.status_code, error.value.code) == (503, "rate_limit_unavailable")
        assert unavailable("closed") >= 1
    finally:
        await client.aclose()


async def test_an_exhausted_pool_waits_briefly_then_applies_the_policy(
    redis_url: str,
) -> None:
    # Two connections for sixty concurrent attempts: callers queue for a connection (bounded),
    # none opens a third, and the limiter never silently lets the overflow through.
    client = create_redis(redis_url, max_connections=2, pool_timeout_seconds=0.25)
    limiter = RateLimiter(
        client, prefix="nova:test:rl", name="pool", window_seconds=30, fail_open=False
    )
    try:
        results = await asyncio.gather(
            *(limiter.check([Limit("s", "burst", 1000)]) for _ in range(60)),
            return_exceptions=True,
        )
        allowed = [r for r in results if not isinstance(r, BaseException) and r.allowed]
        refused = [r for r in results if isinstance(r, RateLimitUnavailableError)]
        assert len(allowed) + len(refused) == 60
        assert len(allowed) > 0
    finally:
        await client.aclose()
