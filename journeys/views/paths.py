"""Pages: paths through a journey and drop-off."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.tenancy.scoping import organization_required, scoped_get_or_404

from .. import selectors
from ..forms import DateRangeForm
from ..models import Journey


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
