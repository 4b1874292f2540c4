"""Pages: the link survey, its thank-you page and unsubscribe, for customers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from cxm.tenancy.scoping import unscoped_queryset
from journeys.services import customer_resolve

from .. import selectors, services
from ..collection import rules, write
from ..content import localised, pick_language
from ..models import CHANNELS, Invitation, QuestionKind, ResponseChannel, Survey, SurveyStatus
from ._common import _link_context


def _form_answers(survey: Survey, post: Any) -> dict[int, Any]:
    answers: dict[int, Any] = {}
    for q in survey.questions.all():
        name = f"q{q.id}"
        if q.kind == QuestionKind.MULTIPLE_CHOICE:
            values = post.getlist(name)
            if values:
                answers[q.id] = values
            continue
        raw = post.get(name, "")
        if raw == "":
            continue
        if q.score_range() is not None:
            answers[q.id] = int(raw) if raw.lstrip("-").isdigit() else raw
        else:
            answers[q.id] = raw
    return answers


def survey_link(request: HttpRequest, public_id: str) -> HttpResponse:
    """The link survey: works without JavaScript; nothing is recorded until the customer submits."""
    survey = selectors.public_survey(public_id=public_id)  # not of the public-id form: no lookup
    if survey is None:
        raise Http404
    source = request.POST if request.method == "POST" else request.GET
    language = pick_language(
        [source.get("lang", ""), translation.get_language() or ""],
        list(survey.languages),
        survey.default_language,
    )
    with translation.override(language):
        if survey.status != SurveyStatus.ACTIVE:
            return render(
                request,
                "surveys/link_closed.html",
                {"survey": survey, "body_class": "survey-page"},
                status=410,
            )
        invitation = None
        token = source.get("inv", "")
        if token:
            invitation = (
                unscoped_queryset(Invitation)
                .select_related("customer")
                .filter(token=token[:64], survey=survey)
                .first()
            )
        params = source.copy()
        if invitation is not None:
            params.pop("idempotency_key", None)  # the service keys the answer by the invitation itself
        if request.method != "POST":
            values = {}
            if invitation is not None and invitation.response is not None:
                values = {
                    a.question_id: (a.number if a.number is not None else (a.choices or a.text))
                    for a in invitation.response.answers.all()
                }
                if params.get("score", ""):
                    # The score the customer just clicked in the email wins over the one they sent
                    # before (each link of the email's row names its score).
                    primary = next((q for q in survey.questions.all() if q.score_range()), None)
                    if primary is not None:
                        values.pop(primary.id, None)
            return render(
                request, "surveys/link.html", _link_context(survey, language, params, values=values)
            )
        answers = _form_answers(survey, request.POST)
        hidden = {k: request.POST.get(k, "")[:200] for k in ("order",) if request.POST.get(k)}
        touchpoint_key = request.POST.get("touchpoint") or None
        if (
            touchpoint_key
            and selectors.touchpoint_id_for_key(organization_id=survey.organization_id, key=touchpoint_key)
            is None
        ):
            # A stale QR code or link must not cost the customer their answer: keep the key as a field.
            hidden["touchpoint"] = touchpoint_key[:200]
            touchpoint_key = None
        channel = request.POST.get("channel") or (
            ResponseChannel.EMAIL if invitation else ResponseChannel.LINK
        )
        if channel not in CHANNELS:
            channel = ResponseChannel.LINK
        try:
            snapshot = selectors.survey_snapshot(public_id=survey.public_id)
            assert snapshot is not None
            customer = invitation.customer if invitation else None
            if invitation is None and request.POST.get("customer"):
                # `?customer=` counts only with its `&signature=` (see cxm.tenancy.identity).
                reference = rules.customer_reference_signed(
                    snapshot=snapshot,
                    reference={
                        "id": request.POST.get("customer"),
                        "signature": request.POST.get("signature", ""),
                    },
                )
                customer = customer_resolve(organization_id=survey.organization_id, reference=reference)
            write.response_submit(
                snapshot=snapshot,
                answers=answers,
                customer=customer,
                locale=language,
                page_url=request.build_absolute_uri()[:2000],
                touchpoint_key=touchpoint_key,
                channel=channel,
                idempotency_key=params.get("idempotency_key", ""),
                hidden_fields=hidden,
                invitation=invitation,
            )
        except rules.SurveyNotAccepting:
            return render(
                request,
                "surveys/link_closed.html",
                {"survey": survey, "body_class": "survey-page"},
                status=410,
            )
        except ValidationError as exc:
            errors: dict[str, str] = {}
            for field, messages_ in exc.message_dict.items():
                errors[field.removeprefix("answers.")] = " ".join(messages_)
            context = _link_context(survey, language, params, values=answers, errors=errors)
            context["form_error"] = _("Please check your answers.")
            context["errors"] = errors
            return render(request, "surveys/link.html", context, status=400)
        thanks = reverse("survey-thanks", args=[survey.public_id]) + f"?lang={language}"
        if invitation is not None:
            thanks += f"&inv={invitation.token}"
        return redirect(thanks)


def survey_thanks(request: HttpRequest, public_id: str) -> HttpResponse:
    if not selectors.public_id_valid(public_id):
        raise Http404
    survey = unscoped_queryset(Survey).filter(public_id=public_id).first()
    if survey is None:
        raise Http404
    language = pick_language(
        [request.GET.get("lang", ""), translation.get_language() or ""],
        list(survey.languages),
        survey.default_language,
    )
    token = request.GET.get("inv", "")[:64]
    invitation = (
        unscoped_queryset(Invitation).filter(token=token, survey=survey).only("personalisation").first()
        if token
        else None
    )
    personalisation = invitation.personalisation if invitation is not None else {}
    link_url = str(personalisation.get("thank_you_link_url") or "")
    with translation.override(language):
        return render(
            request,
            "surveys/link_thanks.html",
            {
                "survey": survey,
                "message": str(personalisation.get("thank_you_message") or "")
                or localised(survey.thank_you, language, survey.default_language),
                "link_url": link_url if link_url.startswith(("https://", "http://")) else "",
                "link_text": str(personalisation.get("thank_you_link_text") or "") or link_url,
                "inv": request.GET.get("inv", "")[:64],
                "language": language,
                "body_class": "survey-page",
            },
        )


@csrf_exempt  # the signed token is the credential; mail clients POST it without a session (RFC 8058)
def survey_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (mail scanners only GET); POST unsubscribes (also RFC 8058 one-click)."""
    done = False
    if request.method == "POST":
        customer = services.customer_unsubscribe(token=token)
        if customer is None:
            raise Http404
        done = True
    else:
        from django.core import signing

        try:
            signing.loads(token, salt=services.UNSUBSCRIBE_SALT)
        except signing.BadSignature as exc:
            raise Http404 from exc
    return render(request, "surveys/unsubscribe.html", {"done": done, "body_class": "survey-page"})
