import pytest


def test_healthz_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


@pytest.mark.django_db
def test_readyz_reports_database_and_in_process_broker(client, settings):
    settings.REDIS_URL = ""
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["up"] is True
    assert body["checks"]["broker"] == {"configured": False, "up": None, "mode": "in-process"}


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["up"] is False


@pytest.mark.django_db
def test_readyz_with_real_redis(client, settings, redis_url):
    settings.REDIS_URL = redis_url
    body = client.get("/readyz").json()
    assert body["checks"]["broker"] == {"configured": True, "up": True, "mode": "redis"}


def test_request_id_is_kept_when_sane(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    assert client.get("/healthz", HTTP_X_REQUEST_ID="bad id!")["X-Request-ID"] != "bad id!"


def test_csp_forbids_inline_scripts(client):
    csp = client.get("/healthz")["Content-Security-Policy"]
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'self'" in script_src and "unsafe-inline" not in script_src


def test_json_log_lines_carry_the_request_id():
    import json
    import logging

    from cxm.core.logging import JsonFormatter, RequestIdFilter, request_id_var

    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("cxm", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        RequestIdFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hello world" and line["request_id"] == "req-42" and line["level"] == "INFO"
