"""Shared fixtures: organizations, members, API clients, and the real services (PostgreSQL, Redis).

Service-backed tests skip when a service is not configured, unless CXM_REQUIRE_SERVICES=1
(as in CI), where a missing service fails the test instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from cxm.tenancy.models import Organization
from cxm.tenancy.roles import Role
from cxm.tenancy.services import api_key_create

from .clock import Clock, install
from .factories import MembershipFactory, OrganizationFactory, UserFactory
from .waiting import BROWSER_TIMEOUT_MS

# Playwright's sync API keeps an event loop on the test thread; the ORM calls in the same tests are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def require_service(name: str, available: bool, why: str = "") -> None:
    if available:
        return
    message = f"{name} is not available{': ' + why if why else ''}"
    if os.environ.get("CXM_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (CXM_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    ok, why = False, "REDIS_URL is not set"
    if url:
        try:
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=10).ping()
            ok = True
        except Exception as exc:  # noqa: BLE001
            why = f"{url}: {exc}"
    require_service("Redis", ok, why)
    return url


@pytest.fixture
def postgres(db: Any) -> None:
    require_service(
        "PostgreSQL", connection.vendor == "postgresql", f"the test database is {connection.vendor}"
    )


@pytest.fixture
def organization(db: Any) -> Organization:
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def other_organization(db: Any) -> Organization:
    return OrganizationFactory(slug="globex", name="Globex")


@pytest.fixture
def make_member(db: Any) -> Callable[..., Any]:
    def _make(organization: Organization, role: str = Role.OWNER, email: str | None = None) -> Any:
        user = UserFactory(**({"username": email} if email else {}))
        MembershipFactory(organization=organization, user=user, role=role)
        return user

    return _make


@pytest.fixture
def owner(organization: Organization, make_member: Callable[..., Any]) -> Any:
    return make_member(organization, Role.OWNER, "owner@acme.test")


@pytest.fixture
def owner_client(client: Any, owner: Any) -> Any:
    client.force_login(owner)
    return client


@pytest.fixture
def api_key(organization: Organization) -> str:
    _key, plaintext = api_key_create(organization=organization, name="test")
    return plaintext


@pytest.fixture
def api_client(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def other_api_client(other_organization: Organization) -> APIClient:
    _key, plaintext = api_key_create(organization=other_organization, name="other")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


@pytest.fixture
def read_only_api_client(organization: Organization) -> APIClient:
    _key, plaintext = api_key_create(organization=organization, name="ro", read_only=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    from django.core.cache import cache

    from surveys.collection.throttle import throttle_counts_clear

    cache.clear()
    throttle_counts_clear()  # the public submit throttle's counts, kept in-process with a LocMem cache


@pytest.fixture
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    require_service("Chromium", os.path.exists(path), f"{path} is missing (apt-get install chromium)")
    return path


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser(chromium_path: str) -> Any:
    """Chromium through Playwright. Every page it opens (new_page, new_context().new_page) and
    expect() wait up to BROWSER_TIMEOUT_MS by default: generous for a busy machine."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True, timeout=BROWSER_TIMEOUT_MS
        )
        new_context, new_page = instance.new_context, instance.new_page

        def generous(target: Any) -> Any:  # a context or a page
            target.set_default_timeout(BROWSER_TIMEOUT_MS)
            target.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
            return target

        instance.new_context = lambda *a, **kw: generous(new_context(*a, **kw))
        instance.new_page = lambda *a, **kw: generous(new_page(*a, **kw))
        try:
            yield instance
        finally:
            instance.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "now(at): run the test with django.utils.timezone.now() pinned at `at`, an aware datetime "
        "(from before its fixtures run: sessions, objects created by fixtures); see the clock fixture",
    )


@pytest.fixture(autouse=True)
def _pinned_now(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Clock | None:
    """Pins the clock before any other fixture runs, for @pytest.mark.now(at) or CXM_TEST_NOW.

    CXM_TEST_NOW=2027-01-01T00:30:00+00:00 runs the tests as if it were then (the 1st of a month,
    New Year, 23:59...): a test that passes today but not on such a day depends on the date. Tests
    with a worker process keep the real clock (the worker has it)."""
    marker = request.node.get_closest_marker("now")
    if marker is not None:
        at = marker.args[0]
    elif os.environ.get("CXM_TEST_NOW") and request.node.get_closest_marker("worker") is None:
        at = datetime.fromisoformat(os.environ["CXM_TEST_NOW"])
    else:
        return None
    pinned = Clock(at)
    install(monkeypatch, pinned)
    return pinned


@pytest.fixture
def clock(_pinned_now: Clock | None, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """django.utils.timezone.now() pinned (see tests/clock.py): for tests whose expectations depend
    on the date. Starts where @pytest.mark.now(at) says, else mid-month at noon UTC, and advances with
    real time; clock.set(), .tick(), .freeze() move it (a session logged in before a jump of more
    than two weeks expires: pin with the marker instead)."""
    if _pinned_now is not None:
        return _pinned_now
    pinned = Clock()
    install(monkeypatch, pinned)
    return pinned


@pytest.fixture
def throttle_window(monkeypatch: pytest.MonkeyPatch) -> float:
    """The public submit throttle counts per fixed window (a minute at "2/min"): a test whose
    requests straddle a window's end would see the count start again. Its clock stays at the start
    of one window for the test."""
    from cxm.api.throttling import PublicRateThrottle

    at = 1_800_000_000.0 + 1  # a multiple of every window length used (60, 3600, 86400) plus 1 s
    monkeypatch.setattr(PublicRateThrottle, "timer", staticmethod(lambda: at))
    return at


@pytest.fixture
def settings_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


@pytest.fixture
def background_tasks(settings: Any) -> Any:
    """The embedded default: `delay()`/`apply_async()` queue to this process's background threads
    instead of running in the caller. Waits at the end for what the test queued."""
    from cxm.core import background

    settings.TASKS_IN_BACKGROUND = True
    settings.METRICS_RECOMPUTE_DEBOUNCE = 1
    yield background.runner
    assert background.runner.wait_idle(180), "background tasks were still running after the test"


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """A page requested in Chinese leaves Chinese active on the test's thread (LocaleMiddleware
    activates, nothing deactivates): each test starts and ends in the default language."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
