"""What the guards of every model share in one gateway process.

- :class:`Credentials`: presented API keys and session tokens checked against the
  database, the verdict kept for ``auth_cache_s`` so a busy key costs one dictionary
  lookup, not a database round trip and an HMAC, per request. Revocation and expiry
  take effect within that time (0 turns the cache off).
- :class:`RoleGrants`: a role's grants, cached the same way.
- the rate-limit storage (in memory, or Redis shared by every replica).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from bastion.context import Principal
from bastion.db.engine import transaction
from bastion.errors import AuthenticationFailed, GatewayConfigError, NotFound
from bastion.identity.access import role_grants
from bastion.identity.apikeys import verify_api_key

if TYPE_CHECKING:
    from bastion.gateway.metrics import GatewayMetrics
    from bastion.gateway.serving import ServedModel
    from bastion.workspace import Workspace


class _TtlCache:
    """A small map whose entries expire; bounded so a flood of keys cannot grow it."""

    def __init__(self, ttl: float, max_entries: int = 65_536) -> None:
        self.ttl = ttl
        self._max = max_entries
        self._items: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= time.monotonic():
            del self._items[key]
            return None
        return item[1]

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        if self.ttl <= 0:
            return
        if len(self._items) >= self._max:
            self._items.clear()  # crude but bounded; entries are cheap to rebuild
        self._items[key] = (time.monotonic() + min(self.ttl, ttl or self.ttl), value)


class Credentials:
    """API-key verification with a short-lived cache of verdicts."""

    def __init__(self, ws: Workspace, ttl: float) -> None:
        self._ws = ws
        self._cache = _TtlCache(ttl)

    async def principal(self, presented: str) -> Principal:
        """The key's principal, or AuthenticationFailed (its code says why)."""
        # A digest, not the key itself, is what the cache holds in memory.
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).hexdigest()
        hit = self._cache.get(digest)
        if hit is not None:
            if isinstance(hit, AuthenticationFailed):
                raise AuthenticationFailed(hit.message, code=hit.code, details=dict(hit.details))
            principal: Principal = hit
            return principal
        now = self._ws.clock.now()
        try:
            principal = await anyio.to_thread.run_sync(verify_api_key, self._ws, presented, now)
        except AuthenticationFailed as exc:
            self._cache.put(digest, exc)
            raise
        self._cache.put(digest, principal)
        return principal


class RoleGrants:
    """A role's grants as stored, re-read at most every ``ttl`` seconds, and the
    decisions taken from them (same lifetime)."""

    def __init__(self, ws: Workspace, ttl: float) -> None:
        self._ws = ws
        self._cache = _TtlCache(ttl)
        self._decisions = _TtlCache(ttl)

    def _read(self, role: str) -> list[str]:
        with transaction(self._ws.sessions) as session:
            return role_grants(session, role)

    def cached_decision(self, key: tuple[object, ...]) -> BaseException | bool | None:
        """A remembered authorization outcome (True, or the refusal), if still fresh."""
        found: BaseException | bool | None = self._decisions.get(repr(key))
        return found

    def remember_decision(self, key: tuple[object, ...], outcome: BaseException | bool) -> None:
        """Keep an outcome for the cache's lifetime (grants are re-read after that)."""
        self._decisions.put(repr(key), outcome)

    async def of(self, role: str) -> list[str]:
        """The grants of ``role``."""
        hit = self._cache.get(role)
        if hit is not None:
            grants: list[str] = hit
            return grants
        grants = await anyio.to_thread.run_sync(self._read, role)
        self._cache.put(role, grants)
        return grants


def rate_limit_storage(redis_url: str | None) -> Any:
    """In-memory storage by default; Redis (shared by replicas) when a URL is set.

    Memory storage is `limits`' synchronous one: a hit is a dictionary update under a
    lock, and the asynchronous wrapper would only add an await per request. Redis uses
    the asyncio client, so a round trip never blocks the event loop.
    """
    from limits.storage import MemoryStorage, storage_from_string

    if not redis_url:
        return MemoryStorage()
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise GatewayConfigError(
            "BASTION_REDIS_URL must be a redis://, rediss:// or unix:// URL",
            code="gateway.config_invalid",
        )
    # redis-py's asyncio client (limits defaults to coredis, which Bastion does not ship).
    return storage_from_string(f"async+{redis_url}", implementation="redispy")


def _nothing_served(name: str) -> ServedModel:
    raise NotFound(f"no served model {name!r}", code="gateway.model_not_found")


@dataclass
class SharedServices:
    """Built once per process by the app factory and handed to every guard."""

    credentials: Credentials
    grants: RoleGrants
    limiter_storage: Any
    metrics: GatewayMetrics
    shared_limits: bool
    # Served models by name (the ensemble guard reaches its members through this).
    lookup: Callable[[str], ServedModel] = field(default=_nothing_served)
