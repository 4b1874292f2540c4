from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cxm.tenancy.roles import Role


class SsoSettingsForm(forms.Form):
    enabled = forms.BooleanField(label=_("Turn single sign-on on"), required=False)
    issuer = forms.URLField(
        label=_("Issuer URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Its discovery document is read from <issuer>/.well-known/openid-configuration."),
    )
    client_id = forms.CharField(label=_("Client ID"), max_length=255)
    client_secret = forms.CharField(
        label=_("Client secret"),
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted and never shown again; leave empty to keep the current one."),
    )
    default_role = forms.ChoiceField(
        label=_("Role of new members"),
        choices=[c for c in Role.choices if c[0] != Role.OWNER],
        initial=Role.VIEWER,
    )
    allowed_domains = forms.CharField(
        label=_("Allowed email domains"),
        required=False,
        max_length=1000,
        help_text=_(
            "For example acme.com, acme.cn: everyone with an address there may join. Empty: anyone the provider signs in."
        ),
    )
    password_login_disabled = forms.BooleanField(
        label=_("Turn password login off for this organization's members"), required=False
    )

    def clean_allowed_domains(self) -> list[str]:
        raw = self.cleaned_data.get("allowed_domains") or ""
        domains = [d.strip().lower().lstrip("@") for d in raw.replace("\n", ",").split(",") if d.strip()]
        for domain in domains:
            if "." not in domain or " " in domain or "/" in domain:
                raise forms.ValidationError(_("%(domain)s is not a domain name.") % {"domain": domain})
        return domains


class SsoStartForm(forms.Form):
    organization = forms.SlugField(label=_("Organization"), max_length=64)
