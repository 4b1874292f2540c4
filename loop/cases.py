"""Cases: opened by alert rules on recorded responses (loop/rules.py decides, this module acts),
assigned (the touchpoint's owner, or round-robin over the rule's team), due after the SLA of their
priority in business hours, escalated when overdue, worked with notes, call-back outcomes and a root
cause, and closed (optionally asking the customer a one-question follow-up survey).

Notification delivery is not done here: `loop.signals.notification_requested` says what happened.
Webhooks (`case.created`, `case.updated`, `case.closed`, `alert.matched`) go through the existing
webhook queue, from a task after commit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.tenancy.models import Membership, Organization
from cxm.tenancy.roles import Role
from surveys.models import Invitation, Response, Survey, SurveyStatus

from . import rules as rule_logic
from .calendar import business_deadline, case_settings, sla_hours, work_calendar
from .models import (
    OPEN_STATUSES,
    AlertRule,
    CallOutcome,
    Case,
    CaseNote,
    CaseResponse,
    CaseStatus,
    Priority,
    RuleMatch,
    Team,
)
from .signals import notification_requested

logger = logging.getLogger(__name__)

# Which status may follow which. Closing is possible from any open status (a case opened by mistake).
TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.NEW: frozenset(
        {CaseStatus.IN_PROGRESS, CaseStatus.WAITING, CaseStatus.RESOLVED, CaseStatus.CLOSED}
    ),
    CaseStatus.IN_PROGRESS: frozenset({CaseStatus.WAITING, CaseStatus.RESOLVED, CaseStatus.CLOSED}),
    CaseStatus.WAITING: frozenset({CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.CLOSED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED, CaseStatus.REOPENED}),
    CaseStatus.CLOSED: frozenset({CaseStatus.REOPENED}),
    CaseStatus.REOPENED: frozenset(
        {CaseStatus.IN_PROGRESS, CaseStatus.WAITING, CaseStatus.RESOLVED, CaseStatus.CLOSED}
    ),
}
# Text analysis runs after the response is recorded: a rule waiting on it is tried again this often.
TEXT_RETRY_SECONDS = 60
TEXT_RETRY_ATTEMPTS = 10
MENTION = re.compile(r"@([\w.+-]+@[\w-]+(?:\.[\w-]+)+|[\w.+-]+)")
FOLLOW_UP_SURVEY_NAME = "Did we solve it?"


# --- Whether the submit path's receiver needs to queue anything ---------------------------------


def _active_key(organization_id: int) -> str:
    return f"loop:cases-active:{organization_id}"


def cases_active(*, organization_id: int) -> bool:
    """Cheap check for the signal receiver: an active rule, an open case, or a follow-up survey
    awaiting an answer. Cached a minute; rule and case writes forget it."""
    cached = cache.get(_active_key(organization_id))
    if cached is None:
        cached = (
            AlertRule.objects.for_organization(organization_id).filter(is_active=True).exists()
            or Case.objects.for_organization(organization_id)
            .filter(
                Q(status__in=OPEN_STATUSES)
                | Q(follow_up_invitation__isnull=False, follow_up_response__isnull=True)
            )
            .exists()
        )
        cache.set(_active_key(organization_id), cached, 60)
    return bool(cached)


def _forget_active(organization_id: int) -> None:
    transaction.on_commit(lambda: cache.delete(_active_key(organization_id)))


# --- Members --------------------------------------------------------------------------------------


def organization_member_ids(*, organization: Organization | int, user_ids: Iterable[int]) -> set[int]:
    return set(
        Membership.objects.for_organization(organization)
        .filter(user_id__in=list(user_ids))
        .values_list("user_id", flat=True)
    )


def member_by_handle(*, organization: Organization | int, handle: str) -> Any:
    """The member whose username or email is `handle` (a touchpoint's owner, an @mention), or None."""
    handle = handle.strip()
    if not handle:
        return None
    membership = (
        Membership.objects.for_organization(organization)
        .filter(Q(user__username__iexact=handle) | Q(user__email__iexact=handle))
        .select_related("user")
        .order_by("user_id")
        .first()
    )
    return membership.user if membership else None


def _user_label(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""  # nobody, or an API key
    return user.get_full_name() or user.email or user.username


# --- Rules ------------------------------------------------------------------------------------------


def _rule_fields_clean(*, organization: Organization, fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if "conditions" in fields:
        try:
            fields["conditions"] = rule_logic.conditions_clean(
                organization=organization, conditions=fields["conditions"]
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    team = fields.get("team")
    if team is not None and team.organization_id != organization.pk:
        errors["team"] = [_("Unknown team.")]
    survey = fields.get("follow_up_survey")
    if survey is not None and survey.organization_id != organization.pk:
        errors["follow_up_survey"] = [_("Unknown survey.")]
    if "notify_users" in fields:
        ids = {getattr(user, "pk", user) for user in fields["notify_users"]}
        if organization_member_ids(organization=organization, user_ids=ids) != ids:
            errors["notify_users"] = [_("Only members of the organization can be notified.")]
    if errors:
        raise ValidationError(errors)
    return fields


def rule_create(*, organization: Organization, name: str, actor: Any = None, **fields: Any) -> AlertRule:
    fields = _rule_fields_clean(organization=organization, fields=dict(fields))
    notify = fields.pop("notify_users", [])
    with transaction.atomic():
        rule = AlertRule.objects.create(
            organization=organization,
            name=name,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            **fields,
        )
        rule.notify_users.set(notify)
        _forget_active(organization.pk)
    return rule


def rule_update(*, rule: AlertRule, **fields: Any) -> AlertRule:
    fields = _rule_fields_clean(organization=rule.organization, fields=dict(fields))
    notify = fields.pop("notify_users", None)
    with transaction.atomic():
        for name, value in fields.items():
            setattr(rule, name, value)
        rule.save()
        if notify is not None:
            rule.notify_users.set(notify)
        _forget_active(rule.organization_id)
    return rule


# --- Evaluating recorded responses -------------------------------------------------------------


def responses_evaluate(*, organization_id: int, response_ids: list[int]) -> list[int]:
    """Try the organization's active rules on these responses (after they were recorded), act on the
    matches, join a later response to its customer's open case, and link a follow-up survey's answer
    to its case. Returns the ids of the responses a rule is still waiting on (their comment's text
    analysis). Running it again does nothing twice (RuleMatch is unique per rule and response)."""
    responses = list(
        Response.objects.for_organization(organization_id)
        .filter(pk__in=response_ids)
        .select_related("customer", "survey", "touchpoint")
        .order_by("submitted_at", "pk")
    )
    if not responses:
        return []
    _link_follow_up_answers(organization_id=organization_id, responses=responses)
    follow_ups = set(
        Case.objects.for_organization(organization_id)
        .filter(follow_up_response_id__in=[r.pk for r in responses])
        .values_list("follow_up_response_id", flat=True)
    )
    responses = [r for r in responses if r.pk not in follow_ups]
    rules = list(
        AlertRule.objects.for_organization(organization_id)
        .filter(is_active=True)
        .select_related("team", "organization")
        .prefetch_related("notify_users")
        .order_by("pk")
    )
    facts = rule_logic.facts_load(organization_id=organization_id, responses=responses, rules=rules)
    pending: list[int] = []
    for response in responses:
        matched: list[AlertRule] = []
        for rule in rules:
            outcome = rule_logic.rule_evaluate(conditions=rule.conditions, response=response, facts=facts)
            if outcome == rule_logic.MATCH:
                matched.append(rule)
            elif outcome == rule_logic.PENDING:
                pending.append(response.pk)
        if matched:
            for rule in matched:
                _rule_fire(rule=rule, response=response)
        else:
            _join_open_case(organization_id=organization_id, response=response)
    return sorted(set(pending))


def _link_follow_up_answers(*, organization_id: int, responses: list[Response]) -> None:
    answered = dict(
        Invitation.objects.for_organization(organization_id)
        .filter(response_id__in=[r.pk for r in responses])
        .values_list("pk", "response_id")
    )
    if not answered:
        return
    for case in Case.objects.for_organization(organization_id).filter(
        follow_up_invitation_id__in=list(answered), follow_up_response__isnull=True
    ):
        case.follow_up_response_id = answered[case.follow_up_invitation_id]
        case.save(update_fields=["follow_up_response", "updated_at"])
        _emit(case, "case.updated")


def _open_case_of(*, organization_id: int, customer_id: int | None) -> Case | None:
    if customer_id is None:
        return None
    return (
        Case.objects.for_organization(organization_id)
        .filter(customer_id=customer_id, status__in=OPEN_STATUSES)
        .order_by("created_at", "pk")
        .first()
    )


def _link(case: Case, response: Response) -> bool:
    try:
        with transaction.atomic():
            CaseResponse.objects.create(organization_id=case.organization_id, case=case, response=response)
    except IntegrityError:
        return False  # already linked (to this or another case)
    return True


def _join_open_case(*, organization_id: int, response: Response) -> Case | None:
    """A later response of a customer with an open case joins it (after the response that opened it)."""
    case = _open_case_of(organization_id=organization_id, customer_id=response.customer_id)
    if case is None or (case.response is not None and response.submitted_at < case.response.submitted_at):
        return None
    if _link(case, response):
        case.save(update_fields=["updated_at"])
        _emit(case, "case.updated")
    return case


def _customer_value(response: Response) -> str | None:
    """The customer's predicted value as "12000.00 CNY" (language-neutral), or None when unknown."""
    from metrics.models import CustomerValue

    if response.customer_id is None:
        return None
    predicted = (
        CustomerValue.objects.for_organization(response.organization_id)
        .filter(customer_id=response.customer_id)
        .values_list("predicted_clv", flat=True)
        .first()
    )
    if predicted is None:
        return None
    return f"{Decimal(str(predicted)).quantize(Decimal('0.01'))} {response.organization.currency}"


def _response_facts(response: Response) -> dict[str, Any]:
    customer = response.customer
    return {
        "value": _customer_value(response),
        "response_id": response.pk,
        "score": response.score,
        "score_kind": response.score_kind,
        "comment": response.comment[:500],
        "survey_name": response.survey.name if response.survey_id else "",
        "touchpoint_name": response.touchpoint.name if response.touchpoint_id and response.touchpoint else "",
        "customer_label": (customer.name or customer.external_id) if customer else "",
    }


def _rule_fire(*, rule: AlertRule, response: Response) -> RuleMatch | None:
    """Record the match (once per rule and response) and act on it."""
    organization_id = rule.organization_id
    with transaction.atomic():
        try:
            with transaction.atomic():
                match = RuleMatch.objects.create(
                    organization_id=organization_id, rule=rule, response=response
                )
        except IntegrityError:
            return None  # this rule already fired for this response
        case = None
        if rule.open_case:
            case = _open_case_of(organization_id=organization_id, customer_id=response.customer_id)
            if case is not None:
                if _link(case, response):
                    case.save(update_fields=["updated_at"])
                    _emit(case, "case.updated")
            elif (
                not CaseResponse.objects.for_organization(organization_id).filter(response=response).exists()
            ):
                case = case_open(rule=rule, response=response)
            match.case = case
            match.save(update_fields=["case"])
        notify_ids = [user.pk for user in rule.notify_users.all()]
        facts = {
            **_response_facts(response),
            "rule_id": rule.pk,
            "rule_name": rule.name,
            "path": f"/cases/{case.pk}/" if case is not None else f"/cases/rules/{rule.pk}/",
        }
        if case is not None:
            facts.update(case_id=case.pk, case_number=case.pk, priority=case.priority)
        if notify_ids:
            _notify(organization_id=organization_id, kind="alert.matched", user_ids=notify_ids, facts=facts)
        if rule.call_webhook:
            event = (
                "alert.matched",
                f"rulematch:{match.pk}",
                match.matched_at.isoformat(),
                {
                    "rule": {"id": rule.pk, "name": rule.name},
                    "response_id": response.pk,
                    "customer_id": response.customer_id,
                    "case_id": case.pk if case is not None else None,
                    "score": response.score,
                    "score_kind": response.score_kind,
                    "matched_at": match.matched_at.isoformat(),
                },
            )
            transaction.on_commit(lambda: _enqueue_events(organization_id, [event]))
    return match


# --- Opening and assigning ------------------------------------------------------------------------


def _round_robin(team: Team) -> Any:
    """The team's next member (in id order), moving the team's position on; None for an empty team."""
    locked = Team.objects.for_organization(team.organization_id).select_for_update().get(pk=team.pk)
    members = list(locked.members.order_by("pk"))
    if not members:
        return None
    chosen = members[locked.next_index % len(members)]
    locked.next_index = (locked.next_index + 1) % len(members)
    locked.save(update_fields=["next_index"])
    return chosen


def default_assignee(*, rule: AlertRule | None, response: Response) -> Any:
    """Round-robin over the rule's team when it names one, else the touchpoint's owner (the member
    whose username or email the touchpoint's owner field holds), else nobody."""
    if rule is not None and rule.team_id is not None and rule.team is not None:
        chosen = _round_robin(rule.team)
        if chosen is not None:
            return chosen
    touchpoint = response.touchpoint if response.touchpoint_id else None
    if touchpoint is not None and touchpoint.owner:
        return member_by_handle(organization=response.organization_id, handle=touchpoint.owner)
    return None


def case_due_at(*, organization: Organization, priority: str, start: Any) -> Any:
    return business_deadline(
        start=start,
        hours=sla_hours(organization=organization, priority=priority),
        calendar=work_calendar(organization=organization),
    )


def case_open(*, rule: AlertRule | None, response: Response, priority: str | None = None) -> Case:
    organization = response.organization
    priority = priority or (rule.priority if rule is not None else Priority.NORMAL)
    now = timezone.now()
    with transaction.atomic():
        assignee = default_assignee(rule=rule, response=response)
        case = Case.objects.create(
            organization=organization,
            rule=rule,
            response=response,
            customer_id=response.customer_id,
            touchpoint_id=response.touchpoint_id,
            priority=priority,
            assignee=assignee,
            team=rule.team if rule is not None else None,
            due_at=case_due_at(organization=organization, priority=priority, start=now),
            created_at=now,
        )
        _link(case, response)
        _forget_active(organization.pk)
        facts = {
            **_response_facts(response),
            **_case_facts(case),
        }
        recipients = [assignee.pk] if assignee is not None else []
        _notify(organization_id=organization.pk, kind="case.created", user_ids=recipients, facts=facts)
        _emit(case, "case.created")
    return case


def _case_facts(case: Case) -> dict[str, Any]:
    return {
        "case_id": case.pk,
        "case_number": case.pk,
        "priority": case.priority,
        "status": case.status,
        "due_at": case.due_at.isoformat() if case.due_at else None,
        "path": f"/cases/{case.pk}/",
    }


def _check_assignee(case: Case, assignee: Any) -> None:
    if assignee is not None and not organization_member_ids(
        organization=case.organization_id, user_ids=[assignee.pk]
    ):
        raise ValidationError({"assignee": [_("The assignee must be a member of the organization.")]})


def case_assign(*, case: Case, assignee: Any, actor: Any = None) -> Case:
    _check_assignee(case, assignee)
    if case.assignee_id == getattr(assignee, "pk", None):
        return case
    with transaction.atomic():
        case.assignee = assignee
        _first_action(case, actor)
        case.save(update_fields=["assignee", "first_action_at", "updated_at"])
        if assignee is not None and getattr(actor, "pk", None) != assignee.pk:
            _notify(
                organization_id=case.organization_id,
                kind="case.assigned",
                user_ids=[assignee.pk],
                facts={**_case_facts(case), "actor_name": _user_label(actor)},
            )
        _emit(case, "case.updated")
    return case


def cases_bulk_assign(
    *, organization: Organization, case_ids: list[int], assignee: Any, actor: Any = None
) -> list[Case]:
    cases = list(Case.objects.for_organization(organization).filter(pk__in=case_ids).order_by("pk"))
    if len(cases) != len(set(case_ids)):
        raise ValidationError(
            {"case_ids": [_("Unknown cases: some ids are not cases of this organization.")]}
        )
    with transaction.atomic():
        return [case_assign(case=case, assignee=assignee, actor=actor) for case in cases]


def _first_action(case: Case, actor: Any) -> None:
    if case.first_action_at is None and getattr(actor, "is_authenticated", False):
        case.first_action_at = timezone.now()


# --- Working on a case ------------------------------------------------------------------------------


def case_update(*, case: Case, actor: Any = None, **fields: Any) -> Case:
    """Status (by the allowed transitions), priority (the due time follows), assignee, call-back outcome
    with its compensation, root cause. Raises ValidationError with a message per field."""
    errors: dict[str, list[str]] = {}
    organization = case.organization
    reassign = "assignee" in fields and getattr(fields["assignee"], "pk", None) != case.assignee_id
    assignee = fields.pop("assignee", None)
    if reassign:
        try:
            _check_assignee(case, assignee)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    status = fields.pop("status", None)
    if status is not None and status != case.status:
        if status not in TRANSITIONS.get(case.status, frozenset()):
            errors["status"] = [
                _("A case cannot go from %(current)s to %(new)s.")
                % {"current": CaseStatus(case.status).label, "new": CaseStatus(status).label}
            ]
    if "root_cause" in fields and fields["root_cause"]:
        if fields["root_cause"] not in case_settings(organization=organization)["root_causes"]:
            errors["root_cause"] = [_("Choose a root cause from the organization's list.")]
    outcome = fields.get("outcome", case.outcome)
    amount = fields.get("compensation_amount", case.compensation_amount)
    if amount is not None and Decimal(amount) < 0:
        errors["compensation_amount"] = [_("Compensation cannot be negative.")]
    if "compensation_amount" in fields and amount is not None and outcome != CallOutcome.COMPENSATED:
        errors["compensation_amount"] = [
            _("A compensation amount goes with the outcome “Compensation given”.")
        ]
    if outcome == CallOutcome.COMPENSATED and amount is None:
        errors["compensation_amount"] = [_("Give the amount of the compensation.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        now = timezone.now()
        previous_status = case.status
        if "priority" in fields and fields["priority"] != case.priority:
            case.due_at = case_due_at(
                organization=organization, priority=fields["priority"], start=case.created_at
            )
        for name, value in fields.items():
            setattr(case, name, value)
        if "compensation_amount" in fields or outcome == CallOutcome.COMPENSATED:
            case.compensation_currency = organization.currency if case.compensation_amount is not None else ""
        if outcome != CallOutcome.COMPENSATED and "outcome" in fields:
            case.compensation_amount = None
            case.compensation_currency = ""
        if status is not None and status != previous_status:
            case.status = status
            if status == CaseStatus.RESOLVED:
                case.resolved_at = now
            elif status == CaseStatus.CLOSED:
                case.closed_at = now
                case.resolved_at = case.resolved_at or now
            elif status == CaseStatus.REOPENED:
                case.resolved_at = None
                case.closed_at = None
                case.escalated_at = None
                case.escalated_to = None
                case.due_at = case_due_at(organization=organization, priority=case.priority, start=now)
        if reassign:
            case.assignee = assignee
            if assignee is not None and getattr(actor, "pk", None) != assignee.pk:
                _notify(
                    organization_id=case.organization_id,
                    kind="case.assigned",
                    user_ids=[assignee.pk],
                    facts={**_case_facts(case), "actor_name": _user_label(actor)},
                )
        _first_action(case, actor)
        case.save()
        if status == CaseStatus.CLOSED and previous_status != CaseStatus.CLOSED:
            _case_closed(case=case, actor=actor)
        else:
            _emit(case, "case.updated")
        _forget_active(case.organization_id)
    return case


def case_close(*, case: Case, actor: Any = None) -> Case:
    return case_update(case=case, actor=actor, status=CaseStatus.CLOSED)


def _case_closed(*, case: Case, actor: Any) -> None:
    rule = case.rule
    if rule is not None and rule.send_follow_up and case.customer_id is not None:
        case_follow_up_send(case=case)
    recipients = sorted(
        {uid for uid in (case.assignee_id, case.escalated_to_id) if uid and uid != getattr(actor, "pk", None)}
    )
    _notify(
        organization_id=case.organization_id,
        kind="case.closed",
        user_ids=recipients,
        facts={
            **_case_facts(case),
            "actor_name": _user_label(actor),
            "outcome": case.outcome,
            "root_cause": case.root_cause,
        },
    )
    _emit(case, "case.closed")


def follow_up_survey_default(*, organization: Organization) -> Survey:
    """The organization's one-question "Did we solve it?" survey (yes/no), made active on first use."""
    from surveys import services as survey_services
    from surveys.models import Question, QuestionKind

    found = (
        Survey.objects.for_organization(organization)
        .filter(name=FOLLOW_UP_SURVEY_NAME, status=SurveyStatus.ACTIVE)
        .order_by("pk")
        .first()
    )
    if found is not None:
        return found
    survey = survey_services.survey_create(
        organization=organization,
        name=FOLLOW_UP_SURVEY_NAME,
        thank_you={"en": "Thank you for telling us.", "zh-hans": "感谢您的反馈。"},
        # Asked because the customer just answered: the fatigue rule would always hold it back
        # (unsubscribed customers are still never asked).
        fatigue_days=0,
    )
    Question.objects.create(
        organization=organization,
        survey=survey,
        position=0,
        kind=QuestionKind.SINGLE_CHOICE,
        text={"en": "Did we solve your problem?", "zh-hans": "我们解决了您的问题吗？"},
        required=True,
        options=[
            {"value": "yes", "label": {"en": "Yes", "zh-hans": "是"}},
            {"value": "no", "label": {"en": "No", "zh-hans": "否"}},
        ],
    )
    survey_services.survey_set_status(survey=survey, action="activate")
    return survey


def case_follow_up_send(*, case: Case) -> Invitation | None:
    """Invite the case's customer to the rule's follow-up survey (or the default one-question survey),
    through the surveys app's invitations (fatigue and unsubscribe honoured); the invitation is kept on
    the case, and its answer is linked to the case when it is recorded."""
    if case.follow_up_invitation_id is not None or case.customer is None:
        return None
    survey = case.rule.follow_up_survey if case.rule is not None else None
    if survey is None or survey.status != SurveyStatus.ACTIVE:
        survey = follow_up_survey_default(organization=case.organization)
    from surveys.services import invitations_create

    customer = case.customer
    language = case.response.locale if case.response is not None and case.response.locale else None
    result = invitations_create(survey=survey, customers=[customer], language=language)
    if not result.invitations:
        return None
    invitation = result.invitations[0]
    case.follow_up_invitation = invitation
    case.save(update_fields=["follow_up_invitation", "updated_at"])
    return invitation


def case_note_create(*, case: Case, author: Any, body: str) -> CaseNote:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": [_("Write the note.")]})
    if len(body) > 10_000:
        raise ValidationError({"body": [_("A note has at most 10000 characters.")]})
    mentioned: list[int] = []
    for handle in dict.fromkeys(MENTION.findall(body)):
        user = member_by_handle(organization=case.organization_id, handle=handle)
        if user is not None and user.pk not in mentioned:
            mentioned.append(user.pk)
    with transaction.atomic():
        note = CaseNote.objects.create(
            organization_id=case.organization_id,
            case=case,
            author=author if getattr(author, "is_authenticated", False) else None,
            body=body,
            mentioned_user_ids=mentioned,
        )
        _first_action(case, author)
        case.save(update_fields=["first_action_at", "updated_at"])
        recipients = [uid for uid in mentioned if uid != getattr(author, "pk", None)]
        if recipients:
            _notify(
                organization_id=case.organization_id,
                kind="case.mentioned",
                user_ids=recipients,
                facts={**_case_facts(case), "actor_name": _user_label(author), "note_excerpt": body[:300]},
                channels=False,
            )
    return note


# --- Escalation -------------------------------------------------------------------------------------


def case_manager(*, case: Case) -> Any:
    """Who an overdue case escalates to: the lead of the case's team, else of a team its assignee is
    in, else the organization's first owner; never the assignee themself."""
    User = get_user_model()
    candidates: list[int] = []
    if case.team_id is not None and case.team is not None and case.team.lead_id:
        candidates.append(case.team.lead_id)
    if case.assignee_id:
        candidates += list(
            Team.objects.for_organization(case.organization_id)
            .filter(members=case.assignee_id, lead__isnull=False)
            .order_by("pk")
            .values_list("lead_id", flat=True)
        )
    candidates += list(
        Membership.objects.for_organization(case.organization_id)
        .filter(role__in=[Role.OWNER, Role.ADMIN])
        .order_by("role", "user_id")
        .values_list("user_id", flat=True)
    )
    for user_id in candidates:
        if user_id and user_id != case.assignee_id:
            return User.objects.get(pk=user_id)
    return None


def cases_escalate_overdue(*, now: Any = None, limit: int = 500) -> int:
    """Beat: open cases past their due time, not escalated yet, go to their owner's manager (once)."""
    now = now or timezone.now()
    overdue = list(
        Case.objects.unscoped()  # the sweep crosses organizations
        .filter(status__in=OPEN_STATUSES, due_at__lt=now, escalated_at__isnull=True)
        .select_related("team", "organization")
        .order_by("due_at")[:limit]
    )
    escalated = 0
    for case in overdue:
        with transaction.atomic():
            manager = case_manager(case=case)
            claimed = (
                Case.objects.for_organization(case.organization_id)
                .filter(pk=case.pk, escalated_at__isnull=True)
                .update(escalated_at=now, escalated_to=manager, updated_at=now)
            )
            if not claimed:
                continue  # another sweep got it
            escalated += 1
            case.escalated_at, case.escalated_to = now, manager
            recipients = sorted({uid for uid in (getattr(manager, "pk", None), case.assignee_id) if uid})
            _notify(
                organization_id=case.organization_id,
                kind="case.escalated",
                user_ids=recipients,
                facts={**_case_facts(case), "escalated_to": _user_label(manager)},
            )
            _emit(case, "case.updated")
    return escalated


# --- Telling others ---------------------------------------------------------------------------------


def _notify(
    *, organization_id: int, kind: str, user_ids: list[int], facts: dict[str, Any], channels: bool = True
) -> None:
    """After commit: the notification side renders and delivers it; a failing receiver never breaks
    the case's write."""

    def send() -> None:
        try:
            notification_requested.send(
                sender=Case,
                organization_id=organization_id,
                kind=kind,
                user_ids=list(user_ids),
                facts=facts,
                channels=channels,
            )
        except Exception:
            logger.exception("loop: a notification receiver failed for %s", kind)

    transaction.on_commit(send)


def _enqueue_events(organization_id: int, events: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    from .services import events_enqueue

    try:
        events_enqueue(organization_id=organization_id, events=events)
    except Exception:
        logger.exception("loop: could not queue webhook events")


def _emit(case: Case, event_type: str) -> None:
    """After commit, a task builds the case's webhook event from the API serializer and queues it."""
    from .services import webhooks_active

    organization_id, case_id = case.organization_id, case.pk
    if not webhooks_active(organization_id=organization_id):
        return

    def queue() -> None:
        from .tasks import dispatch_case_event

        dispatch_case_event.apply_async(args=[organization_id, case_id, event_type], ignore_result=True)

    transaction.on_commit(queue)


def case_settings_update(*, organization: Organization, data: dict[str, Any]) -> dict[str, Any]:
    """Changes some of the case settings (SLA hours per priority, working days and hours, holidays,
    root causes); raises ValidationError with a message per setting."""
    from .calendar import case_settings_clean

    cleaned = case_settings_clean(data)
    with transaction.atomic():
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        stored = dict((locked.settings or {}).get("cases") or {})
        if "sla_hours" in cleaned:
            cleaned["sla_hours"] = {**(stored.get("sla_hours") or {}), **cleaned["sla_hours"]}
        stored.update(cleaned)
        locked.settings = {**(locked.settings or {}), "cases": stored}
        locked.save(update_fields=["settings"])
        organization.settings = locked.settings
    return case_settings(organization=organization)
