"""One HTTP POST of a webhook, connected to an address the guard checked (the connection is pinned to
it; the Host header and TLS server name stay the URL's). Redirects are not followed: a 3xx fails."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .addresses import resolve

RESPONSE_READ_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = resolve(url)
    except ValueError as exc:
        return Outcome(None, elapsed(), "", str(exc)[:500])
    connection_class = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = connection_class(target.host, target.port, target.addresses[0], timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        answer = connection.getresponse()
        excerpt = answer.read(RESPONSE_READ_LIMIT)[:1000].decode("utf-8", "replace")
        return Outcome(answer.status, elapsed(), excerpt, "")
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, elapsed(), "", f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()


def claim_due(queryset: Any, *, claim_seconds: float) -> Any:
    """The pending or retrying row of `queryset` whose attempt is due and that no other worker holds,
    marked as held for `claim_seconds` (so a worker that dies mid-attempt lets it go), or None.
    Shared by webhook deliveries and chat-robot messages (same columns, same rule)."""
    from ..models import DeliveryStatus

    now = timezone.now()
    with transaction.atomic():
        found = (
            queryset.select_for_update(skip_locked=True)
            .filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING])
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .first()
        )
        if found is None:
            return None
        found.claimed_until = now + timedelta(seconds=claim_seconds)
        found.save(update_fields=["claimed_until"])
    return found
