"""Waiting in tests: on a condition with a generous deadline, never on a wall-clock budget.

The suite runs on busy machines (CI beside other jobs, two cores): a worker process may take many
seconds to start, a page many seconds to render. A test waits until what it expects is true and
fails only when it is still false after a deadline no healthy run comes near.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Deadlines far beyond any healthy run: a slow machine waits longer, a broken one still fails.
GENEROUS = 120.0
# Playwright's waits and expect() in milliseconds (its own defaults: 30 s for actions, 5 s for expect).
BROWSER_TIMEOUT_MS = 90_000


class WaitTimeout(AssertionError):
    """The condition was still false at the deadline (an AssertionError: pytest reports it as a failure)."""


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = GENEROUS,
    interval: float = 0.05,
    message: str | Callable[[], str] = "",
) -> T:
    """Calls predicate until it returns something truthy and returns that; WaitTimeout after timeout
    seconds. The interval grows gently (up to 1 s) so a long wait does not hammer the database."""
    deadline = time.monotonic() + timeout
    delay = interval
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise WaitTimeout(
                f"still false after {timeout:g} s: {text or getattr(predicate, '__name__', predicate)}"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
