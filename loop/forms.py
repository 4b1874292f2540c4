from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .serializers import SUBSCRIBABLE
from .webhooks.addresses import AddressRefused, resolve


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label=_("URL"), max_length=2000, assume_scheme="https")
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(value, value) for value in SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: every event."),
    )

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            resolve(url)
        except AddressRefused as exc:
            raise forms.ValidationError(str(exc))
        return url

    def endpoint_fields(self) -> dict[str, Any]:
        return {
            "url": self.cleaned_data["url"],
            "description": self.cleaned_data["description"],
            "events": self.cleaned_data["events"],
        }
