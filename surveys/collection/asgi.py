"""The ASGI lane: production's entry point for the public submission (`cxm.asgi` hands it the URL
straight from the ASGI server, outside Django's request/response machinery).

The checks run in the event loop (no query: the survey and touchpoints come from the per-process
snapshot), new responses go to the loop's group committer (`committer`) and the coroutine awaits
the commit without holding a thread; the rest (a customer to look up, an idempotency key that is
already stored, SQLite) runs in a small thread pool. Same sequence, answers and headers as the
Django view (`wsgi.fast_public_submit`)."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg2
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from cxm.core.clientip import client_ip_of
from cxm.core.logging import client_ip_var, request_id_var
from cxm.core.middleware import valid_request_id
from cxm.core.unavailable import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, api_error_body
from journeys.services import customer_resolve

from .. import selectors
from ..models import ResponseChannel
from . import write
from .committer import group_commit_enabled, loop_committer, with_fresh_connection
from .fields import service_kwargs
from .http import (
    MAX_BODY,
    PATH,
    SUBMIT_ERRORS,
    Outcome,
    cached_origin_allowed,
    cors_headers,
    error,
    failure,
    id_refused,
    origin_allowed,
    preflight,
    screen,
    security_headers,
    success,
    too_large,
)
from .rules import (
    SubmitResult,
    customer_reference_signed,
    pending_result,
    response_pending,
    response_prepare,
    unknown_touchpoint,
)
from .throttle import ClientMeta, throttled_async

logger = logging.getLogger("cxm.surveys")


# Work that needs the ORM (a customer to resolve, a survey not in this process's snapshot, an
# idempotency key already stored) leaves the event loop for these threads.
_db_threads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="collect-db")
T = TypeVar("T")


async def in_db_thread(function: Callable[..., T], **kwargs: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_db_threads, lambda: with_fresh_connection(function, **kwargs))


@functools.cache
def _security_headers(secure: bool) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((name.lower().encode(), value.encode("latin-1")) for name, value in security_headers(secure))


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
) -> SubmitResult:
    """New responses go to the group committer from the event loop; queries (a customer to resolve,
    a touchpoint not in the snapshot, a key already stored) and SQLite go to a thread."""
    if not group_commit_enabled():
        return await in_db_thread(
            write.submit_envelope,
            snapshot=snapshot,
            data=data,
            idempotency_header=idempotency_header,
            default_channel=ResponseChannel.WIDGET,
        )
    fields = service_kwargs(
        data, idempotency_header=idempotency_header, default_channel=ResponseChannel.WIDGET
    )
    customer_id = None
    reference = customer_reference_signed(snapshot=snapshot, reference=data.get("customer"))
    if reference is not None:
        customer = await in_db_thread(
            customer_resolve, organization_id=snapshot.organization_id, reference=reference
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
                write.touchpoint_for_submission, snapshot=snapshot, touchpoint_key=touchpoint_key
            )
        elif cached is None:
            raise unknown_touchpoint()
        else:
            touchpoint_id = cached  # type: ignore[assignment]
    prepared = response_prepare(
        snapshot=snapshot,
        answers=data["answers"],
        customer_id=customer_id,
        touchpoint_id=touchpoint_id,
        **fields,
    )
    pending = response_pending(prepared=prepared)
    if pending is not None:
        response_id = await loop_committer().submit(pending[0])
        if response_id is not None:
            return pending_result(*pending, response_id)
    return await in_db_thread(write.response_write, prepared=prepared)


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
            outcome, origin, allowed = error(500, "server_error", "A server error occurred."), "", False
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
