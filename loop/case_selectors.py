"""Reads of cases: who sees which (a viewer only their own and their team's), the queues (mine, my
team's, overdue, unassigned) with their filters, ordered by revenue at risk.

Revenue at risk = the customer's predicted value (metrics' predicted CLV, in the organization's
currency) × their risk, where risk is 1 − P(alive) when metrics has fitted a P(alive) for the
customer, else 1 for a detractor (the case's response is an NPS of 0–6) and 0 otherwise. A case
without a predicted value has no revenue at risk (0); ties (and those) go oldest first.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, FloatField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from cxm.tenancy.models import Organization
from cxm.tenancy.roles import Role
from cxm.tenancy.tenant import Tenant
from metrics.models import CustomerValue

from .models import OPEN_STATUSES, AlertRule, Case, CaseNote, Team

QUEUES = ("all", "mine", "team", "overdue", "unassigned")
ORDERINGS = ("risk", "age", "due")


def cases_visible(*, tenant: Tenant, user: Any = None) -> QuerySet[Case]:
    """The cases a tenant may see: every case of the organization, except that a viewer sees only
    the cases assigned to them or to a team they are in."""
    cases = Case.objects.for_organization(tenant.organization)
    if tenant.api_key is None and tenant.role == Role.VIEWER:
        uid = getattr(user, "pk", None) or (tenant.membership.user_id if tenant.membership else None)
        cases = cases.filter(Q(assignee_id=uid) | Q(team__members=uid)).distinct()
    return cases


def with_revenue_at_risk(cases: QuerySet[Case], *, organization: Organization) -> QuerySet[Case]:
    values = CustomerValue.objects.for_organization(organization).filter(customer_id=OuterRef("customer_id"))
    detractor = models.Case(
        models.When(response__score_kind="nps", response__score__lte=6, then=Value(1.0)),
        default=Value(0.0),
        output_field=FloatField(),
    )
    return cases.annotate(
        predicted_value=Subquery(values.values("predicted_clv")[:1], output_field=FloatField()),
        p_alive=Subquery(values.values("p_alive")[:1], output_field=FloatField()),
    ).annotate(
        risk=Coalesce(Value(1.0) - F("p_alive"), detractor, output_field=FloatField()),
        revenue_at_risk=Coalesce(F("predicted_value"), Value(0.0), output_field=FloatField()) * F("risk"),
    )


def case_queue(
    *, tenant: Tenant, user: Any, filters: dict[str, Any], ordering: str = "risk"
) -> QuerySet[Case]:
    """One queue (`filters["queue"]`: all, mine, team, overdue, unassigned) narrowed by status,
    priority, touchpoint (id), assignee (id), ordered by revenue at risk (default), age or due time."""
    organization = tenant.organization
    cases = cases_visible(tenant=tenant, user=user)
    queue = filters.get("queue") or "all"
    uid = getattr(user, "pk", None)
    if queue == "mine":
        cases = cases.filter(assignee_id=uid)
    elif queue == "team":
        teams = Team.objects.for_organization(organization).filter(Q(members=uid) | Q(lead_id=uid))
        cases = cases.filter(Q(team__in=teams) | Q(assignee__case_teams__in=teams)).distinct()
    elif queue == "overdue":
        cases = cases.filter(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
    elif queue == "unassigned":
        cases = cases.filter(assignee__isnull=True, status__in=OPEN_STATUSES)
    if filters.get("status"):
        cases = cases.filter(status=filters["status"])
    elif queue in ("mine", "team"):
        cases = cases.filter(status__in=OPEN_STATUSES)
    if filters.get("priority"):
        cases = cases.filter(priority=filters["priority"])
    if filters.get("touchpoint"):
        cases = cases.filter(touchpoint_id=filters["touchpoint"])
    if filters.get("assignee"):
        cases = cases.filter(assignee_id=filters["assignee"])
    cases = with_revenue_at_risk(cases, organization=organization).select_related(
        "assignee", "customer", "touchpoint", "response", "team"
    )
    if ordering == "age":
        return cases.order_by("created_at", "pk")
    if ordering == "due":
        return cases.order_by(F("due_at").asc(nulls_last=True), "pk")
    return cases.order_by(F("revenue_at_risk").desc(nulls_last=True), "created_at", "pk")


def case_notes(*, case: Case) -> QuerySet[CaseNote]:
    return CaseNote.objects.for_organization(case.organization_id).filter(case=case).select_related("author")


def case_linked_responses(*, case: Case) -> list[Any]:
    return [
        link.response
        for link in case.linked.select_related("response", "response__survey").order_by(
            "response__submitted_at"
        )
    ]


def rules_list(*, organization: Organization) -> QuerySet[AlertRule]:
    return AlertRule.objects.for_organization(organization).select_related("team").order_by("name", "pk")
