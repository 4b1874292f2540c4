"""The public submission's throttle: `cxm.api.throttling.PublicRateThrottle` (its rate, "public" in
REST_FRAMEWORK's DEFAULT_THROTTLE_RATES, and its client identity, `cxm.core.clientip`), counted
in fixed windows with one atomic increment instead of DRF's sliding window.

DRF's sliding window keeps every request time of the window in one cached list and rewrites it on
each request: O(requests in the window) per request, which dominates the cost of the busiest public
endpoint. A counter per (IP, window) costs the same at any rate. In the event loop with Redis, the
counts are shared through Redis without a round trip per request (`SharedCounts`)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Any, cast

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from rest_framework import exceptions

from cxm.api.throttling import PublicRateThrottle

from .http import Outcome, error

logger = logging.getLogger("cxm.surveys")

_parsed_rates: dict[str | None, tuple[int | None, int | None]] = {}


class LocalCounts:
    """Fixed-window counts kept in this process: what a local-memory cache would hold (it is per
    process too), without its key validation and pickling on every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = 0
        self._counts: dict[str, int] = {}

    def incr(self, key: str, window_end: int) -> int:
        with self._lock:
            if window_end != self._window:  # a new window: the old counts are over
                self._window, self._counts = window_end, {}
            count = self._counts[key] = self._counts.get(key, 0) + 1
            return count

    def clear(self) -> None:
        with self._lock:
            self._counts = {}


_local_counts = LocalCounts()


def throttle_counts_clear() -> None:
    """Forget this process's counts (what clearing a local-memory cache does; tests)."""
    _local_counts.clear()


class PublicSubmitThrottle(PublicRateThrottle):
    """PublicRateThrottle's rate per client IP, counted in fixed windows with one atomic increment."""

    def __init__(self) -> None:
        # DRF parses the rate string on every construction; this endpoint builds one per request.
        self.rate = self.get_rate()
        parsed = _parsed_rates.get(self.rate)
        if parsed is None:
            parsed = _parsed_rates[self.rate] = self.parse_rate(self.rate)
        self.num_requests, self.duration = parsed  # type: ignore[assignment]
        self.cache = _throttle_cache()

    def window_key(self, request: Any) -> str | None:
        """The counter of this client's current window (None: no limit)."""
        if self.rate is None or self.num_requests is None or self.duration is None:
            return None
        ident = self.get_cache_key(request, _ThrottleView())
        self.now = int(self.timer())
        self._window_end = self.now - self.now % self.duration + self.duration
        return f"{ident}:{self._window_end}"

    def count(self, key: str) -> int:
        """Adds this request to the window's counter and returns the count (one cache operation).
        If the cache cannot be reached the request is let through: an answer is never refused
        because the rate limiter is down."""
        if isinstance(self.cache, LocMemCache):
            return _local_counts.incr(key, self._window_end)
        try:
            try:
                return int(self.cache.incr(key))
            except ValueError:  # the window's first request (or its counter expired)
                return 1 if self.cache.add(key, 1, int(self.duration or 0) + 1) else int(self.cache.incr(key))
        except Exception:  # noqa: BLE001
            logger.warning(
                "public submit throttle: the cache is unreachable; request let through", exc_info=True
            )
            return 0

    async def count_async(self, key: str) -> int:
        """`count` for the event loop. With Redis it does not wait for Redis at all: the count is this
        process's own since the last exchange plus the total Redis gave then (`SharedCounts`)."""
        if not isinstance(self.cache, RedisCache):
            return self.count(key)
        return _shared_counts(self.cache).incr(
            self.cache.make_key(key), self._window_end, int(self.duration or 0) + 1
        )

    def allow_request(self, request: Any, view: Any) -> bool:
        key = self.window_key(request)
        return key is None or self.count(key) <= int(self.num_requests or 0)

    def wait(self) -> float | None:
        return max(1.0, self._window_end - self.now)


_backend: list[Any] = []


def _throttle_cache() -> Any:
    """This process's default cache backend, created once.

    `django.core.cache.cache` keeps one backend per thread, and per asyncio task under ASGI: a new
    backend object for every request of the event loop. LocMem and Redis backends are thread-safe."""
    if not _backend:
        from django.core.cache import caches

        _backend.append(caches.create_connection("default"))
    return _backend[0]


os.register_at_fork(after_in_child=_backend.clear)  # a Redis client is not shared across processes


class _ThrottleView:
    throttle_scope = "public"


@dataclass
class ClientMeta:
    """What the throttle reads of a request (its client address), for a server with no Django request."""

    META: dict[str, str]
    headers: dict[str, str]  # lower-case names


def throttled(client: Any) -> Outcome | None:
    throttle = PublicSubmitThrottle()
    return None if throttle.allow_request(client, _ThrottleView()) else _throttled(throttle)


async def throttled_async(client: Any) -> Outcome | None:
    throttle = PublicSubmitThrottle()
    key = throttle.window_key(client)
    if key is None or await throttle.count_async(key) <= int(throttle.num_requests or 0):
        return None
    return _throttled(throttle)


def _throttled(throttle: PublicSubmitThrottle) -> Outcome:
    """The API's own answer to a throttled request (DRF's `Throttled`, in the API's error shape)."""
    wait = throttle.wait()
    refused = exceptions.Throttled(wait)
    outcome = error(int(refused.status_code), str(refused.default_code), str(refused.detail))
    if wait:
        outcome.headers["Retry-After"] = str(int(wait))
    return outcome


SHARE_EVERY = 0.05  # seconds between two exchanges of one process's counts with Redis


class SharedCounts:
    """Fixed-window counters shared through Redis, for one event loop, without a round trip per request.

    Each process counts locally and, every SHARE_EVERY seconds, adds its new counts to Redis (INCRBY,
    one pipeline) and learns the totals. A request's count is the total Redis gave at the last
    exchange plus this process's own since: exact within a process, and across processes late by at
    most one exchange (other processes' last 50 ms). If Redis cannot be reached, counting stays
    local (logged), and nobody's answer is refused for it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._window = 0
        self._known: dict[str, int] = {}
        self._new: dict[str, int] = {}
        self._ttl = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    def incr(self, key: str, window_end: int, ttl: int) -> int:
        if window_end != self._window:  # a new window: the old counts are over
            self._window, self._known, self._new = window_end, {}, {}
        self._ttl = ttl
        new = self._new[key] = self._new.get(key, 0) + 1
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(SHARE_EVERY, self._share)
        return self._known.get(key, 0) + new

    def _share(self) -> None:
        self._scheduled = False
        task = asyncio.get_running_loop().create_task(self._exchange(self._window, self._new, self._ttl))
        self._new = {}
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _exchange(self, window: int, counts: dict[str, int], ttl: int) -> None:
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for key, count in counts.items():
                    pipe.incrby(key, count)
                    pipe.expire(key, ttl, nx=True)
                results = await pipe.execute()
        except Exception:  # noqa: BLE001
            logger.warning("public submit throttle: Redis is unreachable; counting locally", exc_info=True)
            if window == self._window:
                for key, count in counts.items():
                    self._known[key] = self._known.get(key, 0) + count
            return
        if window == self._window:
            for index, key in enumerate(counts):
                self._known[key] = int(results[2 * index])


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedCounts] = weakref.WeakKeyDictionary()


def _shared_counts(cache: RedisCache) -> SharedCounts:
    """The counts of the running loop, on the cache's Redis server (asyncio clients are bound to a
    loop). Django stores small integers unpickled, so these counters and the cache's incr agree."""
    loop = asyncio.get_running_loop()
    counts = _shared.get(loop)
    if counts is None:
        from redis.asyncio import Redis

        counts = _shared[loop] = SharedCounts(Redis.from_url(cast(Any, cache)._servers[0]))
    return counts
