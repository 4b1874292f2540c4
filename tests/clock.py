"""A pinned clock for tests whose expectations depend on the date: month buckets, "last 30 days",
"3 days ago". Every `django.utils.timezone.now()` reads it (also `localdate()`, `localtime()` and
model fields with `default=timezone.now`), in the test process and its live-server threads, so a
test gives the same answer on any day: the 1st of a month, 31 December, at 23:59.

    def test_something(clock):
        clock.set(datetime(2027, 1, 1, 0, 30, tzinfo=UTC))   # just after New Year
        ...
        clock.tick(timedelta(days=2))

The clock starts at `DEFAULT_INSTANT` and advances with real time (so stored events keep their order)
unless `clock.freeze()`. Processes started by the test (a Celery worker) keep the real clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

# Mid-month, mid-day: far from every boundary. Tests about boundaries set their own instant.
DEFAULT_INSTANT = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

_real_datetime = datetime


class Clock:
    def __init__(self, at: datetime = DEFAULT_INSTANT, *, advance: bool = True) -> None:
        self.advance = advance
        self.set(at)

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._at = at.astimezone(UTC)
        self._since = time.monotonic()

    def freeze(self) -> None:
        self._at, self.advance = self.now(UTC), False

    def tick(self, delta: timedelta) -> None:
        self.set(self.now(UTC) + delta)

    def now(self, tz: tzinfo | None = None) -> datetime:
        at = self._at + (timedelta(seconds=time.monotonic() - self._since) if self.advance else timedelta())
        if tz is None:
            return at.replace(tzinfo=None)  # like datetime.now(): naive (only with USE_TZ = False)
        return at.astimezone(tz)


class _DatetimeMeta(type):
    """isinstance(x, <the patched name>) still means a real datetime (template_localtime checks it)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _real_datetime)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _real_datetime)

    def __getattr__(cls, name: str) -> Any:  # anything but now() is the real datetime's
        return getattr(_real_datetime, name)


def install(monkeypatch: Any, clock: Clock) -> None:
    """Routes django.utils.timezone's `datetime.now` to the clock for the rest of the test."""
    import django.utils.timezone as django_timezone

    class _ClockDatetime(metaclass=_DatetimeMeta):
        @staticmethod
        def now(tz: tzinfo | None = None) -> datetime:
            return clock.now(tz)

    monkeypatch.setattr(django_timezone, "datetime", _ClockDatetime)
