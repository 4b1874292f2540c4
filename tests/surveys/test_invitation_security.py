"""Invitations: plain-text parts without HTML entities; an answer bound to the unguessable token."""

from __future__ import annotations

import pytest
from django.core import mail

from cxm.tenancy.models import Organization
from journeys.models import Customer
from surveys import services

pytestmark = pytest.mark.django_db


def test_invitation_subject_and_text_body_are_plain_text(
    nps_survey, organization, django_capture_on_commit_callbacks
):
    Organization.objects.filter(pk=organization.pk).update(name="O'Brien <b>&</b> Sons")
    customer = Customer.objects.create(
        organization=organization, external_id="Q1", email="q@example.com", name="Seán O'Brien <b>"
    )
    nps_survey.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.invitations_create(survey=nps_survey, customers=[customer], language="en")
    message = mail.outbox[-1]
    assert message.subject == "A quick question from O'Brien <b>&</b> Sons"
    assert "Hello Seán O'Brien <b>," in message.body
    assert "&#x27;" not in message.body and "&lt;" not in message.body and "&amp;" not in message.body
    html = message.alternatives[0][0]
    assert "O&#x27;Brien &lt;b&gt;" in html and "<b>," not in html  # the HTML part stays escaped
