"""The public submit throttle with Redis as the cache (docker-compose): the limit holds across
processes. The WSGI view counts in Redis on every request; the ASGI handler counts in its process
and shares the counts through Redis every SHARE_EVERY seconds, never waiting for Redis."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import redis
from asgiref.sync import async_to_sync
from rest_framework.test import APIClient

from cxm.api.throttling import PublicRateThrottle
from surveys.collection import asgi as collection_asgi
from surveys.collection import throttle as collection_throttle
from surveys.models import Response
from tests.asgi import call, in_test_thread
from tests.waiting import GENEROUS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("throttle_window")]
ORIGIN = "https://shop.example.com"


@pytest.fixture
def redis_cache(settings, monkeypatch, redis_url):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        }
    }
    monkeypatch.setattr(collection_throttle, "_backend", [])  # the throttle's backend follows the new setting
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": "2/min"})
    store = redis.Redis.from_url(redis_url)
    yield store, prefix
    keys = store.keys(f"{prefix}:*")
    if keys:
        store.delete(*keys)


def _count(store, prefix):
    keys = store.keys(f"{prefix}:*throttle_public*")
    assert len(keys) == 1
    return int(store.get(keys[0])), store.ttl(keys[0])


def test_wsgi_view_counts_every_request_in_redis(nps_survey, questions, redis_cache):
    store, prefix = redis_cache
    client = APIClient()
    url = f"/api/v1/public/surveys/{nps_survey.public_id}/responses"
    body = json.dumps({"answers": {str(questions["score"]): 9}})
    codes = [
        client.post(url, body, content_type="application/json", HTTP_ORIGIN=ORIGIN).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]
    count, ttl = _count(store, prefix)
    assert count == 3 and 0 < ttl <= 61
    assert Response.objects.unscoped().count() == 2


def test_asgi_processes_share_their_counts_through_redis(nps_survey, questions, redis_cache, monkeypatch):
    from cxm.asgi import application

    store, prefix = redis_cache
    monkeypatch.setattr(collection_asgi, "in_db_thread", in_test_thread)
    path = f"/api/v1/public/surveys/{nps_survey.public_id}/responses"
    headers = [("host", "testserver"), ("content-type", "application/json"), ("origin", ORIGIN)]
    body = json.dumps({"answers": {str(questions["score"]): 9}}).encode()

    async def shared() -> None:
        """Until this loop's counts have gone to Redis and its totals come back (one exchange)."""
        counts = collection_throttle._shared.get(asyncio.get_running_loop())
        deadline = asyncio.get_running_loop().time() + GENEROUS
        while counts is not None and (counts._scheduled or counts._tasks or counts._new):
            assert asyncio.get_running_loop().time() < deadline, "the counts were never shared"
            await asyncio.sleep(collection_throttle.SHARE_EVERY)

    async def process(requests: int) -> list[int]:
        """One event loop stands for one worker process: its own counts, shared after each request."""
        codes = []
        for _ in range(requests):
            codes.append((await call(application, "POST", path, body, headers)).status_code)
            await shared()
        return codes

    # Within a process the count is exact.
    assert async_to_sync(process)(3) == [201, 201, 429]
    assert _count(store, prefix)[0] == 3
    # Another process learns the total at its first exchange (its first request still passes:
    # counts across processes are late by at most one exchange), then refuses.
    assert async_to_sync(process)(2) == [201, 429]
    count, ttl = _count(store, prefix)
    assert count == 5 and 0 < ttl <= 61
    assert Response.objects.unscoped().count() == 3
