"""Pages: journeys and their map, touchpoints, paths and drop-off, customers, CSV imports.

Pages are interfaces: they compose selectors of journeys and of higher layers (scores from metrics,
responses from surveys) and call journeys services for writes.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxm.tenancy.scoping import check_permission, organization_required, scoped, scoped_get_or_404
from cxm.tenancy.tenant import organization_of, request_tenant, tenant_allows
from metrics import selectors as metrics_selectors
from surveys import selectors as surveys_selectors
from surveys.scoring import nps_category

from . import selectors, services
from .forms import (
    CustomerFilterForm,
    DateRangeForm,
    ExchangeRateForm,
    ImportForm,
    JourneyForm,
    MapFilterForm,
    StageForm,
    TouchpointForm,
)
from .imports import import_job_create, registered_kinds_help
from .models import Channel, Customer, ImportJob, Journey, Stage, Touchpoint

# --- Scores on cards ----------------------------------------------------------------------------

MIN_N_FOR_COLOUR = 5
MIN_N_FOR_TREND = 30


def _tone(kind: str, value: float | None, n: int) -> str:
    """good / fair / poor colour of a card from its score (neutral below MIN_N_FOR_COLOUR answers)."""
    if value is None or n < MIN_N_FOR_COLOUR:
        return "neutral"
    good, fair = {"nps": (30, 0), "csat": (80, 60), "ces": (5.5, 4.5)}[kind]
    return "good" if value >= good else "fair" if value >= fair else "poor"


def _metric_rows(current: dict[str, Any] | None, previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not current:
        return rows
    previous = previous or {}
    specs = [
        ("nps", "NPS", current["nps"]["nps"], current["nps"]["n"], previous.get("nps") or {}, "nps"),
        (
            "csat",
            "CSAT",
            current["csat"]["top2_pct"],
            current["csat"]["n"],
            previous.get("csat") or {},
            "top2_pct",
        ),
        ("ces", "CES", current["ces"]["mean"], current["ces"]["n"], previous.get("ces") or {}, "mean"),
    ]
    for kind, label, value, n, before_scores, key in specs:
        if not n:
            continue
        before = before_scores.get(key) if before_scores.get("n") else None
        value = float(value) if value is not None else None
        delta = value - float(before) if value is not None and before is not None else None
        row: dict[str, Any] = {"kind": kind, "label": label, "value": value, "n": n, "delta": delta}
        # METRICS.md: with fewer than MIN_N_FOR_TREND answers on either side a change is not detectable.
        row["trend_reliable"] = n >= MIN_N_FOR_TREND and (before_scores.get("n") or 0) >= MIN_N_FOR_TREND
        row["tone"] = _tone(kind, value, n)
        if kind == "nps":
            ci_low, ci_high = current["nps"]["ci_low"], current["nps"]["ci_high"]
            row["margin"] = (ci_high - ci_low) / 2 if ci_low is not None and ci_high is not None else None
        row["display"] = f"{value:.1f}" if kind == "ces" else f"{value:.0f}" + ("%" if kind == "csat" else "")
        if delta is not None:
            row["delta_display"] = f"{delta:+.1f}" if kind == "ces" else f"{delta:+.0f}"
        rows.append(row)
    return rows


def _can(request: HttpRequest, permission: str) -> bool:
    return tenant_allows(request_tenant(request), permission)


# --- Journeys ----------------------------------------------------------------------------------


@organization_required("view")
def journey_index(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    form = JourneyForm(request.POST or None)
    if request.method == "POST":
        check_permission(request, "edit")
        if form.is_valid():
            journey = services.journey_create(organization=organization, **form.cleaned_data)
            messages.success(request, _("Journey created."))
            return redirect("journey-map", pk=journey.pk)
    return render(
        request,
        "journeys/journey_index.html",
        {
            "nav": "journeys",
            "journeys": list(selectors.journey_list(organization=organization)),
            "unassigned": list(selectors.unassigned_touchpoints(organization=organization)),
            "form": form,
        },
    )


@organization_required("view")
def journey_map(request: HttpRequest, pk: int) -> HttpResponse:
    journey = scoped_get_or_404(request, Journey, pk=pk)
    filters = MapFilterForm(request.GET or None, initial={"days": "90"})
    channel, days = "", 90
    if filters.is_valid():
        channel = filters.cleaned_data["channel"] or ""
        days = int(filters.cleaned_data["days"] or 90)
    now = timezone.now()
    start, previous_start = now - timedelta(days=days), now - timedelta(days=2 * days)
    # Metrics owns the score math: both windows in one grouped query.
    previous, current = metrics_selectors.touchpoint_scores_by_period(
        organization=journey.organization, periods=[(previous_start, start), (start, now)]
    )
    the_map = selectors.journey_map(journey=journey, channel=channel or None)
    columns = []
    for stage in the_map.stages:
        cards = []
        for touchpoint in the_map.touchpoints_by_stage.get(stage.pk, []):
            metrics = _metric_rows(current.get(touchpoint.pk), previous.get(touchpoint.pk))
            cards.append(
                {
                    "touchpoint": touchpoint,
                    "metrics": metrics,
                    "tone": metrics[0]["tone"] if metrics else "neutral",
                    "n": (current.get(touchpoint.pk) or {}).get("n", 0),
                }
            )
        columns.append({"stage": stage, "cards": cards})
    return render(
        request,
        "journeys/journey_map.html",
        {
            "nav": "journeys",
            "journey": journey,
            "columns": columns,
            "filters": filters,
            "days": days,
            "channel": channel,
            "stage_form": StageForm(),
            "can_edit": _can(request, "edit"),
        },
    )


@organization_required("edit")
def journey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    journey = scoped_get_or_404(request, Journey, pk=pk)
    form = JourneyForm(
        request.POST or None, initial={"name": journey.name, "description": journey.description}
    )
    if request.method == "POST" and form.is_valid():
        services.journey_update(journey=journey, **form.cleaned_data)
        return redirect("journey-map", pk=journey.pk)
    return render(
        request,
        "journeys/form.html",
        {
            "nav": "journeys",
            "form": form,
            "title": _("Edit journey"),
            "back": reverse("journey-map", args=[journey.pk]),
        },
    )


@require_POST
@organization_required("edit")
def journey_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.journey_delete(journey=scoped_get_or_404(request, Journey, pk=pk))
    messages.success(request, _("Journey deleted."))
    return redirect("journey-index")


@require_POST
@organization_required("edit")
def stage_add(request: HttpRequest, pk: int) -> HttpResponse:
    journey = scoped_get_or_404(request, Journey, pk=pk)
    form = StageForm(request.POST)
    if form.is_valid():
        services.stage_create(journey=journey, name=form.cleaned_data["name"])
    else:
        messages.error(request, _("A stage needs a name."))
    return redirect("journey-map", pk=journey.pk)


@organization_required("edit")
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stage = scoped_get_or_404(request, Stage, pk=pk)
    form = StageForm(request.POST or None, initial={"name": stage.name})
    if request.method == "POST" and form.is_valid():
        services.stage_update(stage=stage, name=form.cleaned_data["name"])
        return redirect("journey-map", pk=stage.journey_id)
    return render(
        request,
        "journeys/form.html",
        {
            "nav": "journeys",
            "form": form,
            "title": _("Edit stage"),
            "back": reverse("journey-map", args=[stage.journey_id]),
            "delete_url": reverse("stage-delete", args=[stage.pk]),
            "delete_confirm": _("Delete this stage? Its touchpoints are kept without a stage."),
        },
    )


@require_POST
@organization_required("edit")
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    stage = scoped_get_or_404(request, Stage, pk=pk)
    services.stage_move(stage=stage, offset=-1 if request.POST.get("direction") == "left" else 1)
    return redirect("journey-map", pk=stage.journey_id)


@require_POST
@organization_required("edit")
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    stage = scoped_get_or_404(request, Stage, pk=pk)
    journey_id = stage.journey_id
    services.stage_delete(stage=stage)
    messages.success(request, _("Stage deleted."))
    return redirect("journey-map", pk=journey_id)


# --- Touchpoints -------------------------------------------------------------------------------


def _touchpoint_form_page(request: HttpRequest, touchpoint: Touchpoint | None) -> HttpResponse:
    organization = organization_of(request)
    initial: dict[str, Any] = {}
    if touchpoint is not None:
        initial = {
            "name": touchpoint.name,
            "key": touchpoint.key,
            "channel": touchpoint.channel,
            "stage": touchpoint.stage_id,
            "owner": touchpoint.owner,
            "description": touchpoint.description,
        }
    elif request.GET.get("stage"):
        initial = {"stage": request.GET["stage"], "channel": Channel.WEBSITE}
    form = TouchpointForm(request.POST or None, initial=initial, organization=organization)
    if request.method == "POST" and form.is_valid():
        try:
            if touchpoint is None:
                touchpoint = services.touchpoint_create(organization=organization, **form.cleaned_data)
            else:
                touchpoint = services.touchpoint_update(touchpoint=touchpoint, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            if touchpoint.stage_id:
                return redirect("journey-map", pk=touchpoint.stage.journey_id)  # type: ignore[union-attr]
            return redirect("touchpoint-detail", pk=touchpoint.pk)
    back = reverse("journey-index")
    stage = form.initial.get("stage") or (touchpoint.stage_id if touchpoint else None)
    if stage:
        journey_id = scoped(request, Stage).filter(pk=stage).values_list("journey_id", flat=True).first()
        if journey_id:
            back = reverse("journey-map", args=[journey_id])
    context = {
        "nav": "journeys",
        "form": form,
        "title": _("New touchpoint") if touchpoint is None else _("Edit touchpoint"),
        "back": back,
    }
    if touchpoint is not None:
        context["delete_url"] = reverse("touchpoint-delete", args=[touchpoint.pk])
        context["delete_confirm"] = _("Delete this touchpoint? Its surveys stay, without a touchpoint.")
    return render(request, "journeys/form.html", context)


@organization_required("edit")
def touchpoint_create(request: HttpRequest) -> HttpResponse:
    return _touchpoint_form_page(request, None)


@organization_required("edit")
def touchpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _touchpoint_form_page(request, scoped_get_or_404(request, Touchpoint, pk=pk))


@require_POST
@organization_required("edit")
def touchpoint_move(request: HttpRequest, pk: int) -> HttpResponse:
    touchpoint = scoped_get_or_404(request, Touchpoint.objects.select_related("stage"), pk=pk)
    services.touchpoint_move(touchpoint=touchpoint, offset=-1 if request.POST.get("direction") == "up" else 1)
    if touchpoint.stage is None:
        return redirect("touchpoint-detail", pk=touchpoint.pk)
    return redirect("journey-map", pk=touchpoint.stage.journey_id)


@require_POST
@organization_required("edit")
def touchpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    touchpoint = scoped_get_or_404(request, Touchpoint.objects.select_related("stage"), pk=pk)
    journey_id = touchpoint.stage.journey_id if touchpoint.stage else None
    services.touchpoint_delete(touchpoint=touchpoint)
    messages.success(request, _("Touchpoint deleted."))
    return redirect("journey-map", pk=journey_id) if journey_id else redirect("journey-index")


def _month_starts(organization: Any, count: int) -> list[datetime]:
    tz = organization.tzinfo
    today = timezone.now().astimezone(tz).date()
    year, month = today.year, today.month
    starts = []
    for _i in range(count + 1):
        starts.append(datetime.combine(date(year, month, 1), time.min, tzinfo=tz))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(starts))


@organization_required("view")
def touchpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    touchpoint = scoped_get_or_404(
        request, Touchpoint.objects.select_related("stage__journey", "organization"), pk=pk
    )
    organization = touchpoint.organization
    starts = _month_starts(organization, 11)  # this month and the 11 before it
    months = [
        (start, starts[index + 1] if index + 1 < len(starts) else None) for index, start in enumerate(starts)
    ]
    # One query for the chart (every month) and one for the cards (the two windows), this touchpoint only.
    by_month = metrics_selectors.touchpoint_scores_by_period(
        organization=organization, periods=months, touchpoint_id=touchpoint.pk
    )
    series: dict[str, list[Any]] = {"month": [], "nps": [], "csat": [], "ces": [], "n": []}
    for (start, _end), month_scores in zip(months, by_month, strict=True):
        scores = month_scores.get(touchpoint.pk)
        series["month"].append(start.strftime("%Y-%m"))
        series["nps"].append(scores["nps"]["nps"] if scores and scores["nps"]["n"] else None)
        series["csat"].append(scores["csat"]["top2_pct"] if scores and scores["csat"]["n"] else None)
        series["ces"].append(float(scores["ces"]["mean"]) if scores and scores["ces"]["n"] else None)
        series["n"].append(scores["n"] if scores else 0)
    now = timezone.now()
    previous_scores, current_scores = metrics_selectors.touchpoint_scores_by_period(
        organization=organization,
        periods=[(now - timedelta(days=180), now - timedelta(days=90)), (now - timedelta(days=90), now)],
        touchpoint_id=touchpoint.pk,
    )
    current, previous = current_scores.get(touchpoint.pk), previous_scores.get(touchpoint.pk)
    comments = surveys_selectors.touchpoint_comments(organization=organization, touchpoint=touchpoint)
    surveys = surveys_selectors.touchpoint_surveys(organization=organization, touchpoint=touchpoint)
    labels = {
        "nps": _("NPS"),
        "csat": _("CSAT (percent satisfied)"),
        "ces": _("CES (mean, 1–7)"),
        "title": _("Scores by month"),
        "no_data": _("No data for this period."),
    }
    return render(
        request,
        "journeys/touchpoint_detail.html",
        {
            "nav": "journeys",
            "touchpoint": touchpoint,
            "metrics": _metric_rows(current, previous),
            "chart": {"series": series, "labels": labels},
            "comments": comments,
            "surveys": surveys,
            "can_edit": _can(request, "edit"),
        },
    )


# --- Paths and drop-off ------------------------------------------------------------------------


def _date_range(request: HttpRequest, organization: Any) -> tuple[DateRangeForm, datetime, datetime]:
    tz = organization.tzinfo
    today = timezone.now().astimezone(tz).date()
    form = DateRangeForm(request.GET or None)
    start_date, end_date = today - timedelta(days=89), today
    if form.is_valid():
        start_date = form.cleaned_data["start"] or start_date
        end_date = form.cleaned_data["end"] or end_date
    if end_date < start_date:
        start_date, end_date = end_date, start_date
    if not form.is_bound:
        form = DateRangeForm(initial={"start": start_date, "end": end_date})
    start = datetime.combine(start_date, time.min, tzinfo=tz)
    end = datetime.combine(end_date + timedelta(days=1), time.min, tzinfo=tz)
    return form, start, end


@organization_required("view")
def journey_paths(request: HttpRequest, pk: int) -> HttpResponse:
    journey = scoped_get_or_404(request, Journey, pk=pk)
    form, start, end = _date_range(request, journey.organization)
    funnel = selectors.journey_funnel(journey=journey, start=start, end=end)
    paths = selectors.journey_paths(journey=journey, start=start, end=end)
    names = paths["names"]
    nodes: dict[tuple[int, int], int] = {}
    node_labels: list[str] = []

    def node(step: int, touchpoint_id: int) -> int:
        key = (step, touchpoint_id)
        if key not in nodes:
            nodes[key] = len(node_labels)
            node_labels.append(f"{step}. {names.get(touchpoint_id, '?')}")
        return nodes[key]

    sankey: dict[str, list[int]] = {"source": [], "target": [], "value": []}
    # Thin flows (under 1 % of the customers starting a path) would only clutter the diagram.
    threshold = max(2, sum(entry["customers"] for entry in paths["entries"]) // 100)
    for flow in paths["flows"]:
        if flow["customers"] < threshold:
            continue
        sankey["source"].append(node(flow["step"], flow["source"]))
        sankey["target"].append(node(flow["step"] + 1, flow["target"]))
        sankey["value"].append(flow["customers"])
    chart = {
        "funnel": {
            "stages": [row["stage"] for row in funnel],
            "reached": [row["reached"] for row in funnel],
        },
        "sankey": {**sankey, "labels": node_labels},
        "labels": {
            "funnel": _("Customers reaching each stage"),
            "sankey": _("Touchpoint sequences (first steps)"),
            "no_data": _("No data for this period."),
        },
    }
    return render(
        request,
        "journeys/journey_paths.html",
        {
            "nav": "journeys",
            "journey": journey,
            "form": form,
            "funnel": funnel,
            "sequences": paths["sequences"],
            "chart": chart,
        },
    )


# --- Customers ---------------------------------------------------------------------------------


@organization_required("view")
def customer_index(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    form = CustomerFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {"q": data["q"], "city": data["city"], "gender": data["gender"]}
        if data["status"] == "subscribed":
            filters.update(unsubscribed=False, erased=False)
        elif data["status"] == "unsubscribed":
            filters["unsubscribed"] = True
        elif data["status"] == "erased":
            filters["erased"] = True
        if data["seen_after"]:
            filters["seen_after"] = datetime.combine(data["seen_after"], time.min, tzinfo=organization.tzinfo)
    customers = selectors.customer_list(organization=organization, filters=filters).order_by(
        "-last_seen_at", "-id"
    )
    page = Paginator(customers, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "journeys/customer_index.html",
        {
            "nav": "customers",
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "cities": selectors.customer_cities(organization=organization),
        },
    )


def _timeline(customer: Customer) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for response in surveys_selectors.customer_responses(customer=customer, limit=100):
        items.append({"kind": "response", "at": response.submitted_at, "object": response})
    for invitation in surveys_selectors.customer_invitations(customer=customer, limit=100):
        items.append({"kind": "invitation", "at": invitation.created_at, "object": invitation})
    for interaction in selectors.customer_interactions(customer=customer, limit=100):
        items.append({"kind": "interaction", "at": interaction.occurred_at, "object": interaction})
    for order in selectors.customer_transactions(customer=customer, limit=100):
        items.append({"kind": "order", "at": order.occurred_at, "object": order})
    items.sort(key=lambda item: item["at"], reverse=True)
    return items


@organization_required("view")
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = scoped_get_or_404(request, Customer, pk=pk)
    latest_nps = surveys_selectors.customer_latest_nps(customer=customer)
    segment = metrics_selectors.customer_segment(organization=customer.organization, customer=customer)
    return render(
        request,
        "journeys/customer_detail.html",
        {
            "nav": "customers",
            "customer": customer,
            "summary": selectors.customer_summary(customer=customer),
            "latest_nps": latest_nps,
            "latest_nps_category": nps_category(latest_nps.score) if latest_nps else None,
            "segment": segment,
            "timeline": _timeline(customer),
            "can_export": _can(request, "export"),
            "can_erase": _can(request, "erase_customer"),
        },
    )


@organization_required("export")
def customer_export(request: HttpRequest, pk: int) -> HttpResponse:
    customer = scoped_get_or_404(request, Customer, pk=pk)
    response = HttpResponse(
        json.dumps(
            surveys_selectors.customer_export_document(customer=customer),
            cls=DjangoJSONEncoder,
            ensure_ascii=False,
            indent=2,
        ),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@require_POST
@organization_required("erase_customer")
def customer_erase(request: HttpRequest, pk: int) -> HttpResponse:
    customer = scoped_get_or_404(request, Customer, pk=pk)
    services.customer_erase(customer=customer)
    messages.success(request, _("The customer's personal data was erased."))
    return redirect("customer-detail", pk=customer.pk)


# --- Exchange rates ----------------------------------------------------------------------------


@organization_required("manage_organization")
def exchange_rates(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    form = ExchangeRateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.exchange_rate_set(organization=organization, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("Exchange rate saved."))
            return redirect("exchange-rates")
    return render(
        request,
        "journeys/exchange_rates.html",
        {
            "section": "exchange_rates",
            "form": form,
            "rates": selectors.exchange_rate_list(organization=organization),
            "left_out": selectors.transactions_without_rate(organization=organization),
        },
    )


# --- Imports -----------------------------------------------------------------------------------


@organization_required("edit")
def import_index(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = import_job_create(
            organization=organization,
            kind=form.cleaned_data["kind"],
            chunks=upload.chunks(),
            original_name=upload.name or "",
            skip_bad_rows=form.cleaned_data["skip_bad_rows"],
            created_by=request.user,
        )
        return redirect("import-detail", pk=job.pk)
    return render(
        request,
        "journeys/import_index.html",
        {
            "nav": "customers",
            "form": form,
            "jobs": selectors.import_jobs(organization=organization),
            "registered_kinds": registered_kinds_help(),
        },
    )


def _job_status(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "finished": job.is_finished,
        "total": job.total,
        "processed": job.processed,
        "percent": job.percent,
        "created": job.created_count,
        "error_count": job.error_count,
        "errors": job.errors[:200],
        "message": job.message,
    }


@organization_required("edit")
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = scoped_get_or_404(request, ImportJob, pk=pk)
    return render(request, "journeys/import_detail.html", {"nav": "customers", "job": job})


@organization_required("edit")
def import_status(request: HttpRequest, pk: int) -> JsonResponse:
    job = scoped_get_or_404(request, ImportJob, pk=pk)
    return JsonResponse(_job_status(job))
