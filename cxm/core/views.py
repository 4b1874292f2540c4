from __future__ import annotations

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers."""
    return JsonResponse({"status": "ok"})


def _database_status() -> dict[str, object]:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"configured": True, "up": True, "vendor": connections["default"].vendor}
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return {"configured": True, "up": False, "error": exc.__class__.__name__}


def _broker_status() -> dict[str, object]:
    if not settings.REDIS_URL:
        return {"configured": False, "up": None, "mode": "in-process"}
    try:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        return {"configured": True, "up": True, "mode": "redis"}
    except Exception as exc:  # noqa: BLE001
        return {"configured": True, "up": False, "mode": "redis", "error": exc.__class__.__name__}


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachable; says which are configured and up."""
    checks = {"database": _database_status(), "broker": _broker_status()}
    ready = all(check["up"] is not False for check in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
