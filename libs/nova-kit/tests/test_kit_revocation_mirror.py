"""Revocations followed in memory: loaded, pushed, dropped back to Redis when the channel breaks."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from nova_kit.redis import create_redis
from nova_kit.tokens import (
    REVOKED_SESSION_KEY,
    AccessClaims,
    RevocationList,
    RevocationMirror,
    RevocationUnavailableError,
)


def claims(subject: str, session_id: str | None, issued_at: int | None = None) -> AccessClaims:
    now = int(time.time()) if issued_at is None else issued_at
    return AccessClaims(
        subject=subject,
        roles=frozenset(),
        session_id=session_id,
        token_id=uuid.uuid4().hex,
        issued_at=now,
        expires_at=now + 600,
    )


async def until(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


class NoRoundTrips:
    """Fails the test if the list asks Redis per request."""

    async def mget(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("the revocation check went to Redis")


async def test_the_list_loads_existing_revocations_and_follows_new_ones(
    redis_client: Redis,
) -> None:
    prefix = uuid.uuid4().hex[:8]
    old_session, new_session = f"{prefix}-old", f"{prefix}-new"
    user = f"{prefix}-user"
    writer = RevocationList(redis_client)
    await writer.revoke_session(old_session, ttl_seconds=60)

    follower = RevocationList(redis_client)
    follower.start()
    try:
        await until(lambda: follower.mirrored)
        assert await follower.is_revoked(claims(user, old_session))
        assert not await follower.is_revoked(claims(user, new_session))

        await writer.revoke_session(new_session, ttl_seconds=60)
        await until(lambda: new_session in follower.mirror.sessions)
        issued_before = claims(user, None, issued_at=int(time.time()) - 5)
        await writer.revoke_user_tokens(user, ttl_seconds=60)
        await until(lambda: user in follower.mirror.valid_after)

        real = follower.redis
        follower.redis = NoRoundTrips()  # type: ignore[assignment]
        try:
            assert await follower.is_revoked(claims(user, new_session))
            assert await follower.is_revoked(issued_before)
            later = claims(user, f"{prefix}-other", issued_at=int(time.time()) + 2)
            assert not await follower.is_revoked(later)
        finally:
            follower.redis = real
    finally:
        await follower.aclose()


class NoGets:
    """Fails the test if the list reads a cut-off from Redis."""

    async def get(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("the cut-off was read from Redis")


async def test_a_cut_off_is_read_from_memory_while_followed_and_from_redis_otherwise(
    redis_client: Redis,
) -> None:
    prefix = uuid.uuid4().hex[:8]
    user, other = f"{prefix}-user", f"{prefix}-other"
    writer = RevocationList(redis_client)
    follower = RevocationList(redis_client)
    # not followed: Redis answers
    assert await follower.valid_after(user) is None
    await writer.revoke_user_tokens(user, ttl_seconds=60, at=1_000)
    assert await follower.valid_after(user) == 1_001
    follower.start()
    try:
        await until(lambda: follower.mirrored)
        real = follower.redis
        follower.redis = NoGets()  # type: ignore[assignment]
        try:
            assert await follower.valid_after(user) == 1_001  # loaded
            assert await follower.valid_after(other) is None
        finally:
            follower.redis = real
        await writer.revoke_user_tokens(other, ttl_seconds=60, at=2_000)
        await until(lambda: other in follower.mirror.valid_after)
        assert await follower.valid_after(other) == 2_001  # pushed
    finally:
        await follower.aclose()


async def test_a_list_sees_its_own_revocations_at_once(redis_client: Redis) -> None:
    """What a process revokes is in its copy when the call returns, before its own message
    comes back on the channel: a token it mints next starts at the new cut-off."""
    prefix = uuid.uuid4().hex[:8]
    user, session = f"{prefix}-user", f"{prefix}-session"
    follower = RevocationList(redis_client)
    follower.start()
    try:
        await until(lambda: follower.mirrored)
        held: list[str | bytes] = []

        def hold(data: str | bytes) -> None:
            held.append(data)  # the channel's messages, held back

        follower._apply = hold  # type: ignore[method-assign]
        await follower.revoke_user_tokens(user, ttl_seconds=60, at=3_000)
        await follower.revoke_session(session, ttl_seconds=60)
        assert await follower.valid_after(user) == 3_001
        assert await follower.is_revoked(claims("someone", session))
        assert await follower.is_revoked(claims(user, None, issued_at=3_000))
        assert not await follower.is_revoked(claims(user, None, issued_at=3_001))
    finally:
        await follower.aclose()


async def test_a_broken_channel_falls_back_to_redis_and_reloads_on_reconnect(
    redis_client: Redis,
) -> None:
    prefix = uuid.uuid4().hex[:8]
    follower = RevocationList(redis_client)
    follower.RECONNECT_SECONDS = (0.3,)
    follower.start()
    try:
        await until(lambda: follower.mirrored)
        await redis_client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")  # type: ignore[no-untyped-call]
        await until(lambda: not follower.mirrored)
        # Written while the channel is down, without a message: seen per request now...
        missed = f"{prefix}-missed"
        await redis_client.set(REVOKED_SESSION_KEY.format(sid=missed), "1", ex=60)
        assert await follower.is_revoked(claims("someone", missed))
        # ...and from memory once the list has subscribed again and reloaded.
        await until(lambda: follower.mirrored)
        assert missed in follower.mirror.sessions
    finally:
        await follower.aclose()


async def test_a_started_list_without_redis_fails_closed() -> None:
    unreachable = create_redis("redis://127.0.0.1:1/0", timeout_seconds=0.1)
    follower = RevocationList(unreachable, fail_closed=True, timeout_seconds=0.1)
    follower.start()
    try:
        await asyncio.sleep(0.3)
        assert not follower.mirrored
        with pytest.raises(RevocationUnavailableError):
            await follower.is_revoked(claims("someone", "session"))
    finally:
        await follower.aclose()
        await unreachable.aclose()


def test_mirror_entries_expire_with_their_keys() -> None:
    now = [100.0]
    mirror = RevocationMirror(clock=lambda: now[0])
    mirror.apply('{"session": "s1", "ttl": 10}')
    mirror.apply('{"user": "u1", "after": 1000, "ttl": 10}')
    mirror.apply('{"user": "u1", "after": 900, "ttl": 5}')  # an older cut-off changes nothing
    assert mirror.valid_after["u1"] == (1000, 110.0)
    assert mirror.is_revoked(claims("u1", "s2", issued_at=999))
    assert mirror.is_revoked(claims("u2", "s1"))
    now[0] = 111.0
    assert not mirror.is_revoked(claims("u1", "s1", issued_at=999))
    assert not mirror.sessions
    assert not mirror.valid_after
    mirror.apply('{"user": "u3", "after": 1200, "ttl": 10}')
    assert mirror.valid_after_of("u3") == 1200
    assert mirror.valid_after_of("u4") is None
    now[0] = 121.0
    assert mirror.valid_after_of("u3") is None
    assert not mirror.valid_after


async def test_an_idle_channel_is_not_polled_in_a_loop(redis_client: Redis) -> None:
    follower = RevocationList(redis_client)
    follower.PING_SECONDS = 0.2
    pings = 0
    real_ping = type(redis_client.pubsub()).ping

    async def counted_ping(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal pings
        pings += 1
        return await real_ping(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(redis_client.pubsub()), "ping", counted_ping)
        follower.start()
        try:
            await until(lambda: follower.mirrored)
            await asyncio.sleep(1.0)
            # One ping per quiet interval (0.2 s), not one per pong.
            assert 1 <= pings <= 8
            assert follower.mirrored
        finally:
            await follower.aclose()


async def test_a_stopped_redis_ends_the_memory_answers_at_once(disposable_redis: Any) -> None:
    client = create_redis(disposable_redis.url, timeout_seconds=0.1)
    follower = RevocationList(client, fail_closed=True, timeout_seconds=0.1)
    follower.start()
    try:
        await until(lambda: follower.mirrored)
        disposable_redis.stop()
        # Not after redis-py's reconnect attempts: the next checks already fail closed.
        await until(lambda: not follower.mirrored, seconds=0.1)
        with pytest.raises(RevocationUnavailableError):
            await follower.is_revoked(claims("someone", "session"))
    finally:
        await follower.aclose()
        await client.aclose()
