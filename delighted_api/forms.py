from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from surveys.models import Survey

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ConfigurationForm(forms.Form):
    survey = forms.ModelChoiceField(
        label=_("Survey the API answers for"),
        queryset=Survey.objects.none(),
        required=False,
        empty_label=_("The newest active NPS survey"),
        help_text=_("New people are invited to it, and responses and metrics are read from it."),
    )
    autopilot_interval_days = forms.IntegerField(
        label=_("Autopilot interval (days)"),
        min_value=1,
        max_value=3650,
        help_text=_("A person in autopilot is asked again after this many days (fatigue rules still apply)."),
    )

    def __init__(self, *args: Any, surveys: list[Survey], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["survey"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Survey.objects.unscoped().filter(
            pk__in=[s.pk for s in surveys]
        )  # already the organization's


class ImportForm(forms.Form):
    survey = forms.ModelChoiceField(label=_("Import into survey"), queryset=Survey.objects.none())
    kind = forms.ChoiceField(
        label=_("The file holds"),
        choices=[
            ("auto", _("People or responses (rows with a score are responses)")),
            ("people", _("People")),
            ("responses", _("Responses")),
        ],
    )
    file = forms.FileField(
        label=_("Delighted export (CSV, or JSON lines of survey_responses pages)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.jsonl,.ndjson,.json"}),
    )

    def __init__(self, *args: Any, surveys: list[Survey], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["survey"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Survey.objects.unscoped().filter(pk__in=[s.pk for s in surveys])

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is over 20 MB."))
        return upload
