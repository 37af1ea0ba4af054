"""The process's Redis client: short timeouts and a bounded pool, so an outage or a burst turns
into fast, counted errors rather than hangs or an unbounded number of connections.

One client (one pool) per process — the runtime's ``redis`` — serves the rate limiter, the
revocation list and the service's own keys. The pool is a *blocking* pool: when all its
connections are busy a caller waits up to ``pool_timeout_seconds`` for one to come back, then
gets a ``ConnectionError`` (redis-py's "No connection available"), which every caller turns into
its explicit failure policy (see ``nova_kit.ratelimit`` and ``nova_kit.tokens``). The plain pool
would instead fail at once with "Too many connections" under a burst.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def create_redis(
    url: str,
    *,
    timeout_seconds: float = 1.0,
    max_connections: int = 50,
    pool_timeout_seconds: float = 0.25,
) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        health_check_interval=15,
        max_connections=max_connections,
        timeout=pool_timeout_seconds,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    return Redis.from_pool(pool)


def key(service: str, *parts: str) -> str:
    """A namespaced key: ``nova:<service>:<part>:...`` (each service owns its prefix)."""
    return ":".join(("nova", service, *parts))
