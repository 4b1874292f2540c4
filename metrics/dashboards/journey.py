"""Journey: scores and customers reached per stage and touchpoint, and scores by channel."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxm.tenancy.models import Organization
from journeys.models import Interaction, Stage, Touchpoint

from ..filters import MetricFilters
from ..tables import Table, _r, _score_headers, _score_rows, channel_label
from .common import _window_payload, score_source
from .registry import Dashboard, register


def build_journey(
    *, organization: Organization, filters: MetricFilters, using: str, context: dict[str, Any]
) -> dict[str, Any]:

    start, end = filters.window(organization)
    score_breakdown = score_source(filters, context).score_breakdown
    by_touchpoint = {
        row["key"]: row
        for row in score_breakdown(
            organization=organization, filters=filters, using=using, dimension="touchpoint"
        )
    }
    by_stage = {
        row["key"]: row
        for row in score_breakdown(organization=organization, filters=filters, using=using, dimension="stage")
    }

    def reach_of() -> dict[str, Any]:
        reach = [
            dict(row)
            for row in Interaction.objects.using(using)
            .for_organization(organization)
            .filter(occurred_at__gte=start, occurred_at__lt=end)
            .values("touchpoint_id")
            .annotate(interactions=Count("id"), customers=Count("customer_id", distinct=True))
            .order_by()
        ]
        # A customer at two touchpoints of a stage is one customer of that stage: distinct per stage.
        stage_reach = [
            [row["touchpoint__stage_id"], row["customers"]]
            for row in Interaction.objects.using(using)
            .for_organization(organization)
            .filter(occurred_at__gte=start, occurred_at__lt=end, touchpoint__stage__isnull=False)
            .values("touchpoint__stage_id")
            .annotate(customers=Count("customer_id", distinct=True))
            .order_by()
        ]
        return {"reach": reach, "stage_reach": stage_reach}

    # The recompute of the default view reuses the reach while no interaction and no touchpoint's
    # stage changed (services.incremental.PartReuse).
    reuse = context.get("reuse") if filters.key == "default" else None
    counted = (
        reach_of()
        if reuse is None
        else reuse("journey:reach", {"window": [start, end]}, reach_of, depends=("interactions", "config"))
    )
    reach: dict[Any, dict[str, Any]] = {row["touchpoint_id"]: row for row in counted["reach"]}
    stage_reach = {stage_id: customers for stage_id, customers in counted["stage_reach"]}
    touchpoints = list(
        Touchpoint.objects.using(using)
        .for_organization(organization)
        .values("id", "name", "key", "channel", "stage_id")
    )
    stages = []
    for stage in (
        Stage.objects.using(using)
        .for_organization(organization)
        .select_related("journey")
        .order_by("journey__name", "position", "id")
    ):
        items = []
        for tp in touchpoints:
            if tp["stage_id"] != stage.id:
                continue
            scores = by_touchpoint.get(tp["id"])
            items.append(
                {
                    **tp,
                    "scores": scores,
                    "interactions": reach.get(tp["id"], {}).get("interactions", 0),
                    "customers": reach.get(tp["id"], {}).get("customers", 0),
                }
            )
        stages.append(
            {
                "id": stage.id,
                "name": stage.name,
                "journey": stage.journey.name,
                "scores": by_stage.get(stage.id),
                "touchpoints": items,
                "customers": stage_reach.get(stage.id, 0),
            }
        )
    return {
        "window": _window_payload(organization, filters),
        "stages": stages,
        "by_channel": score_breakdown(
            organization=organization, filters=filters, using=using, dimension="channel"
        ),
    }


def tables(payload: dict[str, Any], currency: str = "") -> list[Table]:
    rows = []
    for stage in payload["stages"]:
        for tp in stage["touchpoints"]:
            scores = tp["scores"] or {}
            nps = scores.get("nps") or {}
            csat = scores.get("csat") or {}
            ces = scores.get("ces") or {}
            rows.append(
                [
                    stage["name"],
                    tp["name"],
                    channel_label(tp["channel"]),
                    tp["interactions"],
                    tp["customers"],
                    nps.get("n", 0),
                    _r(nps.get("nps")),
                    csat.get("n", 0),
                    _r(csat.get("csat")),
                    ces.get("n", 0),
                    _r(ces.get("mean"), 2),
                ]
            )
    return [
        Table(
            "touchpoints",
            _("Stages and touchpoints"),
            [
                _("Stage"),
                _("Touchpoint"),
                _("Channel"),
                _("Interactions"),
                _("Customers"),
                _("NPS n"),
                "NPS",
                _("CSAT n"),
                "CSAT %",
                _("CES n"),
                _("CES mean"),
            ],
            rows,
        ),
        Table(
            "by_channel",
            _("By channel"),
            _score_headers(_("Channel")),
            _score_rows(payload["by_channel"], channel_label),
        ),
    ]


register(
    Dashboard(
        key="journey",
        title=gettext_lazy("Journey"),
        order=20,
        builder=build_journey,
        tables=tables,
        charts=("stages", "reach", "touchpoints"),
    )
)
