"""Dashboard pages: served from snapshots; filters in the URL; tables export to CSV/XLSX."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError as BrokerUnreachable

from cxm.core.money import currency_symbol, money_label, organization_currency
from cxm.tenancy.scoping import check_permission, organization_required
from cxm.tenancy.tenant import organization_of

from . import selectors, services
from .computations.aggregates import responses_for
from .dashboards import DASHBOARDS
from .filters import FilterError, MetricFilters
from .routers import read_alias
from .tables import CATEGORY_LABELS, LIFECYCLE_LABELS, SEGMENT_LABELS, TIER_LABELS, tables_for
from .tasks import compute_snapshot, job_cache_key

TITLES = {
    "overview": gettext_lazy("Overview"),
    "journey": gettext_lazy("Journey"),
    "retention": gettext_lazy("Retention"),
    "value": gettext_lazy("Customer value"),
    "drivers": gettext_lazy("Drivers"),
}
URL_NAMES = {
    "overview": "dashboard-overview",
    "journey": "dashboard-journey",
    "retention": "dashboard-retention",
    "value": "dashboard-value",
    "drivers": "dashboard-drivers",
}


def on_demand_limit() -> int:
    """Responses under the filters up to which an uncovered view is computed within the request."""
    return int(getattr(settings, "METRICS_ON_DEMAND_MAX_RESPONSES", 200_000))


def _filters(request: HttpRequest) -> tuple[MetricFilters, dict[str, str]]:
    try:
        filters = MetricFilters.from_params(request.GET)
    except FilterError as error:
        return MetricFilters(), error.errors
    # The date inputs always show the window; applied unchanged, they name the default window, whose
    # snapshot is precomputed.
    default = MetricFilters().resolved(organization_of(request))
    if filters.start and (filters.start, filters.end) == (default.start, default.end):
        filters = replace(filters, start=None, end=None)
    return filters, {}


def _resolve_snapshot(
    request: HttpRequest, dashboard: str, filters: MetricFilters
) -> tuple[Any, dict[str, Any] | None]:
    """The snapshot for these filters, computing it now when it is missing and cheap enough, or
    queueing it (the page then shows progress)."""
    organization = organization_of(request)
    snapshot = selectors.dashboard_snapshot(
        organization=organization, dashboard=dashboard, filters_key=filters.key
    )
    if snapshot is not None:
        return snapshot, None
    if filters.key == "default":
        services.recompute_request(organization_id=organization.pk, force=True)
        snapshot = selectors.dashboard_snapshot(
            organization=organization, dashboard=dashboard, filters_key="default"
        )
        return snapshot, None if snapshot else {"state": "queued", "progress": 0.0}
    key = job_cache_key(organization.pk, dashboard, filters.key)
    job = cache.get(key)
    if job is None:
        size = responses_for(organization=organization, filters=filters, using=read_alias()).count()
        if size <= on_demand_limit():
            return services.snapshot_compute(
                organization=organization, dashboard=dashboard, filters=filters
            ), None
        cache.set(key, {"state": "queued", "progress": 0.0}, 3600)
        try:
            compute_snapshot.delay(organization.pk, dashboard, filters.as_dict())
        except BrokerUnreachable:  # not queued: the next visit tries again
            cache.delete(key)
            return None, {"state": "queued", "progress": 0.0}
        snapshot = selectors.dashboard_snapshot(
            organization=organization, dashboard=dashboard, filters_key=filters.key
        )
        if snapshot is not None:
            return snapshot, None
        job = cache.get(key)
    return None, job


def _filter_options(organization: Any) -> dict[str, Any]:
    from journeys.models import Channel, Stage, Touchpoint
    from surveys.models import Survey

    return {
        "surveys": list(Survey.objects.for_organization(organization).order_by("name").values("id", "name")),
        "touchpoints": list(
            Touchpoint.objects.for_organization(organization).order_by("name").values("id", "name")
        ),
        "stages": list(
            Stage.objects.for_organization(organization).order_by("position", "id").values("id", "name")
        ),
        "channels": Channel.choices,
        "segments": selectors.segment_choices(),
    }


def _chart_labels(currency: str) -> dict[str, Any]:
    """Translated strings the chart script uses (it has no gettext of its own); money axes and hovers
    name the organization's currency."""
    return {
        "currency": currency,
        "currency_symbol": currency_symbol(currency),
        "nps": _("NPS"),
        "interval": _("Interval (95%)"),
        "csat": _("CSAT %"),
        "ces": _("CES mean"),
        "responses": _("Responses"),
        "score": _("Score"),
        "count": _("Count"),
        "promoters": str(CATEGORY_LABELS["promoter"]),
        "passives": str(CATEGORY_LABELS["passive"]),
        "detractors": str(CATEGORY_LABELS["detractor"]),
        "retention": _("Retention %"),
        "churn": _("Churn %"),
        "cohort": _("Cohort"),
        "months_since": _("Months since first purchase"),
        "customers": _("Customers"),
        "value": money_label(_("Value"), currency=currency),
        "recency": _("Recency score (R)"),
        "frequency": _("Frequency score (F)"),
        "importance": _("Importance (share of explained variance, %)"),
        "performance": _("Performance (0–100)"),
        "interactions": _("Customers reached"),
        "no_data": _("No data for this period."),
        "segments": {k: str(v) for k, v in SEGMENT_LABELS.items()},
        "tiers": {k: str(v) for k, v in TIER_LABELS.items()},
        "lifecycle": {k: str(v) for k, v in LIFECYCLE_LABELS.items()},
    }


def _dashboard(request: HttpRequest, dashboard: str) -> HttpResponse:
    organization = organization_of(request)
    services.recompute_queue_if_due(organization_id=organization.pk)
    filters, errors = _filters(request)
    snapshot, job = _resolve_snapshot(request, dashboard, filters)
    status = selectors.recompute_status(organization=organization)
    payload = snapshot.payload if snapshot is not None else {}
    query = urlencode(filters.query_params())
    # The window on screen, shown in the date inputs even when the URL names none (the default window
    # ends on the day the snapshot was computed).
    computed_at = timezone.localtime(snapshot.computed_at, organization.tzinfo) if snapshot else None
    window = filters.resolved(organization, today=computed_at.date() if computed_at else None)
    context = {
        "nav": "dashboards",
        "dashboard": dashboard,
        "title": TITLES[dashboard],
        "tabs": [
            (name, TITLES[name], reverse(URL_NAMES[name]) + (f"?{query}" if query else ""))
            for name in DASHBOARDS
        ],
        "filters": filters,
        "window": window,
        "default_window": filters.start is None and filters.end is None,
        "filter_errors": errors,
        "options": _filter_options(organization),
        "snapshot": snapshot,
        "computed_at": computed_at,
        "payload": payload,
        "tables": tables_for(dashboard, payload, organization_currency(organization)),
        "status": status,
        "job": job,
        "query": query,
        "chart_data": {
            "dashboard": dashboard,
            "payload": payload,
            "labels": _chart_labels(organization_currency(organization)),
        },
        "can_export": _allows(request, "export"),
        "can_edit": _allows(request, "edit"),
        "status_url": reverse("dashboard-status")
        + "?"
        + urlencode({"dashboard": dashboard, **filters.query_params()}),
        "segment_labels": SEGMENT_LABELS,
        "tier_labels": TIER_LABELS,
        "lifecycle_labels": LIFECYCLE_LABELS,
        "category_labels": CATEGORY_LABELS,
    }
    return render(request, f"metrics/{dashboard}.html", context)


def _allows(request: HttpRequest, permission: str) -> bool:
    try:
        check_permission(request, permission)
    except Exception:  # PermissionDenied
        return False
    return True


@organization_required("view")
def overview(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "overview")


@organization_required("view")
def journey(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "journey")


@organization_required("view")
def retention(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "retention")


@organization_required("view")
def value(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "value")


@organization_required("view")
def drivers(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "drivers")


@organization_required("view")
def status(request: HttpRequest) -> JsonResponse:
    """Poll target of the progress indicator: is the snapshot for these filters ready?"""
    organization = organization_of(request)
    dashboard = request.GET.get("dashboard", "")
    if dashboard not in DASHBOARDS:
        return JsonResponse({"error": _("Unknown dashboard.")}, status=400)
    filters, errors = _filters(request)
    if errors:
        return JsonResponse({"error": errors}, status=400)
    snapshot = selectors.dashboard_snapshot(
        organization=organization, dashboard=dashboard, filters_key=filters.key
    )
    job = cache.get(job_cache_key(organization.pk, dashboard, filters.key)) or {}
    state = selectors.recompute_status(organization=organization)
    return JsonResponse(
        {
            "ready": snapshot is not None,
            "computed_at": snapshot.computed_at.isoformat() if snapshot else None,
            "progress": 1.0 if snapshot else job.get("progress", 0.0),
            "running": state["running"],
            "stale": state["stale"],
        }
    )


@organization_required("export")
def export(request: HttpRequest) -> HttpResponse:
    """GET ?dashboard=…&table=…&format=csv|xlsx plus the page's filters."""
    organization = organization_of(request)
    dashboard = request.GET.get("dashboard", "")
    table_name = request.GET.get("table", "")
    fmt = request.GET.get("format", "csv")
    if dashboard not in DASHBOARDS or fmt not in ("csv", "xlsx"):
        raise Http404
    filters, errors = _filters(request)
    if errors:
        raise Http404
    snapshot = selectors.dashboard_snapshot(
        organization=organization, dashboard=dashboard, filters_key=filters.key
    )
    if snapshot is None:
        raise Http404
    from .tables import table_csv, table_xlsx

    tables = tables_for(dashboard, snapshot.payload, organization_currency(organization))
    table = next((t for t in tables if t.name == table_name), None)
    if table is None:
        raise Http404
    filename = f"{organization.slug}-{dashboard}-{table.name}-{timezone.localdate(timezone=organization.tzinfo)}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            table_xlsx(table),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@organization_required("edit")
def recompute(request: HttpRequest) -> HttpResponse:
    """Ask for a recompute now (skips the debounce)."""
    services.recompute_request(organization_id=organization_of(request).pk, force=True)
    target = request.POST.get("next", "")
    if not target.startswith("/dashboards/"):
        target = reverse("dashboard-overview")
    return redirect(target)
