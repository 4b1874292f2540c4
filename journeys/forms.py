from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cxm.core.widgets import IsoDateInput
from cxm.tenancy.models import Organization

from .imports import import_kind_choices
from .models import Channel, Stage


class JourneyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class StageForm(forms.Form):
    name = forms.CharField(label=_("Stage name"), max_length=200)


class TouchpointForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    key = forms.SlugField(
        label=_("Key"), max_length=100, help_text=_("Stable id used by the API, imports and surveys.")
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none(), required=False)
    owner = forms.CharField(label=_("Owner"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = (  # type: ignore[attr-defined]
            Stage.objects.for_organization(organization)
            .select_related("journey")
            .order_by("journey__name", "position")
        )
        self.fields["stage"].label_from_instance = lambda s: f"{s.journey.name} › {s.name}"  # type: ignore[attr-defined]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=import_kind_choices)
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, comma-separated, with a header row."))
    skip_bad_rows = forms.BooleanField(
        label=_("Skip bad rows (otherwise nothing is imported when a row is bad)"), required=False
    )


class CustomerFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    city = forms.CharField(label=_("City"), required=False)
    gender = forms.CharField(label=_("Gender"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("All")),
            ("subscribed", _("Subscribed")),
            ("unsubscribed", _("Unsubscribed")),
            ("erased", _("Erased")),
        ],
    )
    seen_after = forms.DateField(label=_("Seen since"), required=False, widget=IsoDateInput())


PERIOD_CHOICES = [("30", _("Last 30 days")), ("90", _("Last 90 days")), ("365", _("Last 12 months"))]


class MapFilterForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All channels")), *Channel.choices]
    )
    days = forms.ChoiceField(label=_("Period"), required=False, choices=PERIOD_CHOICES)


class DateRangeForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=IsoDateInput())
    end = forms.DateField(label=_("To"), required=False, widget=IsoDateInput())


class ExchangeRateForm(forms.Form):
    currency = forms.RegexField(
        label=_("Currency"), regex=r"^[A-Za-z]{3}$", max_length=3, help_text=_("ISO 4217 code, e.g. USD.")
    )
    effective_from = forms.DateField(
        label=_("Effective from"), widget=IsoDateInput(), help_text=_("A local day.")
    )
    rate = forms.DecimalField(
        label=_("Rate"),
        max_digits=20,
        decimal_places=10,
        min_value=Decimal("0.0000000001"),
        help_text=_("Units of the organization's currency per one unit of this currency."),
    )
