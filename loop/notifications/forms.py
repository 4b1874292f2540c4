from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ..models import SIGNED_CHANNEL_KINDS, ChannelKind, NotificationChannel, NotificationKind
from ..webhooks.addresses import AddressRefused, resolve


class NotificationPreferenceForm(forms.Form):
    email_kinds = forms.MultipleChoiceField(
        label=_("Email me about"),
        choices=NotificationKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Every notification is in your inbox; the ticked kinds also come by email."),
    )
    digest_daily = forms.BooleanField(label=_("Daily digest email"), required=False)
    digest_weekly = forms.BooleanField(label=_("Weekly digest email"), required=False)


class NotificationChannelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Service"), choices=ChannelKind.choices)
    webhook_url = forms.URLField(label=_("Webhook URL"), max_length=2000, assume_scheme="https")
    secret = forms.CharField(
        label=_("Signing secret"),
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("DingTalk (SEC…) and Feishu only. Leave empty to keep the current one."),
    )
    language = forms.ChoiceField(label=_("Language of the messages"), choices=settings.LANGUAGES)
    kinds = forms.MultipleChoiceField(
        label=_("Notifications"),
        choices=NotificationKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: every kind."),
    )

    def __init__(self, *args: Any, instance: NotificationChannel | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "kind": instance.kind,
                "webhook_url": instance.webhook_url,
                "language": instance.language,
                "kinds": instance.kinds,
            }
        super().__init__(*args, **kwargs)

    def clean_webhook_url(self) -> str:
        url: str = self.cleaned_data["webhook_url"]
        try:
            resolve(url)
        except AddressRefused as exc:
            raise forms.ValidationError(str(exc))
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("secret") and data.get("kind") not in SIGNED_CHANNEL_KINDS:
            self.add_error("secret", _("Only DingTalk and Feishu robots use a signing secret."))
        return data

    def channel_fields(self) -> dict[str, Any]:
        fields = {
            "name": self.cleaned_data["name"],
            "kind": self.cleaned_data["kind"],
            "webhook_url": self.cleaned_data["webhook_url"],
            "language": self.cleaned_data["language"],
            "kinds": self.cleaned_data["kinds"],
        }
        if self.cleaned_data.get("secret"):
            fields["secret"] = self.cleaned_data["secret"]
        elif self.instance is not None and fields["kind"] not in SIGNED_CHANNEL_KINDS:
            fields["secret"] = ""
        return fields
