"""The link survey page, email invitations (mail scanners!), unsubscribe and QR codes."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from cxm.tenancy.identity import customer_signature
from journeys.models import Customer
from surveys import services
from surveys.collection import write
from surveys.models import Response
from tests.journeys.factories import CustomerFactory
from tests.surveys.factories import InvitationFactory

pytestmark = pytest.mark.django_db


def link(survey, query=""):
    return f"/s/{survey.public_id}" + (f"?{query}" if query else "")


def test_link_page_renders_in_language_from_query_or_browser(client, nps_survey):
    en = client.get(link(nps_survey), HTTP_ACCEPT_LANGUAGE="en")
    assert en.status_code == 200
    assert "How likely are you to recommend us" in en.content.decode()
    zh = client.get(link(nps_survey, "lang=zh-hans"))
    assert (
        "您有多大可能向朋友或同事推荐我们" in zh.content.decode() and 'lang="zh-hans"' in zh.content.decode()
    )
    browser_zh = client.get(link(nps_survey), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert "您有多大可能" in browser_zh.content.decode()
    assert "<script>" not in en.content.decode()  # CSP: no inline script


def test_get_never_records_and_prefills_the_score(client, nps_survey, questions):
    page = client.get(link(nps_survey, "score=9&customer=C1&touchpoint=web-checkout&order=O-9&channel=qr"))
    html = page.content.decode()
    assert re.search(rf'id="q{questions["score"]}-9"[^>]*checked', html)
    assert 'name="order" value="O-9"' in html and 'name="channel" value="qr"' in html
    assert Response.objects.unscoped().count() == 0


def test_submit_records_with_hidden_fields_and_redirects(
    client, nps_survey, questions, touchpoint, organization
):
    page = client.get(link(nps_survey, "lang=zh-hans"))
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.content.decode()).group(1)
    data = {
        f"q{questions['score']}": "4",
        f"q{questions['detractor']}": "<script>alert(1)</script>太慢了",
        "idempotency_key": key,
        "lang": "zh-hans",
        "customer": "C777",
        "signature": customer_signature(secret=organization.widget_secret, external_id="C777"),
        "touchpoint": "web-checkout",
        "order": "O-1",
        "channel": "qr",
    }
    r = client.post(link(nps_survey), data)
    assert r.status_code == 302 and "/thanks" in r["Location"]
    client.post(link(nps_survey), data)  # double submit: same key, stored once
    response = Response.objects.unscoped().get()
    assert (response.score, response.channel, response.locale) == (4, "qr", "zh-hans")
    assert response.touchpoint == touchpoint and response.hidden_fields == {"order": "O-1"}
    assert response.customer.external_id == "C777"
    # Without its signature a `?customer=` on a link attaches nothing.
    unsigned = {**data, "idempotency_key": "other", "customer": "C00001"}
    unsigned.pop("signature")
    assert client.post(link(nps_survey), unsigned).status_code == 302
    assert Response.objects.unscoped().get(idempotency_key="other").customer is None
    assert not Customer.objects.unscoped().filter(external_id="C00001").exists()
    thanks = client.get(r["Location"])
    assert "感谢您的反馈" in thanks.content.decode()


def test_submit_errors_rerender_with_messages(client, nps_survey, questions):
    r = client.post(link(nps_survey), {f"q{questions['score']}": "", "idempotency_key": "k"})
    assert r.status_code == 400 and "This question is required." in r.content.decode()
    r = client.post(link(nps_survey), {f"q{questions['score']}": "12", "idempotency_key": "k"})
    assert r.status_code == 400 and "between 0 and 10" in r.content.decode()
    assert Response.objects.unscoped().count() == 0


def test_closed_and_unknown_link(client, nps_survey):
    services.survey_set_status(survey=nps_survey, action="close")
    assert client.get(link(nps_survey)).status_code == 410
    assert client.get("/s/unknown-id").status_code == 404


def test_invitation_email_scanner_safe_and_customer_can_change_score(
    client, nps_survey, questions, customer, organization, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = services.invitations_create(survey=nps_survey, customers=[customer], language="zh-hans")
    invitation = result.invitations[0]
    invitation.refresh_from_db()
    assert invitation.status == "sent" and invitation.sent_at
    message = mail.outbox[-1]
    assert message.to == ["li@example.com"] and message.subject == "来自 Acme 的一个小问题"
    html = message.alternatives[0][0]
    links = re.findall(r'href="([^"]+)"', html)
    score_links = [u for u in links if "score=" in u]
    assert len(score_links) == 11 and all(f"inv={invitation.token}" in u for u in score_links)
    assert "您有多大可能" in html and "unsubscribe" in message.body.lower() or "退订" in message.body
    assert "List-Unsubscribe" in message.extra_headers
    # A mail scanner opens all eleven links: nothing is recorded.
    for u in score_links:
        path = u.split("://", 1)[1].split("/", 1)[1]
        assert client.get("/" + path).status_code == 200
    assert Response.objects.unscoped().count() == 0
    # The customer confirms 9, then changes their mind to 6 with a comment.
    base = {"inv": invitation.token, "lang": "zh-hans", "idempotency_key": "ignored"}
    client.post(link(nps_survey), {**base, f"q{questions['score']}": "9"})
    client.post(
        link(nps_survey), {**base, f"q{questions['score']}": "6", f"q{questions['detractor']}": "包装破损"}
    )
    response = Response.objects.unscoped().get()
    assert (response.score, response.comment, response.customer, response.channel) == (
        6,
        "包装破损",
        customer,
        "email",
    )
    invitation.refresh_from_db()
    assert invitation.status == "answered" and invitation.response == response and invitation.answered_at
    # Reopening the link shows the recorded answer.
    page = client.get(link(nps_survey, f"inv={invitation.token}"))
    assert re.search(rf'id="q{questions["score"]}-6"[^>]*checked', page.content.decode())


def test_invitations_skip_fatigued_unsubscribed_and_emailless(
    nps_survey, customer, organization, django_capture_on_commit_callbacks
):
    fresh = CustomerFactory(organization=organization)
    gone = CustomerFactory(organization=organization, unsubscribed=True)
    mute = CustomerFactory(organization=organization, email="")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitations_create(survey=nps_survey, customers=[customer], language="en")
        result = services.invitations_create(
            survey=nps_survey, customers=[customer, fresh, gone, mute], language="en"
        )
    assert [i.customer_id for i in result.invitations] == [fresh.id]
    assert {c.id for c in result.skipped} == {customer.id, gone.id, mute.id}
    assert len(mail.outbox) == 2


def test_send_task_is_idempotent_and_routed(nps_survey, customer):
    from django.conf import settings

    from surveys.tasks import send_invitation_emails

    invitation = InvitationFactory(survey=nps_survey, customer=customer)
    assert send_invitation_emails([invitation.id]) == {"sent": 1}
    assert send_invitation_emails([invitation.id]) == {"ignored": 1}
    assert len(mail.outbox) == 1
    routes = settings.CELERY_TASK_ROUTES
    assert send_invitation_emails.name == "surveys.tasks.send_invitation_emails"
    assert routes["surveys.tasks.send_*"]["queue"] == "notifications"


def test_unsubscribe_get_asks_post_unsubscribes_and_blocks_everything(client, nps_survey, customer):
    token = services.unsubscribe_token(customer=customer)
    assert client.get(f"/s/unsubscribe/{token}").status_code == 200
    customer.refresh_from_db()
    assert not customer.unsubscribed  # a scanner's GET changes nothing
    assert client.post(f"/s/unsubscribe/{token}").status_code == 200
    customer.refresh_from_db()
    assert customer.unsubscribed and customer.unsubscribed_at
    assert client.get("/s/unsubscribe/forged-token").status_code == 404
    assert services.invitations_create(survey=nps_survey, customers=[customer]).invitations == []
    signature = customer_signature(secret=nps_survey.organization.widget_secret, external_id="C00001")
    config = client.get(
        f"/api/v1/public/surveys/{nps_survey.public_id}?customer=C00001&signature={signature}"
    )
    assert (config.json()["show"], config.json()["reason"]) == (False, "unsubscribed")


def test_public_config_reports_fatigue(client, nps_survey, questions, customer):
    url = f"/api/v1/public/surveys/{nps_survey.public_id}"
    signed = "?customer=C00001&signature=" + customer_signature(
        secret=nps_survey.organization.widget_secret, external_id="C00001"
    )
    first = client.get(url + signed + "&lang=zh-hans").json()
    assert first["show"] is True and first["language"] == "zh-hans" and first["fatigue_days"] == 30
    assert first["questions"][0]["text"] == "您有多大可能向朋友或同事推荐我们？"
    assert (first["questions"][0]["min"], first["questions"][0]["max"]) == (0, 10)
    write.response_submit_for_survey(
        survey=nps_survey, answers={str(questions["score"]): 8}, customer=customer
    )
    again = client.get(url + signed).json()
    assert (again["show"], again["reason"]) == (False, "fatigue")
    nps_survey.fatigue_days = 0
    services.survey_update(survey=nps_survey, fatigue_days=0)
    assert client.get(url + signed).json()["show"] is True
    assert client.get(url, HTTP_ORIGIN="https://evil.example.net").status_code == 403
    assert client.get("/api/v1/public/surveys/nope").status_code == 404


def test_qr_codes_bake_touchpoint_and_channel(owner_client, nps_survey, touchpoint):
    svg = owner_client.get(f"/surveys/{nps_survey.pk}/qr.svg?touchpoint=web-checkout&channel=qr")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    png = owner_client.get(f"/surveys/{nps_survey.pk}/qr.png?channel=qr&download=1")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n" and "attachment" in png["Content-Disposition"]
    share = owner_client.get(f"/surveys/{nps_survey.pk}/share/?touchpoint=web-checkout&channel=qr")
    assert f"/s/{nps_survey.public_id}?touchpoint=web-checkout&amp;channel=qr" in share.content.decode()
    assert owner_client.get(f"/surveys/{nps_survey.pk}/qr.gif").status_code == 404
    assert owner_client.get(f"/surveys/{nps_survey.pk}/qr.svg?touchpoint=nope").status_code == 404


def test_unknown_touchpoint_in_a_link_keeps_the_answer(client, nps_survey, questions):
    r = client.post(
        link(nps_survey), {f"q{questions['score']}": "7", "idempotency_key": "k", "touchpoint": "old-qr"}
    )
    assert r.status_code == 302
    response = Response.objects.unscoped().get()
    assert response.touchpoint is None and response.hidden_fields == {"touchpoint": "old-qr"}
