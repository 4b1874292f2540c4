"""The invitation email: localised, HTML and text, a 0–10 row of links and an unsubscribe link."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .content import localised, scale_labels
from .models import Invitation


def survey_url(*, public_id: str, **params: object) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{settings.SITE_URL}{reverse('survey-link', args=[public_id])}" + (f"?{query}" if query else "")


def html_lang(language: str) -> str:
    """The BCP 47 tag of a language code for `<html lang>`: "zh-hans" -> "zh-Hans", "en" -> "en"."""
    first, *rest = (language or "en").split("-")
    return "-".join([first.lower(), *(p.title() if len(p) == 4 else p.upper() for p in rest)])


def invitation_message(*, invitation: Invitation) -> EmailMultiAlternatives:
    from .services import unsubscribe_token

    survey = invitation.survey
    language = invitation.language
    primary = survey.questions.exclude(kind__in=["text", "single_choice", "multiple_choice"]).first()
    low, high = (primary.score_range() if primary else None) or (0, 10)
    links = [
        {
            "score": s,
            "url": survey_url(public_id=survey.public_id, inv=invitation.token, score=s, lang=language),
        }
        for s in range(low, high + 1)
    ]
    unsubscribe = settings.SITE_URL + reverse(
        "survey-unsubscribe", args=[unsubscribe_token(customer=invitation.customer)]
    )
    personalisation = invitation.personalisation or {}
    question = localised(primary.text, language, survey.default_language) if primary else ""
    product = str(personalisation.get("question_product_name") or "").strip()
    if product:  # the integrator names the product the question is about
        question = question.replace(invitation.organization.name, product)
    context = {
        "organization": invitation.organization,
        "customer": invitation.customer,
        "question": question,
        "intro_message": str(personalisation.get("intro_message") or "").strip(),
        "links": links,
        "labels": scale_labels(primary.kind if primary else "nps", language),
        "open_url": survey_url(public_id=survey.public_id, inv=invitation.token, lang=language),
        "unsubscribe_url": unsubscribe,
        "html_lang": html_lang(language),
    }
    with translation.override(language):
        subject = render_to_string("surveys/email/invitation_subject.txt", context).strip()
        text = render_to_string("surveys/email/invitation.txt", context)
        html = render_to_string("surveys/email/invitation.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.customer.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    return message
