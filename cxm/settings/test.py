"""The test suite: fast hashing, mail kept in memory, tasks in-process unless a test starts a worker."""

import os

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK

SECRET_KEY = "test-only-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
# Tests run tasks in-process; tests that need the real broker start a worker of their own.
CELERY_TASK_ALWAYS_EAGER = True
# ...inside the caller, unless a test turns the background threads of the embedded default on.
TASKS_IN_BACKGROUND = False
# Tests that turn the background threads on wait for them to be idle: no beat entries queued there.
TASKS_BACKGROUND_BEAT = False
# The production path (signal → debounced task) is the one under test; the embedded path has its own tests.
METRICS_RECOMPUTE_ON_SIGNAL = True
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"api_key": "100000/min", "public": "100000/min"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
CXM_REQUIRE_SERVICES = os.environ.get("CXM_REQUIRE_SERVICES") == "1"
# The cache stays per process so parallel test workers never flush each other's keys (or the broker's).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cxm-test"}}
# Live-server threads must not keep connections open past a test (the test database is dropped after).
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, as `make run` has, not the shared-cache in-memory database: there a write transaction
    # of a background thread makes another connection fail at once ("database table is locked")
    # instead of waiting the busy timeout, which is not how the embedded default behaves.
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"cxm-test-{os.getpid()}.sqlite3")
    }
