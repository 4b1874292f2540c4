"""Forms of the case pages: queue filters, bulk assignment, a case's status and outcome, notes, and
an alert rule (its conditions as fields, stored as the rule's JSON by the service)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from cxm.tenancy.models import Organization
from feedback.models import SentimentLabel
from journeys.models import Touchpoint
from surveys.models import ResponseChannel, Survey

from . import rules
from .calendar import case_settings
from .case_selectors import ORDERINGS
from .models import CallOutcome, CaseStatus, Priority, Team

User = get_user_model()


def member_choices(organization: Organization) -> list[tuple[int, str]]:
    users = User.objects.filter(memberships__organization=organization).order_by("username")
    return [(u.pk, u.get_full_name() or u.email or u.username) for u in users]


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    priority = forms.ChoiceField(label=_("Priority"), required=False)
    touchpoint = forms.TypedChoiceField(label=_("Touchpoint"), required=False, coerce=int, empty_value=None)
    assignee = forms.TypedChoiceField(label=_("Assignee"), required=False, coerce=int, empty_value=None)
    ordering = forms.ChoiceField(label=_("Order by"), required=False)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        anything = [("", _("Any"))]
        self.fields["status"].choices = anything + list(CaseStatus.choices)  # type: ignore[attr-defined]
        self.fields["priority"].choices = anything + list(Priority.choices)  # type: ignore[attr-defined]
        self.fields["touchpoint"].choices = anything + [  # type: ignore[attr-defined]
            (t.pk, t.name) for t in Touchpoint.objects.for_organization(organization).order_by("name")
        ]
        self.fields["assignee"].choices = anything + member_choices(organization)  # type: ignore[attr-defined]
        labels = {"risk": _("Revenue at risk"), "age": _("Oldest first"), "due": _("Due first")}
        self.fields["ordering"].choices = [(value, labels[value]) for value in ORDERINGS]  # type: ignore[attr-defined]


class BulkAssignForm(forms.Form):
    case_ids = forms.TypedMultipleChoiceField(coerce=int, label=_("Cases"))
    assignee = forms.TypedChoiceField(label=_("Assign to"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, organization: Organization, case_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["case_ids"].choices = [(pk, pk) for pk in case_ids]  # type: ignore[attr-defined]
        self.fields["assignee"].choices = [("", _("Nobody"))] + member_choices(organization)  # type: ignore[attr-defined]
        self.fields["case_ids"].error_messages["required"] = _("Tick the cases to assign.")


class CaseStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"))
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    assignee = forms.TypedChoiceField(label=_("Assignee"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, organization: Organization, allowed: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [(v, label) for v, label in CaseStatus.choices if v in allowed]  # type: ignore[attr-defined]
        self.fields["assignee"].choices = [("", _("Nobody"))] + member_choices(organization)  # type: ignore[attr-defined]


class CaseOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Call-back outcome"), required=False)
    compensation_amount = forms.DecimalField(
        label=_("Compensation"), max_digits=12, decimal_places=2, min_value=0, required=False
    )
    root_cause = forms.ChoiceField(label=_("Root cause"), required=False)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = [("", "–")] + list(CallOutcome.choices)  # type: ignore[attr-defined]
        causes = case_settings(organization=organization)["root_causes"]
        self.fields["root_cause"].choices = [("", "–")] + [(c, ROOT_CAUSE_LABELS.get(c, c)) for c in causes]  # type: ignore[attr-defined]
        self.fields["compensation_amount"].help_text = _("In %(currency)s") % {
            "currency": organization.currency
        }


ROOT_CAUSE_LABELS = {
    "product_quality": _("Product quality"),
    "delivery": _("Delivery"),
    "billing": _("Billing"),
    "staff_attitude": _("Staff attitude"),
    "waiting_time": _("Waiting time"),
    "website_app": _("Website or app"),
    "policy": _("Policy"),
    "other": _("Other"),
}


class CaseNoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Mention a colleague with @ and their username or email."),
    )


def _words(value: str) -> list[str]:
    return [word.strip() for word in value.replace("，", ",").split(",") if word.strip()]


class AlertRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    # Conditions
    score_kind = forms.ChoiceField(
        label=_("Score kind"),
        required=False,
        choices=[("", "–"), ("nps", "NPS"), ("csat", "CSAT"), ("ces", "CES"), ("rating", _("Rating"))],
    )
    score_min = forms.IntegerField(label=_("Score at least"), required=False, min_value=0, max_value=10)
    score_max = forms.IntegerField(label=_("Score at most"), required=False, min_value=0, max_value=10)
    score_drop = forms.IntegerField(
        label=_("Score dropped by at least"),
        required=False,
        min_value=1,
        max_value=10,
        help_text=_("Against the customer's previous score of the same kind."),
    )
    sentiments = forms.MultipleChoiceField(
        label=_("Comment sentiment"),
        required=False,
        choices=SentimentLabel.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Waits for the comment's text analysis; skipped when text analytics is not set up."),
    )
    themes = forms.CharField(label=_("Themes"), required=False, help_text=_("Separated by commas."))
    keywords = forms.CharField(
        label=_("Keywords in the comment"), required=False, help_text=_("Separated by commas; any one.")
    )
    survey_ids = forms.TypedMultipleChoiceField(label=_("Surveys"), required=False, coerce=int)
    touchpoint_ids = forms.TypedMultipleChoiceField(label=_("Touchpoints"), required=False, coerce=int)
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        required=False,
        choices=ResponseChannel.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    property_name = forms.CharField(label=_("Customer property"), required=False, max_length=100)
    property_value = forms.CharField(label=_("equals"), required=False, max_length=200)
    value_tiers = forms.MultipleChoiceField(
        label=_("Value tiers"),
        required=False,
        choices=[("high", _("High")), ("medium", _("Medium")), ("low", _("Low"))],
        widget=forms.CheckboxSelectMultiple,
    )
    min_predicted_value = forms.DecimalField(
        label=_("Predicted value at least"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    # Actions
    open_case = forms.BooleanField(label=_("Open a case"), required=False, initial=True)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    team = forms.TypedChoiceField(label=_("Team (round-robin)"), required=False, coerce=int, empty_value=None)
    notify_users = forms.TypedMultipleChoiceField(
        label=_("Notify"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    call_webhook = forms.BooleanField(label=_("Send an alert.matched webhook"), required=False)
    send_follow_up = forms.BooleanField(
        label=_("Ask the customer “did we solve it?” after closing"), required=False
    )
    follow_up_survey = forms.TypedChoiceField(
        label=_("Follow-up survey"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("None chosen: a one-question “Did we solve it?” survey."),
    )

    # The rule's conditions with one form field each (the customer property is a pair of fields).
    CONDITION_FIELDS = tuple(key for key in rules.CONDITION_KEYS if key != "customer_property")

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        surveys = [(s.pk, s.name) for s in Survey.objects.for_organization(organization).order_by("name")]
        self.fields["survey_ids"].choices = surveys  # type: ignore[attr-defined]
        self.fields["follow_up_survey"].choices = [("", "–"), *surveys]  # type: ignore[attr-defined]
        self.fields["touchpoint_ids"].choices = [  # type: ignore[attr-defined]
            (t.pk, t.name) for t in Touchpoint.objects.for_organization(organization).order_by("name")
        ]
        self.fields["team"].choices = [("", "–")] + [  # type: ignore[attr-defined]
            (t.pk, t.name) for t in Team.objects.for_organization(organization).order_by("name")
        ]
        self.fields["notify_users"].choices = member_choices(organization)  # type: ignore[attr-defined]
        self.fields["min_predicted_value"].help_text = _("In %(currency)s") % {
            "currency": organization.currency
        }

    @classmethod
    def initial_for(cls, rule: Any) -> dict[str, Any]:
        c = dict(rule.conditions or {})
        prop = c.pop("customer_property", None) or {}
        initial = {key: value for key, value in c.items() if key not in ("themes", "keywords")}
        initial.update(
            themes=", ".join(c.get("themes", [])),
            keywords=", ".join(c.get("keywords", [])),
            property_name=prop.get("name", ""),
            property_value=prop.get("value", ""),
            name=rule.name,
            is_active=rule.is_active,
            open_case=rule.open_case,
            priority=rule.priority,
            team=rule.team_id,
            notify_users=[u.pk for u in rule.notify_users.all()],
            call_webhook=rule.call_webhook,
            send_follow_up=rule.send_follow_up,
            follow_up_survey=rule.follow_up_survey_id,
        )
        return initial

    def rule_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        conditions: dict[str, Any] = {}
        for key in self.CONDITION_FIELDS:
            value = data.get(key)
            if key in ("themes", "keywords"):
                value = _words(value or "")
            if value not in (None, "", []):
                conditions[key] = str(value) if key == "min_predicted_value" else value
        if data.get("property_name"):
            conditions["customer_property"] = {
                "name": data["property_name"],
                "value": data.get("property_value", ""),
            }
        team = Team.objects.for_organization(self.organization).filter(pk=data.get("team") or 0).first()
        survey = (
            Survey.objects.for_organization(self.organization)
            .filter(pk=data.get("follow_up_survey") or 0)
            .first()
        )
        return {
            "name": data["name"],
            "is_active": data["is_active"],
            "conditions": conditions,
            "open_case": data["open_case"],
            "priority": data["priority"],
            "team": team,
            "notify_users": list(User.objects.filter(pk__in=data.get("notify_users") or [])),
            "call_webhook": data["call_webhook"],
            "send_follow_up": data["send_follow_up"],
            "follow_up_survey": survey,
        }

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for key, messages in errors.items():
            target = key if key in self.fields else ("property_name" if key == "customer_property" else None)
            for message in messages:
                self.add_error(target, message)


WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class CaseSettingsForm(forms.Form):
    """The SLA hours per priority (business hours), the working calendar and the root causes."""

    sla_urgent = forms.DecimalField(
        label=_("Urgent: hours"), min_value=0.25, max_value=10_000, decimal_places=2
    )
    sla_high = forms.DecimalField(label=_("High: hours"), min_value=0.25, max_value=10_000, decimal_places=2)
    sla_normal = forms.DecimalField(
        label=_("Normal: hours"), min_value=0.25, max_value=10_000, decimal_places=2
    )
    sla_low = forms.DecimalField(label=_("Low: hours"), min_value=0.25, max_value=10_000, decimal_places=2)
    working_days = forms.TypedMultipleChoiceField(
        label=_("Working days"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    work_start = forms.TimeField(
        label=_("Working hours from"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    work_end = forms.TimeField(label=_("to"), widget=forms.TimeInput(attrs={"type": "time"}))
    holidays = forms.CharField(
        label=_("Holidays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One date a line (YYYY-MM-DD)."),
    )
    root_causes = forms.CharField(
        label=_("Root causes"), widget=forms.Textarea(attrs={"rows": 6}), help_text=_("One a line.")
    )

    @classmethod
    def initial_for(cls, found: dict[str, Any]) -> dict[str, Any]:
        return {
            **{f"sla_{key}": value for key, value in found["sla_hours"].items()},
            "working_days": found["working_days"],
            "work_start": found["work_start"],
            "work_end": found["work_end"],
            "holidays": "\n".join(found["holidays"]),
            "root_causes": "\n".join(found["root_causes"]),
        }

    def settings_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "sla_hours": {key: float(data[f"sla_{key}"]) for key in ("urgent", "high", "normal", "low")},
            "working_days": data["working_days"],
            "work_start": data["work_start"].strftime("%H:%M"),
            "work_end": data["work_end"].strftime("%H:%M"),
            "holidays": [line.strip() for line in data["holidays"].splitlines() if line.strip()],
            "root_causes": [line.strip() for line in data["root_causes"].splitlines() if line.strip()],
        }

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for key, messages in errors.items():
            target = "sla_urgent" if key == "sla_hours" else (key if key in self.fields else None)
            for message in messages:
                self.add_error(target, message)
