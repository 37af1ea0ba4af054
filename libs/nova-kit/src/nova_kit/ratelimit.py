"""Fixed-window rate limits in Redis, shared by every replica of a service.

``await limiter.hit("login:ip:203.0.113.9", limit=10, window_seconds=60)`` counts one attempt
and says whether it is allowed and, if not, after how many seconds to retry. When Redis is
unreachable the limiter fails open (requests pass, the outage is logged and counted): rate
limiting degrades, the service does not go down with it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from nova_kit.metrics import REDIS_ERRORS, redis_error_kind

logger = logging.getLogger(__name__)

RATE_LIMIT_DECISIONS = Counter(
    "rate_limit_decisions",
    "Rate-limit decisions, by limiter and outcome (allowed, limited, unavailable).",
    ["limiter", "outcome"],
)

# INCR and set the expiry on the first hit, atomically; return the count and the TTL left.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    count: int
    limit: int
    retry_after_seconds: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)


class RateLimiter:
    def __init__(self, redis: Redis, *, prefix: str, name: str = "default") -> None:
        self.redis = redis
        self.prefix = prefix
        self.name = name
        self._script = redis.register_script(_HIT_SCRIPT)

    def key(self, subject: str) -> str:
        """Keys never contain raw client data (e-mails, addresses): they are hashed."""
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
        return f"{self.prefix}:{digest}"

    async def hit(self, subject: str, *, limit: int, window_seconds: float) -> Decision:
        window_ms = max(1, int(window_seconds * 1000))
        try:
            count, ttl_ms = await self._script(keys=[self.key(subject)], args=[window_ms])
        except (RedisError, OSError) as error:
            RATE_LIMIT_DECISIONS.labels(self.name, "unavailable").inc()
            REDIS_ERRORS.labels("ratelimit", redis_error_kind(error)).inc()
            logger.warning(
                "rate limiter unavailable", extra={"limiter": self.name, "error": str(error)}
            )
            return Decision(True, 0, limit, 0)
        count, ttl_ms = int(count), int(ttl_ms)
        allowed = count <= limit
        RATE_LIMIT_DECISIONS.labels(self.name, "allowed" if allowed else "limited").inc()
        retry_after = 0 if allowed else max(1, -(-ttl_ms // 1000))
        return Decision(allowed, count, limit, retry_after)

    async def reset(self, subject: str) -> None:
        try:
            await self.redis.delete(self.key(subject))
        except (RedisError, OSError):
            logger.warning("rate limiter unavailable for reset", extra={"limiter": self.name})
