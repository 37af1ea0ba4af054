"""Rate limits in Redis: per account and per client address, fixed or sliding window.

Every attempt takes a unit from each of its limits *before* the expensive work (password
hashing) in one atomic Lua call: either all limits have room and each is charged, or none is
charged and the caller gets 429 with ``Retry-After``. A successful sign-in gives its unit back
to the account limit, so only failures count against an account; there is no permanent lockout,
the window simply moves on.

``sliding`` is the sliding-window counter (the previous window's count weighted by how much of
it still overlaps the window ending now, plus the current count); ``fixed`` counts per window.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from nova_kit.errors import AppError

logger = logging.getLogger(__name__)

KEY_PREFIX = "nova:auth:rl:"

# KEYS: per limit, the current and the previous window's counter.
# ARGV: sliding (0/1), then per limit: limit, window (ms), elapsed in current window (ms).
# Returns {1, 0} when charged, {0, retry_after_ms} when refused.
_CHECK_AND_CHARGE = """
local sliding = tonumber(ARGV[1])
local n = #KEYS / 2
local retry = 0
for i = 1, n do
  local limit = tonumber(ARGV[2 + (i - 1) * 3])
  local window = tonumber(ARGV[3 + (i - 1) * 3])
  local elapsed = tonumber(ARGV[4 + (i - 1) * 3])
  local current = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local previous = 0
  if sliding == 1 then previous = tonumber(redis.call('GET', KEYS[2 * i]) or '0') end
  local weight = (window - elapsed) / window
  if previous * weight + current + 1 > limit then
    local wait
    if sliding == 1 and current + 1 <= limit and previous > 0 then
      -- the previous window's share must fall to limit - current - 1
      local target = (limit - current - 1) / previous
      wait = math.ceil((weight - target) * window)
    else
      wait = window - elapsed
      if sliding == 1 then wait = wait + window end
    end
    if wait < 1 then wait = 1 end
    if wait > retry then retry = wait end
  end
end
if retry > 0 then return {0, retry} end
for i = 1, n do
  local window = tonumber(ARGV[3 + (i - 1) * 3])
  redis.call('INCR', KEYS[2 * i - 1])
  redis.call('PEXPIRE', KEYS[2 * i - 1], window * 2)
end
return {1, 0}
"""


_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


class RateLimitedError(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "too many attempts; retry later",
            headers={"Retry-After": str(retry_after)},
            details={"retry_after": retry_after},
        )
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Limit:
    """``limit`` units per window for one subject (``scope`` + ``subject``)."""

    scope: str
    subject: str
    limit: int


@dataclass(frozen=True, slots=True)
class Charge:
    """The counters an allowed attempt was charged to (to give a unit back)."""

    keys: tuple[str, ...]


def subject_key(value: str) -> str:
    """A fixed-length key part for user-supplied values (e-mail addresses)."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class RateLimiter:
    def __init__(
        self,
        redis: Redis,
        *,
        window_seconds: int,
        strategy: Literal["fixed", "sliding"] = "sliding",
        fail_open: bool = True,
    ) -> None:
        self.redis = redis
        self.window_ms = window_seconds * 1000
        self.sliding = strategy == "sliding"
        self.fail_open = fail_open
        self._script = redis.register_script(_CHECK_AND_CHARGE)
        self._refund = redis.register_script(_REFUND)

    def _keys(self, limit: Limit, window_index: int) -> tuple[str, str]:
        base = f"{KEY_PREFIX}{limit.scope}:{limit.subject}:"
        return f"{base}{window_index}", f"{base}{window_index - 1}"

    async def hit(self, limits: Sequence[Limit]) -> Charge:
        """Charge one unit to every limit, or raise :class:`RateLimitedError` (charging none)."""
        now_ms = int(time.time() * 1000)
        window_index, elapsed = divmod(now_ms, self.window_ms)
        keys: list[str] = []
        args: list[int] = [1 if self.sliding else 0]
        for limit in limits:
            keys.extend(self._keys(limit, window_index))
            args.extend((limit.limit, self.window_ms, elapsed))
        try:
            allowed, retry_ms = await self._script(keys=keys, args=args)
        except (RedisError, OSError) as error:
            if not self.fail_open:
                raise AppError(
                    "rate limiting is unavailable; retry shortly",
                    code="service_unavailable",
                    status_code=503,
                    headers={"Retry-After": "5"},
                ) from error
            logger.warning("rate limiter unavailable; letting the request through")
            return Charge(())
        if not int(allowed):
            raise RateLimitedError(max(1, math.ceil(int(retry_ms) / 1000)))
        return Charge(tuple(keys[0::2]))

    async def refund(self, charge: Charge, scope: str) -> None:
        """Give back the unit charged to the limits of ``scope`` (a successful sign-in)."""
        marker = f"{KEY_PREFIX}{scope}:"
        for key in charge.keys:
            if key.startswith(marker):
                try:
                    await self._refund(keys=[key])
                except (RedisError, OSError):
                    logger.warning("could not refund a rate-limit unit")
