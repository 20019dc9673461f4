"""Rate limits per API key and per source address, with the `limits` library.

Each dimension takes a list of limits in `limits` notation (``"20/second"``,
``"1000/minute"``); a request must fit in every one. The short window is the burst a
client may send at once, the long one its sustained rate. Windows are moving windows:
exact, with no doubled burst at a window edge. Counters live in memory, or in Redis
when ``BASTION_REDIS_URL`` is set, where each hit is one atomic Lua script, so every
replica draws on the same allowance.
"""

from __future__ import annotations

import math
import time
from typing import Any

from limits import RateLimitItem, parse_many

from bastion.errors import GatewayConfigError, RequestRefused
from bastion.gateway.guards.base import Call, GuardSetup, PassThrough


def _parse(where: str, raw: object) -> list[RateLimitItem]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise GatewayConfigError(
            f'rate_limit.{where} must be a list such as ["20/second", "1000/minute"]',
            code="gateway.config_invalid",
        )
    try:
        return [item for text in raw for item in parse_many(text)]
    except ValueError as exc:
        raise GatewayConfigError(
            f"rate_limit.{where}: {exc}", code="gateway.config_invalid"
        ) from exc


class RateLimit(PassThrough):
    """Refuse with 429 and ``Retry-After`` once a key or an address is over its limit."""

    name = "rate_limit"

    def __init__(self, setup: GuardSetup) -> None:
        from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindow
        from limits.storage import Storage
        from limits.strategies import MovingWindowRateLimiter

        storage = setup.shared.limiter_storage
        self._sync = isinstance(storage, Storage)
        self._limiter: Any = (
            MovingWindowRateLimiter(storage) if self._sync else AsyncMovingWindow(storage)
        )
        self._per_key = _parse("per_key", setup.options.get("per_key", []))
        self._per_address = _parse("per_address", setup.options.get("per_address", []))
        self._model = setup.model

    async def _take(self, limits: list[RateLimitItem], kind: str, who: str) -> None:
        for item in limits:
            if self._sync:
                allowed = self._limiter.hit(item, self._model, kind, who)
            else:
                allowed = await self._limiter.hit(item, self._model, kind, who)
            if not allowed:
                stats = self._limiter.get_window_stats(item, self._model, kind, who)
                if not self._sync:
                    stats = await stats
                retry = max(1, math.ceil(stats.reset_time - time.time()))
                raise RequestRefused(
                    f"rate limit {item} per {kind} exceeded",
                    guard=self.name,
                    code=f"rate.limited_per_{kind}",
                    status=429,
                    hint=f"Retry after {retry} s.",
                    headers={"Retry-After": str(retry)},
                    details={"limit": str(item)},
                )

    async def before(self, call: Call) -> None:
        """Take one from the address's allowance, then one from the key's."""
        await self._take(self._per_address, "address", call.source)
        if call.principal is not None and call.principal.credential_id:
            await self._take(self._per_key, "key", call.principal.credential_id)
