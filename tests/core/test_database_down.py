"""PostgreSQL down: pages, the API and the public submission lane answer 503 with Retry-After
(JSON under /api/, a short page elsewhere), never 500.

The application runs in a child process whose DATABASE_URL points at a closed port, so every layer
(session and API-key lookups in middleware and authentication, views, the ASGI lane) meets a real
connection error from the driver."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.workers import ROOT

PROBE = r"""
import asyncio, json
import django
django.setup()
from django.test import Client
from surveys.collection.asgi import asgi_public_responses
from tests.asgi import call

def answer(response):
    return {"status": response.status_code, "retry_after": response.get("Retry-After"),
            "type": response.get("Content-Type"), "body": response.content.decode()}

client = Client(raise_request_exception=False)
client.cookies["sessionid"] = "some-session"
out = {
    "page": answer(client.get("/dashboards/")),
    "page_zh": answer(client.get("/dashboards/", HTTP_ACCEPT_LANGUAGE="zh-hans")),
    "login": answer(client.post("/accounts/login/", {"username": "a@b.c", "password": "x"})),
    "api": answer(client.get("/api/v1/organization/", HTTP_AUTHORIZATION="Bearer cxm_nope")),
}
submit = asyncio.run(call(asgi_public_responses, "POST", "/api/v1/public/surveys/AbCdEfGhIjKl/responses",
                          b'{"answers": {}}', [("content-type", "application/json")]))
out["submit"] = {"status": submit.status_code, "retry_after": submit.get("Retry-After"),
                 "type": submit.get("Content-Type"), "body": submit.content.decode()}
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def answers() -> dict[str, dict[str, object]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cxm.settings.test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/cxm_down",  # nothing listens on port 1
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, done.stderr[-3000:]
    return json.loads(line.removeprefix("RESULT "))


def test_a_page_answers_a_short_503_page(answers):
    page = answers["page"]
    assert (page["status"], page["retry_after"]) == (503, "30")
    assert page["type"].startswith("text/html")
    assert "Temporarily unavailable" in page["body"] and "cannot reach its database" in page["body"]


def test_the_503_page_is_translated(answers):
    assert "暂时无法使用" in answers["page_zh"]["body"]


def test_signing_in_answers_503(answers):
    assert (answers["login"]["status"], answers["login"]["retry_after"]) == (503, "30")


@pytest.mark.parametrize("name", ["api", "submit"])
def test_the_api_and_the_public_submission_answer_json_503(answers, name):
    answer = answers[name]
    assert (answer["status"], answer["retry_after"]) == (503, "30")
    assert answer["type"] == "application/json"
    assert json.loads(answer["body"])["error"]["code"] == "service_unavailable"
