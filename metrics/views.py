"""Dashboard pages: served from snapshots; filters in the URL; tables export to CSV/XLSX."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxm.core.money import currency_symbol, money_label, organization_currency
from cxm.tenancy.scoping import check_permission, organization_required
from cxm.tenancy.tenant import organization_of
from surveys.scoring import nps_bands

from . import dashboard_selectors, selectors, services
from .dashboards import registry
from .filters import FilterError, MetricFilters
from .tables import CATEGORY_LABELS, LIFECYCLE_LABELS, SEGMENT_LABELS, TIER_LABELS, tables_for


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


@organization_required("view")
def dashboard_page(request: HttpRequest, key: str) -> HttpResponse:
    """Any registered dashboard (`metrics.dashboards.registry`): its URL passes its key."""
    entry = registry.get(key)
    if entry is None:
        raise Http404
    dashboard = entry.key
    organization = organization_of(request)
    services.recompute_queue_if_due(organization_id=organization.pk)
    filters, errors = _filters(request)
    snapshot, job = services.snapshot_resolve(organization=organization, dashboard=dashboard, filters=filters)
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
        "title": entry.title,
        "tabs": [
            (tab.key, tab.title, reverse(tab.url_name) + (f"?{query}" if query else ""))
            for tab in registry.all_dashboards()
        ],
        "filters": filters,
        "window": window,
        "default_window": filters.start is None and filters.end is None,
        "filter_errors": errors,
        "options": dashboard_selectors.dashboard_filter_options(organization=organization),
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
            "nps_bands": nps_bands(),
        },
        "chart_scripts": entry.scripts,
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
    return render(request, entry.template, context)


def _allows(request: HttpRequest, permission: str) -> bool:
    try:
        check_permission(request, permission)
    except Exception:  # PermissionDenied
        return False
    return True


@organization_required("view")
def status(request: HttpRequest) -> JsonResponse:
    """Poll target of the progress indicator: is the snapshot for these filters ready?"""
    organization = organization_of(request)
    dashboard = request.GET.get("dashboard", "")
    if registry.get(dashboard) is None:
        return JsonResponse({"error": _("Unknown dashboard.")}, status=400)
    filters, errors = _filters(request)
    if errors:
        return JsonResponse({"error": errors}, status=400)
    snapshot = selectors.dashboard_snapshot(
        organization=organization, dashboard=dashboard, filters_key=filters.key
    )
    job = (
        dashboard_selectors.snapshot_job(
            organization=organization, dashboard=dashboard, filters_key=filters.key
        )
        or {}
    )
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
    if registry.get(dashboard) is None or fmt not in ("csv", "xlsx"):
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
