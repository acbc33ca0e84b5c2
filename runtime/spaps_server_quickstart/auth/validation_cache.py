"""A bounded, hashed-key TTL cache of successful token validations, with single-flight.

Why each property:

* **SHA-256 keys**: the raw bearer token never sits in process memory longer than the request,
  never shows up in a heap dump of the cache, and lookups compare fixed-length digests (no
  prefix-timing leak).
* **TTL = min(configured, token expiry - now)**: a cached answer must never outlive the token.
  The configured TTL is also the window in which a revoked token keeps working, so keep it
  short (30-60 s).
* **Only successes are cached**: an upstream error cached for 30 s would turn a one-second
  SPAPS blip into a 30-second outage, and caching "invalid" buys little.
* **Bounded LRU**: a flood of distinct valid tokens cannot grow memory without limit.
* **Single-flight**: N concurrent requests with the same uncached token make one SPAPS call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from spaps_server_quickstart.auth.models import AuthenticatedUser

Clock = Callable[[], float]
WallClock = Callable[[], dt.datetime]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ValidationCache:
    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_entries: int,
        clock: Clock = time.monotonic,
        wall_clock: WallClock = _utcnow,
    ) -> None:
        self._ttl_seconds = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._wall_clock = wall_clock
        self._entries: OrderedDict[str, tuple[float, AuthenticatedUser]] = OrderedDict()
        self._in_flight: dict[str, asyncio.Task[AuthenticatedUser]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    async def get_or_load(
        self, token: str, load: Callable[[], Awaitable[AuthenticatedUser]]
    ) -> AuthenticatedUser:
        key = token_digest(token)
        cached = self._lookup(key)
        if cached is not None:
            return cached
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load_and_store(key, load))
            self._in_flight[key] = task
            task.add_done_callback(lambda _: self._in_flight.pop(key, None))
        # shield: one waiter being cancelled (client went away) must not cancel the lookup
        # the other waiters share.
        return await asyncio.shield(task)

    def _lookup(self, key: str) -> AuthenticatedUser | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        deadline, user = entry
        if self._clock() >= deadline:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return user

    async def _load_and_store(
        self, key: str, load: Callable[[], Awaitable[AuthenticatedUser]]
    ) -> AuthenticatedUser:
        user = await load()
        ttl = self._ttl_for(user)
        if ttl > 0 and self._max_entries > 0:
            self._entries[key] = (self._clock() + ttl, user)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return user

    def _ttl_for(self, user: AuthenticatedUser) -> float:
        ttl = self._ttl_seconds
        if user.expires_at is not None:
            expires_at = user.expires_at
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=dt.UTC)
            ttl = min(ttl, (expires_at - self._wall_clock()).total_seconds())
        return ttl
