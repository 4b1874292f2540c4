from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .models import Organization
from .roles import Role


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Email or username"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            # The password was right, but the member's organization signs in with its provider.
            if getattr(self.request, "password_login_refused", False):
                raise forms.ValidationError(
                    _("Your organization signs in with single sign-on. Use its sign-in link below."),
                    code="password_login_off",
                )
            raise


def _time_zone_choices() -> list[tuple[str, str]]:
    import zoneinfo

    return [
        (tz, tz.replace("_", " "))
        for tz in sorted(zoneinfo.available_timezones())
        if "/" in tz or tz == "UTC"
    ]


class OrganizationSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_time_zone_choices)
    currency = forms.RegexField(
        label=_("Currency"),
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        help_text=_("ISO 4217 code every money figure is shown in; other currencies need exchange rates."),
    )
    survey_fatigue_days = forms.IntegerField(label=_("Survey fatigue (days)"), min_value=0, max_value=365)
    activity_window_days = forms.IntegerField(label=_("Activity window (days)"), min_value=1, max_value=3650)
    churn_window_days = forms.IntegerField(label=_("Churn window (days)"), min_value=1, max_value=3650)
    new_customer_days = forms.IntegerField(label=_("New customer window (days)"), min_value=1, max_value=365)
    monetized_nps_days = forms.IntegerField(
        label=_("Monetized NPS window (days)"), min_value=1, max_value=3650
    )
    at_risk_p_alive = forms.FloatField(label=_("At-risk P(alive) threshold"), min_value=0, max_value=1)

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).upper()

    setting_fields = (
        "survey_fatigue_days",
        "activity_window_days",
        "churn_window_days",
        "new_customer_days",
        "monetized_nps_days",
        "at_risk_p_alive",
    )

    class Meta:
        model = Organization
        fields = ["name", "time_zone", "default_language", "currency"]


class InviteMemberForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    read_only = forms.BooleanField(label=_("Read-only"), required=False)


class AcceptInvitationForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150, required=False)
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), min_length=8
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False)
