"""The production server as docker-compose runs it: gunicorn, uvicorn workers, cxm.asgi, PostgreSQL.

A real process on a real port: the public submission goes through the ASGI handler and the event
loop's group committer; every other URL through Django in the thread pool."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from cxm.tenancy.services import api_key_create
from surveys import services
from surveys.models import Answer, Response
from tests.waiting import GENEROUS, wait_until

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def asgi_server(postgres, transactional_db):
    settings = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cxm.settings.production",
        "DATABASE_URL": f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CXM_SURVEYS_GROUP_COMMIT": "1",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            GUNICORN,
            "cxm.asgi:application",
            "-k",
            "uvicorn_worker.UvicornWorker",
            "--workers",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def answers() -> bool:
            if server.poll() is not None:  # exited: no point in waiting
                return True
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5)
            except OSError:
                return False
            return True

        wait_until(answers, timeout=GENEROUS * 2, interval=0.2, message="gunicorn never answered /healthz")
        assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=GENEROUS)[0].decode()
    assert "Traceback" not in output, output


def _post(url: str, body: dict, origin: str = "https://shop.example.com") -> tuple[int, dict, Any]:
    """Status, JSON body and headers (case-insensitive, as HTTP header names are)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Origin": origin},
    )
    try:
        with urllib.request.urlopen(request, timeout=GENEROUS) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


def test_gunicorn_with_uvicorn_workers_serves_collection_and_pages(asgi_server, organization):
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_update(survey=survey, allowed_origins=["https://shop.example.com"])
    services.survey_set_status(survey=survey, action="activate")
    score, detractor = [q.id for q in survey.questions.order_by("position")][:2]
    url = f"{asgi_server}/api/v1/public/surveys/{survey.public_id}/responses"

    status, body, headers = _post(url, {"answers": {str(score): 2}, "idempotency_key": "live-1"})
    assert status == 201 and body["score"] == 2 and body["created"] is True
    assert headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert headers["X-Content-Type-Options"] == "nosniff" and "X-Request-ID" in headers
    # Acknowledged means committed: this (other) connection sees it at once.
    assert Response.objects.unscoped().get(pk=body["id"]).score == 2
    status, body, _ = _post(
        url, {"answers": {str(score): 2, str(detractor): "Slow"}, "idempotency_key": "live-1"}
    )
    assert status == 200 and body["comment"] == "Slow"
    assert Answer.objects.unscoped().filter(response__survey=survey).count() == 2
    status, body, headers = _post(url, {"answers": {str(score): 9}}, origin="https://evil.example.net")
    assert status == 403 and body["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in headers
    status, body, _ = _post(url, {"answers": {str(score): 11}})
    assert status == 400 and "between 0 and 10" in body["error"]["message"]

    # Everything else is Django through the thread pool: the API with a key and a request body.
    _key, plaintext = api_key_create(organization=organization, name="live")
    request = urllib.request.Request(
        f"{asgi_server}/api/v1/responses",
        data=json.dumps(
            {"survey": survey.public_id, "answers": {str(score): 10}, "idempotency_key": "api-1"}
        ).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {plaintext}"},
    )
    with urllib.request.urlopen(request, timeout=GENEROUS) as response:
        assert response.status == 201 and json.loads(response.read())["score"] == 10
    try:
        urllib.request.urlopen(f"{asgi_server}/api/v1/organization/", timeout=GENEROUS)
    except urllib.error.HTTPError as error:
        assert error.code == 401 and json.loads(error.read())["error"]["code"] == "not_authenticated"
    else:
        pytest.fail("the API answered without credentials")
    with urllib.request.urlopen(f"{asgi_server}/readyz", timeout=GENEROUS) as ready:
        assert json.loads(ready.read())["status"] == "ready"
    assert Response.objects.unscoped().filter(survey=survey).count() == 2
