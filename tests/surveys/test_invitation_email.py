"""The invitation email: each score link opens the survey with that score, whatever was sent before;
the HTML declares the email's language."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from surveys import services

pytestmark = pytest.mark.django_db


def _send(survey, customer, language, capture):
    with capture(execute=True):
        result = services.invitations_create(survey=survey, customers=[customer], language=language)
    return result.invitations[0], mail.outbox[-1]


def _path(url):
    return "/" + url.split("://", 1)[1].split("/", 1)[1].replace("&amp;", "&")


def test_each_score_link_preselects_its_score_after_an_earlier_answer(
    client, nps_survey, questions, customer, django_capture_on_commit_callbacks
):
    invitation, message = _send(nps_survey, customer, "en", django_capture_on_commit_callbacks)
    html = message.alternatives[0][0]
    by_score = {
        int(re.search(r"score=(\d+)", u).group(1)): _path(u)
        for u in re.findall(r'href="([^"]+)"', html)
        if "score=" in u
    }
    assert sorted(by_score) == list(range(11))
    score = f"q{questions['score']}"
    # The customer clicks 6 and sends it with a comment.
    page = client.get(by_score[6]).content.decode()
    assert re.search(rf'id="{score}-6"[^>]*checked', page)
    client.post(
        f"/s/{nps_survey.public_id}",
        {"inv": invitation.token, "lang": "en", score: "6", f"q{questions['detractor']}": "Late parcel"},
    )
    # Later they click 9 in the same email: 9 is selected, not the 6 they sent before.
    page = client.get(by_score[9]).content.decode()
    assert re.search(rf'id="{score}-9"[^>]*checked', page)
    assert not re.search(rf'id="{score}-6"[^>]*checked', page)
    # ... and 2 after that.
    page = client.get(by_score[2]).content.decode()
    assert re.search(rf'id="{score}-2"[^>]*checked', page) and not re.search(
        rf'id="{score}-9"[^>]*checked', page
    )
    # The email's plain "answer the survey" link (no score) shows what was sent.
    page = client.get(f"/s/{nps_survey.public_id}?inv={invitation.token}").content.decode()
    assert re.search(rf'id="{score}-6"[^>]*checked', page) and "Late parcel" in page
    assert 'autocomplete="off"' in page  # the browser does not restore a previous click either


@pytest.mark.parametrize(("language", "tag"), [("zh-hans", 'lang="zh-Hans"'), ("en", 'lang="en"')])
def test_invitation_html_declares_its_language(
    nps_survey, customer, django_capture_on_commit_callbacks, language, tag
):
    _invitation, message = _send(nps_survey, customer, language, django_capture_on_commit_callbacks)
    html = message.alternatives[0][0]
    assert re.search(r"<html [^>]*>", html).group(0) == f"<html {tag}>"
