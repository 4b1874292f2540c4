"""The public collection endpoint, `POST /api/v1/public/surveys/<public_id>/responses`, for any server.

Every widget and link page posts here, so it is the busiest URL of the product. Its rules live in
one sequence shared by two transports:

- `asgi_public_responses`: the production path. `cxm.asgi` hands this URL to it straight from the
  ASGI server (gunicorn with uvicorn workers), outside Django's request/response machinery. The
  checks run in the event loop (no query: the survey and touchpoints come from the per-process
  snapshot), new responses go to the group committer (`surveys.committer`) and the coroutine awaits
  the commit without holding a thread; the rest (a customer to look up, an idempotency key that is
  already stored, SQLite) runs in a small thread pool.
- `surveys.api.fast_public_submit`: the same sequence as a Django view, for runserver and WSGI servers.

Either way: the same checks in the same order, the same JSON error shape, the same CORS and security
headers, and a 2xx only after the response is committed. Tests run every case against both.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import threading
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import psycopg2
from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ValidationError
from django.http.request import split_domain_port, validate_host
from rest_framework import exceptions, status

from cxm.api.exceptions import _first_message, error_body
from cxm.api.throttling import PublicRateThrottle
from cxm.core.clientip import client_ip_of
from cxm.core.jsonsafe import JsonRejected, loads_strict
from cxm.core.logging import client_ip_var, request_id_var
from cxm.core.middleware import CSP, valid_request_id
from cxm.core.unavailable import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, api_error_body

from . import selectors, services
from .committer import group_commit_enabled, loop_committer, with_fresh_connection
from .models import CHANNELS, ResponseChannel

logger = logging.getLogger("cxm.surveys")

MAX_BODY = 64 * 1024
PATH = re.compile(r"^/api/v1/public/surveys/(?P<public_id>[^/]+)/responses/?$")
METHODS = frozenset({"POST", "OPTIONS"})


class SurveyClosed(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This survey is not accepting responses."
    default_code = "survey_closed"


class StoreTimeout(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The response could not be stored in time; retry with the same key."
    default_code = "unavailable"


class OriginNotAllowed(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "This origin may not post to this survey; add it to the survey's allowed origins."
    default_code = "origin_not_allowed"


def request_origin(request: Any) -> str | None:
    """This site's origin as the request reached it, or None for a Host that ALLOWED_HOSTS refuses."""
    try:
        return f"{request.scheme}://{request.get_host()}"
    except Exception:  # noqa: BLE001  (a disallowed Host header: only SITE_URL counts)
        return None


def origin_allowed(
    *,
    origin: str,
    snapshot: selectors.SurveySnapshot | None,
    request: Any = None,
    own_origin: Callable[[], str | None] | None = None,
) -> bool:
    """No Origin (server to server), one of the survey's allowed origins, or this site's origin.

    This site is SITE_URL and the origin the request came in on (from `request`, or `own_origin()`
    for a server that has no Django request)."""
    if not origin:
        return True
    origin = origin.rstrip("/").lower()
    if snapshot is not None and (origin in snapshot.allowed_origins or "*" in snapshot.allowed_origins):
        return True
    parts = urlsplit(settings.SITE_URL)
    if origin == f"{parts.scheme}://{parts.netloc}".lower():
        return True
    own = request_origin(request) if request is not None else own_origin() if own_origin is not None else None
    return own is not None and origin == own.lower()


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
    """PublicRateThrottle's rate per client IP, counted in fixed windows with one atomic increment.

    DRF's sliding window keeps every request time of the window in one cached list and rewrites it on
    each request: O(requests in the window) per request, which dominates the cost of the busiest
    public endpoint. A counter per (IP, window) costs the same at any rate.
    """

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


_ENVELOPE_STRINGS = {"locale": 16, "page_url": 2000, "touchpoint": 100, "idempotency_key": 128}


def envelope_errors(data: Any) -> dict[str, list[str]]:
    """The checks SubmissionSerializer makes, written out for the hot path (same field names)."""
    if not isinstance(data, dict):
        return {"non_field_errors": ["Send a JSON object."]}
    errors: dict[str, list[str]] = {}
    if "answers" not in data:
        errors["answers"] = ["This field is required."]
    for name, limit in _ENVELOPE_STRINGS.items():
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[name] = ["Not a valid string."]
        elif len(value) > limit:
            errors[name] = [f"Ensure this field has no more than {limit} characters."]
    channel = data.get("channel")
    if channel is not None and channel not in CHANNELS:
        errors["channel"] = [f'"{channel}" is not a valid choice.'[:200]]
    hidden = data.get("hidden_fields")
    if hidden is not None and not isinstance(hidden, dict):
        errors["hidden_fields"] = [f'Expected a dictionary of items but got type "{type(hidden).__name__}".']
    return errors


def result_body(result: services.SubmitResult, public_id: str) -> dict[str, Any]:
    return {
        "id": result.response_id,
        "survey": public_id,
        "idempotency_key": result.idempotency_key,
        "created": result.created,
        "score_kind": result.score_kind,
        "score": result.score,
        "comment": result.comment,
        "answers": {str(k): v for k, v in result.answers.items()},
    }


# --- The sequence, whichever server delivers the request ---------------------------------------


@dataclass
class Outcome:
    """An answer to send: status, JSON body (None: empty) and extra headers."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _error(status_code: int, code: str, message: str, fields: Any = None) -> Outcome:
    return Outcome(status_code, error_body(status_code, code, message, fields))


def too_large() -> Outcome:
    return _error(413, "payload_too_large", f"The request body is over {MAX_BODY // 1024} KB.")


def cors_headers(origin: str, allowed: bool) -> dict[str, str]:
    headers = {"Vary": "Origin"}
    if origin and allowed:
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type, Idempotency-Key",
                "Access-Control-Max-Age": "600",
            }
        )
    return headers


def preflight(*, allowed: bool) -> Outcome:
    """CORS preflight: 204 for an allowed origin, 403 otherwise."""
    if not allowed:
        return _error(403, OriginNotAllowed.default_code, str(OriginNotAllowed.default_detail))
    return Outcome(204)


def id_refused(public_id: str) -> Outcome | None:
    """None for a public id of the right form; else the answer, without a lookup or a cache entry:
    400 for a control character (`%00`), 404 for anything else."""
    if selectors.public_id_valid(public_id):
        return None
    if any(ord(character) < 32 for character in public_id):
        return _error(400, "invalid_character", "The survey id contains a control character (such as %00).")
    return _error(404, "not_found", "No survey has this id.")


def cached_origin_allowed(*, origin: str, public_id: str, **kwargs: Any) -> bool:
    """`origin_allowed` from this process's snapshot cache only (no query): for an answer given
    before the lookup (a throttled request), so that the widget can still read why."""
    cached = selectors.survey_snapshot_cached(public_id=public_id)
    snapshot = None if cached is selectors.MISS else cast(selectors.SurveySnapshot | None, cached)
    return origin_allowed(origin=origin, snapshot=snapshot, **kwargs)


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
    wait = throttle.wait()
    outcome = _error(
        429,
        "throttled",
        "Request was throttled." + (f" Expected available in {int(wait)} seconds." if wait else ""),
    )
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


def screen(
    *, snapshot: selectors.SurveySnapshot | None, allowed: bool, content_type: str, body: bytes
) -> tuple[dict[str, Any] | None, Outcome | None]:
    """The checks after the throttle and the size cap: (the submission, None) or (None, the error)."""
    if snapshot is None:
        return None, _error(404, "not_found", "No survey has this id.")
    if not allowed:
        return None, _error(403, OriginNotAllowed.default_code, str(OriginNotAllowed.default_detail))
    if not content_type.startswith("application/json"):
        return None, _error(415, "unsupported_media_type", 'Send JSON with "Content-Type: application/json".')
    try:
        data = loads_strict(body or b"null")
    except JsonRejected as exc:
        return None, _error(400, "parse_error", str(exc))
    errors = envelope_errors(data)
    if errors:
        return None, _error(400, "invalid", _first_message(errors), errors)
    return data, None


def failure(exc: Exception) -> Outcome:
    """The answer for what submitting raised (a closed survey, bad answers, a store that timed out)."""
    if isinstance(exc, services.SurveyNotAccepting):
        return _error(
            409, SurveyClosed.default_code, f"This survey is {exc.status} and is not accepting responses."
        )
    if isinstance(exc, ValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return _error(400, "invalid", _first_message(fields), fields)
    if isinstance(exc, TimeoutError):
        return _error(503, StoreTimeout.default_code, str(StoreTimeout.default_detail))
    raise exc


def success(result: services.SubmitResult, public_id: str) -> Outcome:
    return Outcome(201 if result.created else 200, result_body(result, public_id))


SUBMIT_ERRORS = (services.SurveyNotAccepting, ValidationError, TimeoutError)


def submit_envelope(
    snapshot: selectors.SurveySnapshot,
    data: dict[str, Any],
    idempotency_header: str,
    default_channel: str,
    *,
    trusted_identity: bool = False,
    submitted_at: datetime | None = None,
) -> services.SubmitResult:
    """The one mapping of a submission envelope onto the service, for every collection endpoint.

    `trusted_identity`: the caller is the organization itself (an API key), whose customer ids need
    no signature; a public caller's customer counts only when signed. Only the integrator API (an
    API key that may write) passes `submitted_at`; the public endpoint never reads it from the envelope."""
    reference = data.get("customer")
    if not trusted_identity:
        reference = services.customer_reference_signed(snapshot=snapshot, reference=reference)
    customer = services.customer_resolve(organization_id=snapshot.organization_id, reference=reference)
    return services.response_submit(
        snapshot=snapshot,
        answers=data["answers"],
        customer=customer,
        submitted_at=submitted_at,
        **envelope_fields(data, idempotency_header, default_channel),
    )


def envelope_fields(data: dict[str, Any], idempotency_header: str, default_channel: str) -> dict[str, Any]:
    return {
        "locale": data.get("locale") or "",
        "page_url": data.get("page_url") or "",
        "touchpoint_key": data.get("touchpoint") or None,
        "channel": data.get("channel") or default_channel,
        "idempotency_key": data.get("idempotency_key") or idempotency_header,
        "hidden_fields": data.get("hidden_fields") or {},
    }


# --- ASGI -----------------------------------------------------------------------------------------

# Work that needs the ORM (a customer to resolve, a survey not in this process's snapshot, an
# idempotency key already stored) leaves the event loop for these threads.
_db_threads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="collect-db")
T = TypeVar("T")


async def in_db_thread(function: Callable[..., T], **kwargs: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_db_threads, lambda: with_fresh_connection(function, **kwargs))


@functools.cache
def _security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    """What the lean WSGI lane's SecurityMiddleware and CSP middleware add, from the same settings."""
    headers = [(b"content-security-policy", CSP.encode())]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        value = policy if isinstance(policy, str) else ",".join(policy)
        headers.append((b"referrer-policy", value.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    if secure and settings.SECURE_HSTS_SECONDS:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append((b"strict-transport-security", value.encode()))
    return headers


@functools.cache
def _proxy_ssl_header() -> tuple[str, str] | None:
    if not settings.SECURE_PROXY_SSL_HEADER:
        return None
    name, value = settings.SECURE_PROXY_SSL_HEADER
    return name.removeprefix("HTTP_").replace("_", "-").lower(), value


def _is_secure(scope: dict[str, Any], headers: dict[str, str]) -> bool:
    proxy = _proxy_ssl_header()
    if proxy is not None:
        return headers.get(proxy[0], "").split(",")[0].strip() == proxy[1]
    return scope.get("scheme") == "https"


def _own_origin(headers: dict[str, str], secure: bool) -> str | None:
    host = headers.get("host", "")
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return f"{'https' if secure else 'http'}://{host}"


def _client(scope: dict[str, Any], headers: dict[str, str]) -> ClientMeta:
    meta = {"REMOTE_ADDR": (scope.get("client") or ("", 0))[0] or ""}
    if "x-forwarded-for" in headers:
        meta["HTTP_X_FORWARDED_FOR"] = headers["x-forwarded-for"]
    return ClientMeta(meta, headers)


async def _read_body(
    receive: Callable[[], Awaitable[dict[str, Any]]], headers: dict[str, str]
) -> bytes | None:
    """The request body, or None when it is over MAX_BODY (announced or sent)."""
    try:
        if int(headers.get("content-length") or 0) > MAX_BODY:
            return None
    except ValueError:
        pass
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _snapshot(public_id: str) -> selectors.SurveySnapshot | None:
    cached = selectors.survey_snapshot_cached(public_id=public_id)
    if cached is not selectors.MISS:
        return cached  # type: ignore[return-value]
    return await in_db_thread(selectors.survey_snapshot, public_id=public_id)


async def _submit(
    snapshot: selectors.SurveySnapshot, data: dict[str, Any], idempotency_header: str
) -> services.SubmitResult:
    """New responses go to the group committer from the event loop; queries (a customer to resolve,
    a touchpoint not in the snapshot, a key already stored) and SQLite go to a thread."""
    if not group_commit_enabled():
        return await in_db_thread(
            submit_envelope,
            snapshot=snapshot,
            data=data,
            idempotency_header=idempotency_header,
            default_channel=ResponseChannel.WIDGET,
        )
    fields = envelope_fields(data, idempotency_header, ResponseChannel.WIDGET)
    customer_id = None
    reference = services.customer_reference_signed(snapshot=snapshot, reference=data.get("customer"))
    if reference is not None:
        customer = await in_db_thread(
            services.customer_resolve, organization_id=snapshot.organization_id, reference=reference
        )
        customer_id = customer.id if customer is not None else None
    touchpoint_key = fields.pop("touchpoint_key")
    touchpoint_id = snapshot.touchpoint_id
    if touchpoint_key:
        cached = selectors.touchpoint_id_cached(
            organization_id=snapshot.organization_id, key=str(touchpoint_key)
        )
        if cached is selectors.MISS:
            touchpoint_id = await in_db_thread(
                services.touchpoint_for_submission, snapshot=snapshot, touchpoint_key=touchpoint_key
            )
        elif cached is None:
            raise services.unknown_touchpoint()
        else:
            touchpoint_id = cached  # type: ignore[assignment]
    prepared = services.response_prepare(
        snapshot=snapshot,
        answers=data["answers"],
        customer_id=customer_id,
        touchpoint_id=touchpoint_id,
        **fields,
    )
    pending = services.response_pending(prepared=prepared)
    if pending is not None:
        response_id = await loop_committer().submit(pending[0])
        if response_id is not None:
            return services.pending_result(*pending, response_id)
    return await in_db_thread(services.response_write, prepared=prepared)


async def _outcome(
    scope: dict[str, Any],
    receive: Any,
    headers: dict[str, str],
    public_id: str,
    own_origin: Callable[[], str | None],
) -> tuple[Outcome, str, bool]:
    origin = headers.get("origin", "")
    refused = id_refused(public_id)
    if refused is not None:
        return refused, origin, False
    # The throttle comes before any lookup: unknown ids cost a stranger their budget, not a query.
    limited = await throttled_async(_client(scope, headers))
    if limited is not None:
        allowed = cached_origin_allowed(origin=origin, public_id=public_id, own_origin=own_origin)
        return limited, origin, allowed
    snapshot = await _snapshot(public_id)
    allowed = origin_allowed(origin=origin, snapshot=snapshot, own_origin=own_origin)
    if scope["method"] == "OPTIONS":
        return preflight(allowed=allowed), origin, allowed
    body = await _read_body(receive, headers)
    if body is None:
        return too_large(), origin, allowed
    data, error = screen(
        snapshot=snapshot, allowed=allowed, content_type=headers.get("content-type", ""), body=body
    )
    if error is not None:
        return error, origin, allowed
    assert snapshot is not None and data is not None
    try:
        result = await _submit(snapshot, data, headers.get("idempotency-key", ""))
    except SUBMIT_ERRORS as exc:
        return failure(exc), origin, allowed
    return success(result, snapshot.public_id), origin, allowed


async def asgi_public_responses(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI application for POST and OPTIONS on the public responses URL (see `PATH`)."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    incoming = headers.get("x-request-id", "")
    request_id = incoming if incoming and valid_request_id(incoming) else os.urandom(16).hex()
    token = request_id_var.set(request_id)
    ip_token = client_ip_var.set(client_ip_of(_client(scope, headers).META))
    try:
        secure = _is_secure(scope, headers)
        public_id = PATH.match(scope["path"]).group("public_id")  # type: ignore[union-attr]
        try:
            outcome, origin, allowed = await _outcome(
                scope, receive, headers, public_id, lambda: _own_origin(headers, secure)
            )
        except ConnectionError:
            return
        except (*DATABASE_UNAVAILABLE, psycopg2.OperationalError) as exc:
            logger.warning("public survey submission: the database is unavailable (%s)", exc)
            unavailable = Outcome(503, api_error_body(), {"Retry-After": str(RETRY_AFTER_SECONDS)})
            outcome, origin, allowed = unavailable, "", False
        except Exception:
            logger.exception("public survey submission failed")
            outcome, origin, allowed = _error(500, "server_error", "A server error occurred."), "", False
        body = b"" if outcome.body is None else json.dumps(outcome.body).encode()
        response_headers = [
            *([(b"content-type", b"application/json")] if outcome.body is not None else []),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            *_security_headers(secure),
            *((name.lower().encode(), value.encode("latin-1")) for name, value in outcome.headers.items()),
            *(
                (name.lower().encode(), value.encode("latin-1"))
                for name, value in cors_headers(origin, allowed).items()
            ),
        ]
        await send({"type": "http.response.start", "status": outcome.status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})
    finally:
        request_id_var.reset(token)
        client_ip_var.reset(ip_token)
