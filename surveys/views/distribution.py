"""Pages: sharing a survey (links, QR codes, invitations)."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from cxm.tenancy.scoping import check_permission, organization_required, scoped_get_or_404
from cxm.tenancy.tenant import organization_of
from journeys import selectors as journeys_selectors
from metrics import selectors as metrics_selectors

from .. import services
from ..emails import survey_url
from ..forms import CustomerPickerForm, InviteForm, QrForm
from ..models import Invitation, InvitationStatus, ResponseChannel, Survey


@organization_required("view")
def survey_share(request: HttpRequest, pk: int) -> HttpResponse:
    survey = scoped_get_or_404(request, Survey, pk=pk)
    organization = organization_of(request)
    # Who can be invited: subscribed customers with an email; the picker narrows them by a search
    # and a metrics segment, a page at a time.
    invitable = journeys_selectors.customer_list(
        organization=organization, filters={"unsubscribed": "false", "erased": "false"}
    ).exclude(email="")
    picker = CustomerPickerForm(
        request.GET or request.POST or None, segment_choices=metrics_selectors.segment_choices()
    )
    matching = invitable
    if picker.is_bound and picker.is_valid():
        if picker.cleaned_data["q"]:
            matching = matching.filter(journeys_selectors.customer_search(picker.cleaned_data["q"]))
        if picker.cleaned_data["segment"]:
            matching = matching.filter(
                id__in=metrics_selectors.segment_customer_ids(
                    organization=organization, segment=picker.cleaned_data["segment"]
                )
            )
    matching = matching.order_by("name", "external_id", "id")
    invite_form = InviteForm(
        request.POST or None,
        organization=organization,
        customer_queryset=invitable,
        matching_queryset=matching,
        initial={"language": survey.default_language},
    )
    if request.method == "POST":
        check_permission(request, "edit")
        if invite_form.is_valid():
            chosen = invite_form.chosen()
            try:
                result = services.invitations_create(
                    survey=survey, customers=chosen, language=invite_form.cleaned_data["language"]
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(
                    request,
                    _(
                        "%(sent)d invitations queued; %(skipped)d customers skipped (recently surveyed, unsubscribed or no email)."
                    )
                    % {"sent": len(result.invitations), "skipped": len(result.skipped)},
                )
                if result.dispatched is False:
                    messages.warning(
                        request,
                        _(
                            "The task queue cannot be reached right now; the invitations are sent as soon as it is back."
                        ),
                    )
                return redirect("survey-share", pk=survey.pk)
    # The QR form and the customer search share the page's query string: each reads only its own fields.
    qr_bound = bool({"touchpoint", "channel"} & set(request.GET))
    qr_form = QrForm(request.GET if qr_bound else None, organization=organization)
    qr_params = {}
    if qr_form.is_valid():
        tp = qr_form.cleaned_data.get("touchpoint")
        qr_params = {"touchpoint": tp.key if tp else "", "channel": qr_form.cleaned_data["channel"]}
    else:
        qr_params = {"channel": ResponseChannel.QR}
    query = "&".join(f"{k}={v}" for k, v in qr_params.items() if v)
    invitations = (
        Invitation.objects.for_organization(organization)
        .filter(survey=survey)
        .select_related("customer")
        .order_by("-created_at")[:50]
    )
    status_labels = dict(InvitationStatus.choices)
    counts = [
        (str(status_labels.get(status, status)), n)
        for status, n in Invitation.objects.for_organization(organization)
        .filter(survey=survey)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
        .order_by("status")
    ]
    customer_page = Paginator(matching, 50).get_page(request.GET.get("page"))
    picker_query = urlencode(
        {k: v for k, v in (picker.data.items() if picker.is_bound else []) if k in ("q", "segment") and v}
    )
    return render(
        request,
        "surveys/survey_share.html",
        {
            "nav": "surveys",
            "survey": survey,
            "link": survey_url(public_id=survey.public_id),
            "qr_link": survey_url(public_id=survey.public_id, **qr_params),
            "qr_query": query,
            "embed_src": settings.SITE_URL + "/static/cxm/embed.js",
            "invite_form": invite_form,
            "picker": picker,
            "picker_query": picker_query,
            "qr_form": qr_form,
            "invitations": invitations,
            "invitation_counts": counts,
            "customer_page": customer_page,
            "selected_ids": {str(v) for v in invite_form["customers"].value() or []},
        },
    )


@organization_required("view")
def survey_qr(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The QR code of the link survey, touchpoint and channel baked into the URL."""
    if fmt not in ("svg", "png"):
        raise Http404
    survey = scoped_get_or_404(request, Survey, pk=pk)
    form = QrForm(request.GET or None, organization=organization_of(request))
    params: dict[str, str] = {"channel": ResponseChannel.QR}
    if request.GET and form.is_valid():
        tp = form.cleaned_data.get("touchpoint")
        params = {"touchpoint": tp.key if tp else "", "channel": form.cleaned_data["channel"]}
    elif request.GET:
        raise Http404
    url = survey_url(public_id=survey.public_id, **params)
    qr = segno.make(url, error="m")
    import io

    buffer = io.BytesIO()
    if fmt == "svg":
        qr.save(buffer, kind="svg", scale=8, border=2, title=survey.name)
        content_type = "image/svg+xml"
    else:
        qr.save(buffer, kind="png", scale=10, border=2)
        content_type = "image/png"
    response = HttpResponse(buffer.getvalue(), content_type=content_type)
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="survey-{survey.public_id}.{fmt}"'
    return response
