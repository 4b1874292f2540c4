"""What the API and its pages trust: no inline script under the CSP, no bad input as a 500."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.django_db


def test_api_docs_page_has_no_inline_script_and_loads_its_script_from_this_origin(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all(body.strip() == "" for _attrs, body in scripts)  # nothing inline
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, _body in scripts]
    assert all(src.startswith("/") for src in sources)  # 'self' under the CSP
    own = [src for src in sources if "script" in src and "static" not in src]
    assert len(own) == 1
    script = client.get(own[0].replace("&amp;", "&"))
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert "/api/v1/schema/" in script.content.decode()
    assert "script-src 'self'" in page["Content-Security-Policy"]


BAD_BODIES = [
    ('{"external_id": "C1", "name": "Li\\u0000"}', "NUL"),
    ('{"external_id": "C1", "name": "Li\\udc00"}', "surrogate"),
    ('{"external_id": "C1", "attributes": {"x": NaN}}', "NaN"),
    ('{"external_id": "C1", "attributes": ' + "[" * 30000 + "]" * 30000 + "}", "nested"),
]


@pytest.mark.parametrize(("raw", "fragment"), BAD_BODIES)
def test_integrator_api_refuses_unstorable_json(api_client, raw, fragment):
    r = api_client.post("/api/v1/customers/", data=raw, content_type="application/json")
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == "parse_error" and fragment in r.json()["error"]["message"]


@pytest.mark.parametrize(("raw", "fragment"), BAD_BODIES[2:])
def test_bulk_endpoints_refuse_unparseable_json(api_client, raw, fragment):
    r = api_client.post("/api/v1/customers/bulk", data=f"[{raw}]", content_type="application/json")
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == "parse_error" and fragment in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ('{"external_id": "C2", "name": "Li\\u0000"}', "name", "NUL"),
        ('{"external_id": "C2", "city": "\\udc00"}', "city", "surrogate"),
        ('{"external_id": "C2", "attributes": {"k": "\\ud800"}}', "attributes", "surrogate"),
        ('{"external_id": "C2", "attributes": {"k\\u0000": 1}}', "attributes", "NUL"),
    ],
)
def test_bulk_rejects_only_the_record_with_unstorable_text(api_client, organization, record, field, reason):
    from journeys.models import Customer

    body = f'[{{"external_id": "C1", "name": "李伟"}}, {record}]'
    r = api_client.post("/api/v1/customers/bulk", data=body, content_type="application/json")
    assert r.status_code in (200, 201), r.content
    result = r.json()
    assert (result["created"], result["rejected"]) == (1, 1)
    assert result["errors"][0]["index"] == 1 and result["errors"][0]["field"] == field
    assert reason in result["errors"][0]["reason"]
    assert list(
        Customer.objects.unscoped().filter(organization=organization).values_list("external_id", "name")
    ) == [("C1", "李伟")]


def test_integrator_response_refuses_nan_in_hidden_fields(api_client, organization):
    from surveys import services

    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_set_status(survey=survey, action="activate")
    score = survey.questions.order_by("position").first().id
    raw = (
        json.dumps({"survey": survey.public_id, "answers": {str(score): 9}})[:-1]
        + ', "hidden_fields": {"x": NaN}}'
    )
    r = api_client.post("/api/v1/responses", data=raw, content_type="application/json")
    assert r.status_code == 400 and "NaN" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "path", ["/api/v1/customers/C%001/", "/api/v1/customers/?q=%00", "/api/v1/public/surveys/abc%00def"]
)
def test_a_nul_in_an_api_path_or_query_is_a_400(api_client, path):
    r = api_client.get(path)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_character"


def test_a_nul_in_a_page_path_or_form_is_a_400(client, organization):
    assert client.get("/s/abc%00def").status_code == 400
    form = "application/x-www-form-urlencoded"
    assert client.post("/s/abcdefgh", "q1=x%00", content_type=form).status_code == 400
    assert client.post("/s/abcdefgh", {"q1": "x\x00"}).status_code == 400  # multipart
    assert client.post("/s/abcdefgh", "q1=x", content_type=form).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_api_docs_render_in_a_browser_under_the_csp(browser, live_server):
    page = browser.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "cxm API" in page.locator(".swagger-ui .info .title").inner_text()
    page.screenshot(path="/tmp/security-shots/api-docs.png")
    assert not [e for e in errors if "Content Security Policy" in e]
    page.close()
