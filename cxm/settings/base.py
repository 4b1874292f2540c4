"""Every setting of cxm; local.py, test.py and production.py hold only the differences.

Configuration comes from the environment (see README.md for the full list).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("CXM_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The public origin of this instance, used in emails, QR codes and the embed snippet. Unset, it is
# the local server on PORT (`make run PORT=9000` passes it).
SITE_URL = (os.environ.get("SITE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}").rstrip("/")
# Demo data (`seed_demo`) may be created; production.py turns it off.
DEMO_DATA_ALLOWED = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "cxm.core",
    "cxm.tenancy",
    "cxm.audit",
    "cxm.sso",
    "cxm.api",
    "journeys",
    "surveys",
    "feedback",
    "metrics",
    "loop",
    "delighted_api",
]

MIDDLEWARE = [
    "cxm.core.middleware.EmbeddedBeatMiddleware",
    "cxm.core.middleware.RequestIdMiddleware",
    "cxm.api.middleware.ApiJsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cxm.core.middleware.ContentSecurityPolicyMiddleware",
    "cxm.core.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "cxm.api.middleware.ApiCommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cxm.tenancy.middleware.UserLanguageMiddleware",
    "cxm.tenancy.middleware.CurrentOrganizationMiddleware",
    "cxm.audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cxm.urls"
WSGI_APPLICATION = "cxm.wsgi.application"
ASGI_APPLICATION = "cxm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cxm.tenancy.context_processors.organization",
                "loop.notifications.context.unread_notifications",
            ],
        },
    }
]

# --- Databases --------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'cxm.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["cxm.core.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

# --- Cache, broker, tasks -------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # Redis down degrades the cache (misses, throttles let requests through) instead of failing requests.
    CACHES = {"default": {"BACKEND": "cxm.core.cache.ResilientRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cxm"}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL) or "memory://"
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL) or None
# Without a broker (the embedded default) tasks run in-process, with the same code path: queued to
# background threads of the process (cxm.core.background), so no request waits for one.
CELERY_TASK_ALWAYS_EAGER = not (REDIS_URL or os.environ.get("CELERY_BROKER_URL"))
TASKS_IN_BACKGROUND = CELERY_TASK_ALWAYS_EAGER
# ...and, as there is no beat process then, the server runs the beat schedule in those threads too
# (cxm.core.background.beat_start): the sweeps find what a restart left behind.
TASKS_BACKGROUND_BEAT = env_bool("CXM_EMBEDDED_BEAT", True)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [
    Queue("default"),
    Queue("metrics"),
    Queue("imports"),
    Queue("notifications"),
    Queue("webhooks"),
]
CELERY_TASK_ROUTES = {
    "metrics.tasks.*": {"queue": "metrics"},
    "feedback.tasks.*": {"queue": "metrics"},
    "journeys.tasks.import_*": {"queue": "imports"},
    "surveys.tasks.send_*": {"queue": "notifications"},
    "surveys.tasks.deliver_*": {"queue": "notifications"},
    "loop.tasks.deliver_*": {"queue": "webhooks"},
    "loop.tasks.notify_*": {"queue": "notifications"},
}
# Webhook endpoints on loopback, private, link-local or metadata addresses are refused unless the operator
# allows them (a receiver on the same private network, or tests).
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env_bool("CXM_WEBHOOKS_ALLOW_PRIVATE", False)
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# A task that is not acknowledged within visibility_timeout is handed to another worker: it must be
# longer than the longest task time limit (the 2-hour CSV import), or a running task starts twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3 * 60 * 60,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
# With the broker down, a send fails within seconds (web processes send with ignore_result=True:
# nothing reads a result, and subscribing to one retried the dead Redis for 20 s); the row it was
# for stays queued and a sweep (beat) sends it again later (`journeys.tasks.sweep_import_jobs`,
# `metrics.tasks.recompute_all_organizations`, `surveys.tasks.sweep_invitations`).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": CELERY_TASK_PUBLISH_RETRY_POLICY}

# Rows a CSV import writes (and checkpoints) per transaction.
IMPORT_BATCH_SIZE = int(os.environ.get("CXM_IMPORT_BATCH_SIZE", "5000"))

# --- Metrics ------------------------------------------------------------------------------------
# Seconds a burst of new data waits before one recompute of an organization's dashboards.
METRICS_RECOMPUTE_DEBOUNCE = int(os.environ.get("METRICS_RECOMPUTE_DEBOUNCE", "30"))
# Filtered views whose queries would scan at most this many rows (the planner's estimate, metrics.cost)
# are computed within the request; larger ones are queued (without a broker: a background thread).
METRICS_ON_DEMAND_MAX_ROWS = int(os.environ.get("METRICS_ON_DEMAND_MAX_ROWS", "200000"))
# New data queues a debounced recompute (on a worker, or without a broker in a background thread of
# this process). Off: new data only marks the dashboards stale, and beat (or, without a broker, the
# next dashboard visit) queues the recompute.
METRICS_RECOMPUTE_ON_SIGNAL = env_bool("METRICS_RECOMPUTE_ON_SIGNAL", True)

# --- Text analytics -----------------------------------------------------------------------------
# New comments (responses, feedback records) queue their analysis after commit, once per burst of
# this many seconds; off: the sweep (beat) and the backfill command analyse them.
FEEDBACK_ANALYSE_ON_SIGNAL = env_bool("FEEDBACK_ANALYSE_ON_SIGNAL", True)
FEEDBACK_ANALYSE_DEBOUNCE = int(os.environ.get("FEEDBACK_ANALYSE_DEBOUNCE", "2"))

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Passwords (refused where an organization turned them off), then each organization's OpenID
# Connect provider (cxm.sso); Django's own stays last for sessions it already holds.
AUTHENTICATION_BACKENDS = [
    "cxm.sso.passwords.PasswordBackend",
    "cxm.sso.backend.OrganizationOIDCBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# mozilla-django-oidc: the provider is per organization (cxm/sso), these are the flow's choices.
OIDC_AUTHENTICATION_CALLBACK_URL = "sso-callback"
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_STORE_ACCESS_TOKEN = False
OIDC_STORE_ID_TOKEN = False
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Proxies (CIDRs) whose X-Forwarded-For is believed when they are the peer (cxm.core.clientip).
TRUSTED_PROXIES = [
    value.strip() for value in os.environ.get("TRUSTED_PROXIES", "").split(",") if value.strip()
]
for _proxy in TRUSTED_PROXIES:
    ipaddress.ip_network(_proxy, strict=False)  # a typo stops the start, not the first request

# Login attempts allowed per (IP, username) and per IP within LOGIN_RATE_WINDOW seconds.
LOGIN_RATE_LIMIT = int(os.environ.get("LOGIN_RATE_LIMIT", "10"))
LOGIN_RATE_WINDOW = int(os.environ.get("LOGIN_RATE_WINDOW", "300"))

# --- Internationalisation ------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Email ----------------------------------------------------------------------------------
# EMAIL_URL: smtp://user:pass@host:587?tls=1, or console:// (default), or locmem://.
EMAIL_URL = os.environ.get("EMAIL_URL", "console://")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "cxm <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL


def _email_settings(url: str) -> dict[str, object]:
    from urllib.parse import parse_qs, unquote, urlparse

    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": parsed.path,
        }
    if scheme in {"smtp", "smtps", "submission"}:
        query = parse_qs(parsed.query)
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parsed.hostname or "localhost",
            "EMAIL_PORT": parsed.port
            or (465 if scheme == "smtps" else 587 if scheme == "submission" else 25),
            "EMAIL_HOST_USER": unquote(parsed.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
            "EMAIL_USE_SSL": scheme == "smtps",
            "EMAIL_USE_TLS": scheme == "submission" or query.get("tls", ["0"])[0] in {"1", "true"},
            "EMAIL_TIMEOUT": 20,
        }
    raise ValueError(f"EMAIL_URL has an unknown scheme: {scheme!r}")


globals().update(_email_settings(EMAIL_URL))

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cxm.api.authentication.ApiKeyAuthentication",
        "cxm.api.authentication.OrganizationSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cxm.api.permissions.IsOrganizationMember"],
    "DEFAULT_PAGINATION_CLASS": "cxm.api.pagination.DefaultCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["cxm.api.filters.TenantFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["cxm.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": os.environ.get("API_RATE_LIMIT", "1200/min"),
        "public": os.environ.get("PUBLIC_RATE_LIMIT", "120/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["cxm.api.parsers.LimitedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "cxm.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "cxm.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "cxm API",
    "DESCRIPTION": "Customers, interactions, orders, surveys, responses and metrics.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cxm.api.schema.postprocess_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TouchpointChannelEnum": "journeys.models.Channel",
        "ResponseChannelEnum": "surveys.models.ResponseChannel",
        "StatusEnum": "surveys.models.SurveyStatus",
        "WebhookDeliveryStatusEnum": "loop.models.DeliveryStatus",
        "SentimentEnum": "feedback.models.SentimentLabel",
        "FeedbackChannelEnum": "feedback.models.FeedbackChannel",
        "QuestionKindEnum": "surveys.models.QuestionKind",
        "NotificationKindEnum": "loop.models.NotificationKind",
        "ChatChannelKindEnum": "loop.models.ChannelKind",
        "LanguageEnum": LANGUAGES,
        "CaseStatusEnum": "loop.models.CaseStatus",
    },
}
# Request bodies over this size get a 413 (bulk endpoints raise it for themselves).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(8 * 1024 * 1024)))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20000
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "cxm.core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "cxm.core.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "INFO"},
    },
}
