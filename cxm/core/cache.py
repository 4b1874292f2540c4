"""Django's Redis cache, made to degrade instead of failing the request when Redis is down.

Everything this project keeps in the cache is an optimisation or a limit (API and login throttles,
debounce keys, job progress): when Redis cannot be reached a read misses, a write is dropped, `add`
answers "added" and a counter starts again at the increment, so throttles fail open, debounced work
is done rather than skipped, and pages still answer. A warning is
logged (at most once per `WARN_EVERY` seconds). After a failure the backend leaves Redis alone for
`RETRY_AFTER` seconds, so a dead Redis costs one short connect timeout now and then, not one per call.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("cxm.cache")

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
RETRY_AFTER = 5.0
WARN_EVERY = 60.0
# Redis answers in well under a millisecond; a second without an answer means it is not there.
DEFAULT_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}

F = TypeVar("F", bound=Callable[..., Any])


def _degrades_to(fallback: Callable[..., Any]) -> Callable[[F], F]:
    """Runs the RedisCache method unless Redis is known down; on a connection error answers
    `fallback(*args, **kwargs)` instead."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
            if self._down_until > time.monotonic():
                return fallback(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as exc:
                self._went_down(method.__name__, exc)
                return fallback(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


class ResilientRedisCache(RedisCache):
    """`django.core.cache.backends.redis.RedisCache` that answers as an empty cache while Redis is down."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        params = {**params, "OPTIONS": {**DEFAULT_OPTIONS, **params.get("OPTIONS", {})}}
        super().__init__(server, params)
        self._down_until = 0.0
        self._warned_at = -WARN_EVERY
        self._lock = threading.Lock()

    def _went_down(self, operation: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._down_until = now + RETRY_AFTER
            warn = now - self._warned_at >= WARN_EVERY
            if warn:
                self._warned_at = now
        if warn:
            logger.warning(
                "cache: Redis is unreachable (%s on %s: %s); serving without it (throttles let requests "
                "through) and retrying in %.0f s",
                exc.__class__.__name__,
                operation,
                exc,
                RETRY_AFTER,
            )

    @property
    def is_down(self) -> bool:
        return self._down_until > time.monotonic()

    @_degrades_to(lambda key, default=None, version=None: default)
    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return super().get(key, default, version)

    @_degrades_to(lambda keys, version=None: {})
    def get_many(self, keys: Any, version: Any = None) -> Any:
        return super().get_many(keys, version)

    @_degrades_to(lambda key, version=None: False)
    def has_key(self, key: Any, version: Any = None) -> bool:
        return super().has_key(key, version)

    # "Stored, you are the first": callers that use add() to do something once per window (debounce
    # keys) do it every time instead of never.
    @_degrades_to(lambda *args, **kwargs: True)
    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return super().add(key, value, timeout, version)

    @_degrades_to(lambda *args, **kwargs: None)
    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> None:
        super().set(key, value, timeout, version)

    @_degrades_to(lambda data, *args, **kwargs: list(data))
    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return super().set_many(data, timeout, version)

    @_degrades_to(lambda *args, **kwargs: False)
    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return super().touch(key, timeout, version)

    @_degrades_to(lambda *args, **kwargs: False)
    def delete(self, key: Any, version: Any = None) -> bool:
        return super().delete(key, version)

    @_degrades_to(lambda *args, **kwargs: None)
    def delete_many(self, keys: Any, version: Any = None) -> None:
        super().delete_many(keys, version)

    # A counter that cannot be read starts again: the first request of a window counts as one.
    @_degrades_to(lambda key, delta=1, version=None: delta)
    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        return super().incr(key, delta, version)

    @_degrades_to(lambda *args, **kwargs: None)
    def clear(self) -> None:
        super().clear()
