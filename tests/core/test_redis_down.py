"""Redis down: the cache answers as an empty cache, so API calls and logins still work (throttles let
requests through) instead of answering 500; with Redis up the same throttles count as before."""

from __future__ import annotations

import logging
import uuid

import pytest

from cxm.api.throttling import ApiKeyRateThrottle
from cxm.core.cache import ResilientRedisCache

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


def _cache_settings(location: str) -> dict[str, dict[str, str]]:
    return {
        "default": {
            "BACKEND": "cxm.core.cache.ResilientRedisCache",
            "LOCATION": location,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}",  # shared Redis db: never another run's keys
        }
    }


def test_a_dead_redis_reads_as_an_empty_cache_and_warns_once(caplog):
    cache = ResilientRedisCache(DEAD_REDIS, {})
    with caplog.at_level(logging.WARNING, logger="cxm.cache"):
        assert cache.get("k", "fallback") == "fallback"
        assert cache.add("k", 1, 60) is True  # "you are the first": debounced work is done, not skipped
        assert cache.incr("counter", 3) == 3  # a counter that cannot be read starts again
        assert cache.set("k", 1, 60) is None
        assert cache.get_many(["a", "b"]) == {}
        assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
        assert cache.has_key("k") is False
        assert cache.delete("k") is False
        assert cache.get_or_set("k", 7) == 7
    assert cache.is_down
    warnings = [r for r in caplog.records if r.name == "cxm.cache"]
    assert len(warnings) == 1 and "Redis is unreachable" in warnings[0].getMessage()


def test_short_socket_timeouts_are_the_default_and_can_be_overridden():
    cache = ResilientRedisCache(DEAD_REDIS, {"OPTIONS": {"socket_timeout": 3}})
    assert cache._options == {"socket_connect_timeout": 1.0, "socket_timeout": 3}


def test_a_live_redis_is_used_as_usual(redis_url):
    cache = ResilientRedisCache(redis_url, {"KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"})
    assert cache.add("k", 1, 60) is True and cache.add("k", 2, 60) is False
    assert cache.incr("k", 4) == 5
    assert cache.get("k") == 5 and not cache.is_down
    cache.delete("k")


@pytest.fixture
def api_throttle_of_one(monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "1/min", "public": "1/min"})


def _get_organization(api_client):
    response = api_client.get("/api/v1/organization/")
    return response.status_code, response.json()


@pytest.mark.django_db
def test_api_calls_answer_with_redis_down_and_the_throttle_lets_them_through(
    api_client, organization, settings, api_throttle_of_one, caplog
):
    settings.CACHES = _cache_settings(DEAD_REDIS)
    with caplog.at_level(logging.WARNING, logger="cxm.cache"):
        first, second = _get_organization(api_client), _get_organization(api_client)
    assert first == second
    assert first[0] == 200 and first[1]["slug"] == "acme"  # not throttled: the limit is 1/min
    assert any("Redis is unreachable" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_with_redis_up_the_api_throttle_still_counts(
    api_client, organization, settings, api_throttle_of_one, redis_url
):
    settings.CACHES = _cache_settings(redis_url)
    assert _get_organization(api_client)[0] == 200
    status, body = _get_organization(api_client)
    assert status == 429 and body["error"]["code"] == "throttled"


def _login(client, password):
    return client.post("/accounts/login/", {"username": "owner@acme.test", "password": password})


@pytest.mark.django_db
def test_login_works_with_redis_down(client, owner, settings):
    settings.CACHES = _cache_settings(DEAD_REDIS)
    settings.LOGIN_RATE_LIMIT = 1
    assert _login(client, "wrong").status_code == 200
    assert _login(client, "wrong").status_code == 200  # the limit cannot be counted: let through
    response = _login(client, "pw-123456!")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(owner.pk)


@pytest.mark.django_db
def test_with_redis_up_login_attempts_are_still_limited(client, owner, settings, redis_url):
    settings.CACHES = _cache_settings(redis_url)
    settings.LOGIN_RATE_LIMIT = 1
    assert _login(client, "wrong").status_code == 200
    blocked = _login(client, "pw-123456!")
    assert blocked.status_code == 429 and "_auth_user_id" not in client.session
