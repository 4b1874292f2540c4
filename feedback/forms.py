"""The comment explorer's filters and the correction form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from journeys.models import Channel

from .models import SURVEY_SOURCE, FeedbackChannel, SentimentLabel

SCORE_BAND_CHOICES = [
    ("", _("All")),
    ("detractor", _("Detractors (0–6)")),
    ("passive", _("Passives (7–8)")),
    ("promoter", _("Promoters (9–10)")),
]


def _theme_choices(taxonomy: Any) -> list[tuple[str, str]]:
    chinese = (get_language() or "").startswith("zh")
    return [(t.key, t.name_zh if chinese else t.name_en) for t in taxonomy.themes]


class ExplorerForm(forms.Form):
    """The explorer's query string: every field optional, a bad value is a form error, never a 500."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    theme = forms.ChoiceField(label=_("Theme"), required=False)
    sentiment = forms.ChoiceField(
        label=_("Sentiment"), required=False, choices=[("", _("All")), *SentimentLabel.choices]
    )
    score_band = forms.ChoiceField(label=_("Score"), required=False, choices=SCORE_BAND_CHOICES)
    touchpoint = forms.TypedChoiceField(label=_("Touchpoint"), required=False, coerce=int, empty_value=None)
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All")), *Channel.choices]
    )
    source = forms.ChoiceField(label=_("Source"), required=False)
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(
        self,
        *args: Any,
        taxonomy: Any,
        touchpoints: list[dict[str, Any]],
        segment_choices: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # The dashboards' customer segments (RFM segment, value tier, lifecycle stage), as elsewhere.
        self.fields["segment"].choices = [("", _("All customers")), *segment_choices]  # type: ignore[attr-defined]
        self.fields["theme"].choices = [("", _("All")), *_theme_choices(taxonomy)]  # type: ignore[attr-defined]
        self.fields["touchpoint"].choices = [  # type: ignore[attr-defined]
            ("", _("All")),
            *((t["id"], t["name"]) for t in touchpoints),
        ]
        self.fields["source"].choices = [  # type: ignore[attr-defined]
            ("", _("All")),
            (SURVEY_SOURCE, _("Survey responses")),
            *FeedbackChannel.choices,
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("The end date is before the start date."))
        return data


class CorrectionForm(forms.Form):
    """A manager's correction of one comment: its sentiment and, when changed, its themes."""

    answer = forms.IntegerField(required=False, min_value=1)
    feedback = forms.CharField(required=False, max_length=200)
    sentiment = forms.ChoiceField(choices=[("", _("Unchanged")), *SentimentLabel.choices], required=False)
    themes = forms.MultipleChoiceField(required=False)
    themes_before = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, taxonomy: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["themes"].choices = _theme_choices(taxonomy)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("answer") and not data.get("feedback"):
            raise forms.ValidationError(_("Say which comment to correct."))
        return data

    def themes_changed(self) -> list[str] | None:
        """The chosen themes when they differ from those shown, else None (the themes stay)."""
        chosen = sorted(set(self.cleaned_data.get("themes") or []))
        before = sorted({t for t in (self.cleaned_data.get("themes_before") or "").split(",") if t})
        return chosen if chosen != before else None
