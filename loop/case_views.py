"""Pages of the closed loop: the case queue (tabs, filters, bulk assignment), a case (the customer,
their score history, comment, value and segment, notes, status and outcome), and the alert rules
(list, edit, and the test mode over the last 30 days)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxm.tenancy.scoping import check_permission, organization_required, scoped, scoped_get_or_404
from cxm.tenancy.tenant import organization_of, tenant_of
from metrics.selectors import customer_segment
from surveys.selectors import customer_responses

from . import case_selectors, cases, rules
from .calendar import case_settings
from .case_forms import (
    ROOT_CAUSE_LABELS,
    AlertRuleForm,
    BulkAssignForm,
    CaseNoteForm,
    CaseOutcomeForm,
    CaseSettingsForm,
    CaseStatusForm,
    QueueFilterForm,
)
from .cases import TRANSITIONS
from .models import AlertRule, Case


def _queue_tabs() -> list[tuple[str, str]]:
    return [
        ("all", _("All")),
        ("mine", _("My cases")),
        ("team", _("My team's")),
        ("overdue", _("Overdue")),
        ("unassigned", _("Unassigned")),
    ]


def _errors_message(request: HttpRequest, error: ValidationError) -> None:
    for messages_ in error.message_dict.values():
        for message in messages_:
            messages.error(request, message)


@organization_required("view")
def case_queue(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    queue = request.GET.get("queue") or "all"
    if queue not in case_selectors.QUEUES:
        queue = "all"
    filters_form = QueueFilterForm(request.GET or None, organization=organization)
    filters: dict[str, Any] = {"queue": queue}
    ordering = "risk"
    if filters_form.is_bound:
        if filters_form.is_valid():
            data = filters_form.cleaned_data
            filters.update(
                {k: data[k] for k in ("status", "priority", "touchpoint", "assignee") if data.get(k)}
            )
            ordering = data.get("ordering") or "risk"
        else:
            messages.error(request, _("Some filters were not understood and were left out."))
    found = case_selectors.case_queue(
        tenant=tenant_of(request), user=request.user, filters=filters, ordering=ordering
    )
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    bulk = BulkAssignForm(organization=organization, case_ids=[])
    if request.method == "POST":
        check_permission(request, "edit")
        visible = list(
            case_selectors.cases_visible(tenant=tenant_of(request), user=request.user).values_list(
                "pk", flat=True
            )
        )
        bulk = BulkAssignForm(request.POST, organization=organization, case_ids=visible)
        if bulk.is_valid():
            assignee = None
            if bulk.cleaned_data["assignee"]:
                assignee = get_user_model().objects.filter(pk=bulk.cleaned_data["assignee"]).first()
            try:
                changed = cases.cases_bulk_assign(
                    organization=organization,
                    case_ids=bulk.cleaned_data["case_ids"],
                    assignee=assignee,
                    actor=request.user,
                )
            except ValidationError as exc:
                _errors_message(request, exc)
            else:
                messages.success(request, _("%(count)d case(s) assigned.") % {"count": len(changed)})
                return redirect(request.get_full_path())
        else:
            for errors in bulk.errors.values():
                for error in errors:
                    messages.error(request, str(error))
    now = timezone.now()
    return render(
        request,
        "loop/case_queue.html",
        {
            "nav": "cases",
            "queue": queue,
            "tabs": _queue_tabs(),
            "filters_form": filters_form,
            "page": page,
            "bulk": bulk,
            "now": now,
            "query": request.GET.urlencode(),
        },
        status=400 if request.method == "POST" else 200,
    )


def _visible_case(request: HttpRequest, pk: int) -> Case:
    return get_object_or_404(
        case_selectors.cases_visible(tenant=tenant_of(request), user=request.user).select_related(
            "customer",
            "touchpoint",
            "response",
            "response__survey",
            "assignee",
            "rule",
            "team",
            "escalated_to",
        ),
        pk=pk,
    )


@organization_required("view")
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _visible_case(request, pk)
    organization = organization_of(request)
    allowed = [case.status, *sorted(TRANSITIONS.get(case.status, ()))]
    status_form = CaseStatusForm(
        organization=organization,
        allowed=allowed,
        initial={"status": case.status, "priority": case.priority, "assignee": case.assignee_id},
    )
    outcome_form = CaseOutcomeForm(
        organization=organization,
        initial={
            "outcome": case.outcome,
            "compensation_amount": case.compensation_amount,
            "root_cause": case.root_cause,
        },
    )
    customer = case.customer
    history = customer_responses(customer=customer, limit=20) if customer is not None else []
    segment = customer_segment(organization=organization, customer=customer) if customer is not None else None
    with_risk = case_selectors.with_revenue_at_risk(
        scoped(request, Case).filter(pk=case.pk), organization=organization
    ).first()
    return render(
        request,
        "loop/case_detail.html",
        {
            "nav": "cases",
            "case": case,
            "status_form": status_form,
            "outcome_form": outcome_form,
            "note_form": CaseNoteForm(),
            "notes": case_selectors.case_notes(case=case),
            "linked": case_selectors.case_linked_responses(case=case),
            "history": history,
            "segment": segment,
            "revenue_at_risk": getattr(with_risk, "revenue_at_risk", None),
            "root_cause_label": ROOT_CAUSE_LABELS.get(case.root_cause, case.root_cause),
            "overdue": bool(case.is_open and case.due_at and case.due_at < timezone.now()),
        },
    )


@require_POST
@organization_required("edit")
def case_change(request: HttpRequest, pk: int, form: str) -> HttpResponse:
    case = _visible_case(request, pk)
    organization = organization_of(request)
    try:
        if form == "status":
            bound = CaseStatusForm(
                request.POST, organization=organization, allowed=list(TRANSITIONS) + ["new"]
            )
            if not bound.is_valid():
                raise ValidationError({k: list(v) for k, v in bound.errors.items()})
            data = bound.cleaned_data
            assignee = (
                get_user_model().objects.filter(pk=data["assignee"]).first() if data["assignee"] else None
            )
            cases.case_update(
                case=case,
                actor=request.user,
                status=data["status"],
                priority=data["priority"],
                assignee=assignee,
            )
        elif form == "outcome":
            bound_outcome = CaseOutcomeForm(request.POST, organization=organization)
            if not bound_outcome.is_valid():
                raise ValidationError({k: list(v) for k, v in bound_outcome.errors.items()})
            cases.case_update(case=case, actor=request.user, **bound_outcome.cleaned_data)
        elif form == "note":
            bound_note = CaseNoteForm(request.POST)
            if not bound_note.is_valid():
                raise ValidationError({k: list(v) for k, v in bound_note.errors.items()})
            cases.case_note_create(case=case, author=request.user, body=bound_note.cleaned_data["body"])
        else:
            raise ValidationError({"form": [_("Unknown form.")]})
    except ValidationError as exc:
        _errors_message(request, exc)
    else:
        messages.success(request, _("Saved."))
    return redirect("case-detail", pk=case.pk)


@organization_required("view")
def rule_list(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    form = AlertRuleForm(request.POST or None, organization=organization)
    status = 200
    if request.method == "POST":
        check_permission(request, "edit")
        if form.is_valid():
            fields = form.rule_fields()
            try:
                rule = cases.rule_create(organization=organization, actor=request.user, **fields)
            except ValidationError as exc:
                form.add_service_errors(exc.message_dict)
            else:
                messages.success(request, _("Rule added."))
                return redirect("case-rule", pk=rule.pk)
        status = 400
    return render(
        request,
        "loop/rule_list.html",
        {"nav": "cases", "rules": case_selectors.rules_list(organization=organization), "form": form},
        status=status,
    )


@organization_required("view")
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organization = organization_of(request)
    rule = scoped_get_or_404(
        request, AlertRule.objects.select_related("team").prefetch_related("notify_users"), pk=pk
    )
    status = 200
    if request.method == "POST":
        check_permission(request, "edit")
        form = AlertRuleForm(request.POST, organization=organization)
        if form.is_valid():
            try:
                cases.rule_update(rule=rule, **form.rule_fields())
            except ValidationError as exc:
                form.add_service_errors(exc.message_dict)
            else:
                messages.success(request, _("Rule saved."))
                return redirect("case-rule", pk=rule.pk)
        status = 400
    else:
        form = AlertRuleForm(initial=AlertRuleForm.initial_for(rule), organization=organization)
    tested = rules.rule_test(rule=rule) if request.GET.get("test") else None
    return render(
        request,
        "loop/rule_detail.html",
        {
            "nav": "cases",
            "rule": rule,
            "form": form,
            "tested": tested,
            "matches": tested.matched[:100] if tested else [],
        },
        status=status,
    )


@organization_required("view")
def case_settings_page(request: HttpRequest) -> HttpResponse:
    """SLA hours per priority, the working calendar, holidays and root causes."""
    organization = organization_of(request)
    status = 200
    if request.method == "POST":
        check_permission(request, "manage_organization")
        form = CaseSettingsForm(request.POST)
        if form.is_valid():
            try:
                cases.case_settings_update(organization=organization, data=form.settings_data())
            except ValidationError as exc:
                form.add_service_errors(exc.message_dict)
            else:
                messages.success(request, _("Case settings saved."))
                return redirect("case-settings")
        status = 400
    else:
        form = CaseSettingsForm(
            initial=CaseSettingsForm.initial_for(case_settings(organization=organization))
        )
    return render(request, "loop/case_settings.html", {"nav": "cases", "form": form}, status=status)
