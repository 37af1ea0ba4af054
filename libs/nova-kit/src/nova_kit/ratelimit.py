"""Rate limits in Redis, shared by every replica of every service: the one limiter of Nova.

One attempt takes a unit from each of its limits in one atomic Lua call: either every limit has
room and each is charged, or none is charged and the caller is refused with a ``Retry-After``.
``sliding`` (the default) is the sliding-window counter — the previous window's count weighted
by how much of it still overlaps the window ending now, plus the current count; ``fixed``
counts per window. A unit can be given back (``refund``: a successful sign-in does not count
against the account). There is no permanent lockout: the window simply moves on. ``take``
charges several units at once, as many as fit (the gateway's leases, ADR 0027).

``count`` is the soft variant: it charges one unit and says how many the subject has spent in
the window, never refusing — the caller turns the number into a slow-down (auth's per-account
sign-in delay) rather than a lock an attacker could use against the account's owner.
``hit_and_count`` is ``hit`` then ``count`` in one round trip (one Lua call), and ``refund``
gives back the units of several scopes in one.

Keys are ``<prefix>:<scope>:<sha256(subject)>:<window>``: never raw client data.

When Redis cannot answer within ``timeout_seconds`` (down, or the pool exhausted) the limiter
applies its explicit failure policy: ``fail_open`` lets the request through, otherwise it is
refused with 503 ``rate_limit_unavailable``; both are logged and counted in
``rate_limit_decisions{limiter, outcome="unavailable"}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from nova_kit.errors import AppError
from nova_kit.metrics import REDIS_ERRORS, redis_error_kind

logger = logging.getLogger(__name__)

RATE_LIMIT_DECISIONS = Counter(
    "rate_limit_decisions",
    "Rate-limit decisions, by limiter and outcome (allowed, limited, unavailable).",
    ["limiter", "outcome"],
)
RATE_LIMIT_OUTCOMES = ("allowed", "limited", "unavailable")

# KEYS: per limit, the current and the previous window's counter.
# ARGV: sliding (0/1), window (ms), elapsed in the current window (ms), units wanted, then each
# limit. Returns {granted, 0} when charged — the units wanted, or fewer when fewer fit under
# every limit, at least 1 — and {0, retry_after_ms} when not even one fits (nothing charged).
# The number of limits is read from ARGV, so keys may follow the limits' (``_CHARGE_AND_COUNT``).
_CHARGE = """
local sliding = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
local grant = tonumber(ARGV[4])
local n = #ARGV - 4
local retry = 0
local weight = (window - elapsed) / window
for i = 1, n do
  local limit = tonumber(ARGV[4 + i])
  local current = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local previous = 0
  if sliding == 1 then previous = tonumber(redis.call('GET', KEYS[2 * i]) or '0') end
  local room = math.floor(limit - previous * weight - current)
  if room < grant then grant = room end
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
if grant < 1 then grant = 1 end
for i = 1, n do
  redis.call('INCRBY', KEYS[2 * i - 1], grant)
  redis.call('PEXPIRE', KEYS[2 * i - 1], window * 2)
end
"""
_CHECK_AND_CHARGE = _CHARGE + "return {grant, 0}\n"

# As _CHECK_AND_CHARGE (one unit), then, when charged, _COUNT on the last two KEYS (the soft
# counter's current and previous window): {1, 0, count} or {0, retry_after_ms} (nothing charged,
# the counter included).
_CHARGE_AND_COUNT = (
    _CHARGE
    + """
local current = redis.call('INCR', KEYS[#KEYS - 1])
redis.call('PEXPIRE', KEYS[#KEYS - 1], window * 2)
local previous = 0
if sliding == 1 then previous = tonumber(redis.call('GET', KEYS[#KEYS]) or '0') end
return {grant, 0, math.floor(previous * weight + current)}
"""
)

# KEYS: the current and the previous window's counter. ARGV: sliding, window, elapsed.
# Charges one unit and returns the (weighted) count including it.
_COUNT = """
local window = tonumber(ARGV[2])
local weight = (window - tonumber(ARGV[3])) / window
local current = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], window * 2)
local previous = 0
if tonumber(ARGV[1]) == 1 then previous = tonumber(redis.call('GET', KEYS[2]) or '0') end
return math.floor(previous * weight + current)
"""

# KEYS: the counters to give one unit back to (those above zero).
_REFUND = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 and tonumber(redis.call('GET', key)) > 0 then
    redis.call('DECR', key)
  end
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


class RateLimitUnavailableError(AppError):
    status_code = 503
    code = "rate_limit_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "rate limiting is unavailable; retry shortly", headers={"Retry-After": "5"}
        )


@dataclass(frozen=True, slots=True)
class Limit:
    """``limit`` units per window for one subject (``scope`` + ``subject``)."""

    scope: str
    subject: str
    limit: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    """The smallest limit of the attempt (for ``RateLimit-Limit``)."""
    retry_after_seconds: int = 0
    charged: tuple[str, ...] = ()
    """The counters charged (to give a unit back); empty when refused or Redis was down."""
    granted: int = 0
    """The units charged to every limit (:meth:`RateLimiter.take` may charge several)."""
    window: int = -1
    """The index of the window charged (or refused in); -1 when Redis was down."""
    retry_after_ms: int = 0
    """When refused: milliseconds until one unit could fit again."""


class RateLimiter:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        name: str,
        window_seconds: float,
        strategy: Literal["fixed", "sliding"] = "sliding",
        fail_open: bool = True,
        timeout_seconds: float = 0.5,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.name = name
        self.window_ms = max(1, int(window_seconds * 1000))
        self.sliding = strategy == "sliding"
        self.fail_open = fail_open
        self.timeout_seconds = timeout_seconds
        self._script = redis.register_script(_CHECK_AND_CHARGE)
        self._count = redis.register_script(_COUNT)
        self._charge_and_count = redis.register_script(_CHARGE_AND_COUNT)
        self._refund = redis.register_script(_REFUND)
        # Every outcome is exported from the start (at 0): "Redis unavailable" shows 0, not no data.
        for outcome in RATE_LIMIT_OUTCOMES:
            RATE_LIMIT_DECISIONS.labels(name, outcome)

    def _window(self) -> tuple[int, int]:
        return divmod(int(time.time() * 1000), self.window_ms)

    def _keys(self, scope: str, subject: str, window_index: int) -> tuple[str, str]:
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
        base = f"{self.prefix}:{scope}:{digest}:"
        return f"{base}{window_index}", f"{base}{window_index - 1}"

    def _unavailable(self, error: BaseException) -> None:
        """Apply the failure policy: return (fail open) or raise (fail closed)."""
        RATE_LIMIT_DECISIONS.labels(self.name, "unavailable").inc()
        REDIS_ERRORS.labels("ratelimit", redis_error_kind(error)).inc()
        policy = "open" if self.fail_open else "closed"
        logger.warning(
            "rate limiter unavailable; failing %s",
            policy,
            extra={"limiter": self.name, "error": str(error) or type(error).__name__},
        )
        if not self.fail_open:
            raise RateLimitUnavailableError from error

    async def check(self, limits: Sequence[Limit]) -> Decision:
        """Charge one unit to every limit, or none and say when to retry."""
        return await self.take(limits, 1)

    async def take(self, limits: Sequence[Limit], units: int) -> Decision:
        """Charge up to ``units`` units to every limit at once — as many as fit under all of
        them, at least one — or none and say when to retry. A caller that admits requests
        from the units it was granted (a local lease) never admits more than the limits allow,
        whichever replica spends them."""
        window_index, elapsed = self._window()
        keys: list[str] = []
        for limit in limits:
            keys.extend(self._keys(limit.scope, limit.subject, window_index))
        args = [
            1 if self.sliding else 0,
            self.window_ms,
            elapsed,
            max(1, units),
            *(x.limit for x in limits),
        ]
        smallest = min((x.limit for x in limits), default=0)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                granted, retry_ms = await self._script(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as error:
            self._unavailable(error)
            return Decision(True, smallest)
        if not int(granted):
            RATE_LIMIT_DECISIONS.labels(self.name, "limited").inc()
            return Decision(
                False,
                smallest,
                max(1, math.ceil(int(retry_ms) / 1000)),
                window=window_index,
                retry_after_ms=int(retry_ms),
            )
        RATE_LIMIT_DECISIONS.labels(self.name, "allowed").inc()
        return Decision(
            True, smallest, charged=tuple(keys[0::2]), granted=int(granted), window=window_index
        )

    def window_index(self) -> int:
        """The index of the window the clock is in now (as :meth:`take` reports it)."""
        return self._window()[0]

    async def hit(self, limits: Sequence[Limit]) -> Decision:
        """:meth:`check`, raising :class:`RateLimitedError` (429) when refused."""
        decision = await self.check(limits)
        if not decision.allowed:
            raise RateLimitedError(decision.retry_after_seconds)
        return decision

    async def count(self, scope: str, subject: str) -> tuple[int, tuple[str, ...]]:
        """Charge one unit without ever refusing; the units spent in the window (0 when Redis
        is down and the policy is to fail open) and the counter charged."""
        window_index, elapsed = self._window()
        keys = self._keys(scope, subject, window_index)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                spent = await self._count(
                    keys=list(keys), args=[1 if self.sliding else 0, self.window_ms, elapsed]
                )
        except (RedisError, OSError, TimeoutError) as error:
            self._unavailable(error)
            return 0, ()
        return int(spent), (keys[0],)

    async def hit_and_count(
        self, limits: Sequence[Limit], scope: str, subject: str
    ) -> tuple[Decision, int]:
        """:meth:`hit` then :meth:`count` of ``scope``/``subject``, in one round trip.

        Refused (429): nothing is charged, the counter included. Otherwise the decision's
        ``charged`` holds the limits' counters and then the soft counter's (empty when Redis was
        down), and the number is :meth:`count`'s. When Redis cannot answer, the policy applies as
        it would to the two calls: failing closed refuses (503); failing open, both outcomes are
        recorded as unavailable and the number is 0.
        """
        window_index, elapsed = self._window()
        keys: list[str] = []
        for limit in limits:
            keys.extend(self._keys(limit.scope, limit.subject, window_index))
        counter = self._keys(scope, subject, window_index)
        args = [1 if self.sliding else 0, self.window_ms, elapsed, 1, *(x.limit for x in limits)]
        smallest = min((x.limit for x in limits), default=0)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                reply = await self._charge_and_count(keys=[*keys, *counter], args=args)
        except (RedisError, OSError, TimeoutError) as error:
            self._unavailable(error)  # the limits' decision: raises when failing closed
            self._unavailable(error)  # the counter's
            return Decision(True, smallest), 0
        if not int(reply[0]):
            RATE_LIMIT_DECISIONS.labels(self.name, "limited").inc()
            retry_ms = int(reply[1])
            raise RateLimitedError(max(1, math.ceil(retry_ms / 1000)))
        RATE_LIMIT_DECISIONS.labels(self.name, "allowed").inc()
        decision = Decision(
            True,
            smallest,
            charged=(*keys[0::2], counter[0]),
            granted=int(reply[0]),
            window=window_index,
        )
        return decision, int(reply[2])

    async def refund(self, charged: Sequence[str], *scopes: str) -> None:
        """Give back the units charged to the limits of each of ``scopes`` (a successful
        sign-in), in one round trip."""
        markers = tuple(f"{self.prefix}:{scope}:" for scope in scopes)
        keys = [key for key in charged if key.startswith(markers)]
        if not keys:
            return
        try:
            async with asyncio.timeout(self.timeout_seconds):
                await self._refund(keys=keys)
        except (RedisError, OSError, TimeoutError):
            logger.warning("could not refund %d rate-limit unit(s)", len(keys))
