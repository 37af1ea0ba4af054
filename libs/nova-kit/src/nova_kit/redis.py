"""Redis clients with short timeouts, so an outage turns into fast errors rather than hangs."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def create_redis(url: str, *, timeout_seconds: float = 1.0, max_connections: int = 50) -> Redis:
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        health_check_interval=15,
        max_connections=max_connections,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


def key(service: str, *parts: str) -> str:
    """A namespaced key: ``nova:<service>:<part>:...`` (each service owns its prefix)."""
    return ":".join(("nova", service, *parts))
