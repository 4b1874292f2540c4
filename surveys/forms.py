from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cxm.core.widgets import IsoDateInput
from journeys.models import Customer, Touchpoint

from .models import CSAT_SCALES, Question, QuestionKind, ResponseChannel, Survey

LANGUAGE_CHOICES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]


def clean_origins(values: list[str]) -> list[str]:
    """Origins as scheme://host[:port], lower-cased, without a path; "*" allows any site."""
    clean = []
    for raw in values:
        value = raw.strip().rstrip("/")
        if not value:
            continue
        if value == "*":
            clean.append(value)
            continue
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise ValidationError(
                _("%(value)s is not an origin like https://shop.example.com") % {"value": value}
            )
        clean.append(f"{parts.scheme}://{parts.netloc}".lower())
    return list(dict.fromkeys(clean))


class SurveyForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        label=_("Languages"), choices=LANGUAGE_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    default_language = forms.ChoiceField(label=_("Default language"), choices=LANGUAGE_CHOICES)
    allowed_origins_text = forms.CharField(
        label=_("Allowed embedding origins"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, e.g. https://shop.example.com. The widget posts only from these sites."),
    )
    thank_you_en = forms.CharField(label=_("Thank-you message (English)"), required=False, max_length=500)
    thank_you_zh = forms.CharField(label=_("Thank-you message (Chinese)"), required=False, max_length=500)

    class Meta:
        model = Survey
        fields = ["name", "touchpoint", "fatigue_days"]
        help_texts = {"fatigue_days": _("Leave empty to use the organization's setting.")}
        labels = {"touchpoint": _("Touchpoint")}

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["touchpoint"].queryset = Touchpoint.objects.for_organization(organization)  # type: ignore[attr-defined]
        instance = self.instance
        if instance.pk:
            self.initial.setdefault("languages", instance.languages)
            self.initial.setdefault("default_language", instance.default_language)
            self.initial.setdefault("allowed_origins_text", "\n".join(instance.allowed_origins))
            self.initial.setdefault("thank_you_en", instance.thank_you.get("en", ""))
            self.initial.setdefault("thank_you_zh", instance.thank_you.get("zh-hans", ""))
        else:
            self.initial.setdefault("languages", ["en", "zh-hans"])

    def clean_allowed_origins_text(self) -> list[str]:
        return clean_origins(self.cleaned_data["allowed_origins_text"].splitlines())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("languages") and data.get("default_language") not in data["languages"]:
            self.add_error(
                "default_language", _("The default language must be one of the survey's languages.")
            )
        return data

    def survey_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "touchpoint": data.get("touchpoint"),
            "fatigue_days": data.get("fatigue_days"),
            "languages": data["languages"],
            "default_language": data["default_language"],
            "allowed_origins": data["allowed_origins_text"],
            "thank_you": {
                k: v for k, v in (("en", data["thank_you_en"]), ("zh-hans", data["thank_you_zh"])) if v
            },
        }


CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)


class OptionForm(forms.Form):
    """One answer option of a choice question: the stored value and its label in each language."""

    value = forms.CharField(
        label=_("Value"),
        required=False,
        max_length=64,
        help_text=_("Stored with each answer and in exports."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    label_en = forms.CharField(label=_("English label"), required=False, max_length=200)
    label_zh = forms.CharField(label=_("Chinese label"), required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            not data.get("DELETE")
            and not data.get("value")
            and (data.get("label_en") or data.get("label_zh"))
        ):
            self.add_error("value", _("Give this option a value."))
        return data

    def option(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data or data.get("DELETE") or not data.get("value"):
            return None
        label = {"en": data.get("label_en") or data["value"]}
        if data.get("label_zh"):
            label["zh-hans"] = data["label_zh"]
        return {"value": data["value"], "label": label}


class BaseOptionFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        values = [o["value"] for o in self.options()]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise forms.ValidationError(
                _("Each option needs its own value: %(values)s used twice.")
                % {"values": ", ".join(duplicates)}
            )

    def options(self) -> list[dict[str, Any]]:
        """The options in the order of the rows; empty and removed rows are left out."""
        return [o for o in (form.option() for form in self.forms) if o is not None]


# formset_factory() is typed as returning the plain BaseFormSet; this one is a BaseOptionFormSet.
OptionFormSet = cast(
    type[BaseOptionFormSet],
    forms.formset_factory(OptionForm, formset=BaseOptionFormSet, extra=2, can_delete=True, max_num=50),
)


def option_initial(question: Question | None) -> list[dict[str, Any]]:
    return [
        {
            "value": str(o.get("value", "")),
            "label_en": (o.get("label") or {}).get("en", ""),
            "label_zh": (o.get("label") or {}).get("zh-hans", ""),
        }
        for o in (question.options if question is not None else [])
    ]


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=QuestionKind.choices)
    text_en = forms.CharField(label=_("Question (English)"), required=False, max_length=500)
    text_zh = forms.CharField(label=_("Question (Chinese)"), required=False, max_length=500)
    required = forms.BooleanField(label=_("Required"), required=False)
    scale_max = forms.TypedChoiceField(
        label=_("CSAT scale"),
        choices=[("", "—")] + [(str(n), f"1–{n}") for n in CSAT_SCALES],
        coerce=int,
        empty_value=None,
        required=False,
    )
    show_if_question = forms.TypedChoiceField(
        label=_("Show only when the answer to"), required=False, coerce=int, empty_value=None
    )
    show_if_min = forms.IntegerField(label=_("is at least"), required=False)
    show_if_max = forms.IntegerField(label=_("and at most"), required=False)

    def __init__(self, *args: Any, survey: Survey, question: Question | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scored = [
            q
            for q in survey.questions.all()
            if q.score_range() is not None and (question is None or q.id != question.id)
        ]
        self.fields["show_if_question"].choices = [("", _("(always shown)"))] + [  # type: ignore[attr-defined]
            (str(q.id), f"{q.position + 1}. {q}") for q in scored
        ]
        if question is not None:
            self.initial.update(
                {
                    "kind": question.kind,
                    "text_en": question.text.get("en", ""),
                    "text_zh": question.text.get("zh-hans", ""),
                    "required": question.required,
                    "scale_max": question.scale_max,
                    "show_if_question": question.show_if.get("question"),
                    "show_if_min": question.show_if.get("min"),
                    "show_if_max": question.show_if.get("max"),
                }
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("text_en") or data.get("text_zh")):
            self.add_error("text_en", _("Give the question's text in at least one language."))
        if data.get("show_if_question") and (
            data.get("show_if_min") is None or data.get("show_if_max") is None
        ):
            self.add_error("show_if_min", _("Give the range of answers that shows this question."))
        return data

    def question_fields(self, *, options: list[dict[str, Any]]) -> dict[str, Any]:
        data = self.cleaned_data
        show_if = {}
        if data.get("show_if_question"):
            show_if = {
                "question": data["show_if_question"],
                "min": data["show_if_min"],
                "max": data["show_if_max"],
            }
        return {
            "kind": data["kind"],
            "text": {k: v for k, v in (("en", data.get("text_en")), ("zh-hans", data.get("text_zh"))) if v},
            "required": data.get("required", False),
            "options": options if data["kind"] in CHOICE_KINDS else [],
            "show_if": show_if,
            "scale_max": data.get("scale_max") if data["kind"] == QuestionKind.CSAT else None,
        }


class ResponseFilterForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=IsoDateInput())
    end = forms.DateField(label=_("To"), required=False, widget=IsoDateInput())
    survey = forms.ModelChoiceField(label=_("Survey"), queryset=Survey.objects.none(), required=False)
    touchpoint = forms.ModelChoiceField(
        label=_("Touchpoint"), queryset=Touchpoint.objects.none(), required=False
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", "—"), *ResponseChannel.choices], required=False
    )
    score_band = forms.ChoiceField(
        label=_("Score band"),
        required=False,
        choices=[
            ("", "—"),
            ("promoter", _("Promoters (9–10)")),
            ("passive", _("Passives (7–8)")),
            ("detractor", _("Detractors (0–6)")),
            ("high", _("CSAT/CES high")),
            ("low", _("CSAT/CES low")),
        ],
    )
    has_comment = forms.TypedChoiceField(
        label=_("Comment"),
        required=False,
        choices=[("", "—"), ("1", _("With comment")), ("0", _("Without comment"))],
        coerce=lambda v: v == "1",
        empty_value=None,
    )
    language = forms.ChoiceField(label=_("Language"), choices=[("", "—"), *LANGUAGE_CHOICES], required=False)

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = Survey.objects.for_organization(organization)  # type: ignore[attr-defined]
        self.fields["touchpoint"].queryset = Touchpoint.objects.for_organization(organization)  # type: ignore[attr-defined]

    def filters(self, tz: Any) -> dict[str, Any]:
        import datetime as dt

        if not self.is_valid():
            return {}
        data = dict(self.cleaned_data)
        if data.get("start"):
            data["start"] = dt.datetime.combine(data["start"], dt.time.min, tzinfo=tz)
        if data.get("end"):
            data["end"] = dt.datetime.combine(data["end"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return data


class CustomerPickerForm(forms.Form):
    """The share page's customer search: text (external id, name, email) and a metrics segment."""

    q = forms.CharField(
        label=_("Search customers"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("External id, name or email")}),
    )
    segment = forms.ChoiceField(label=_("Segment"), required=False)

    def __init__(self, *args: Any, segment_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", _("All customers")), *segment_choices]  # type: ignore[attr-defined]


class InviteForm(forms.Form):
    customers = forms.ModelMultipleChoiceField(
        label=_("Customers"),
        queryset=Touchpoint.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    everyone_matching = forms.BooleanField(label=_("Every customer matching the search"), required=False)
    external_ids = forms.CharField(
        label=_("Or paste customer ids"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("External ids, one per line or separated by commas."),
    )
    language = forms.ChoiceField(label=_("Email language"), choices=LANGUAGE_CHOICES)

    def __init__(
        self, *args: Any, organization: Any, customer_queryset: Any, matching_queryset: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customers"].queryset = customer_queryset  # type: ignore[attr-defined]
        self.organization = organization
        self.matching_queryset = matching_queryset
        self.found: dict[int, Any] = {}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        raw = (data.get("external_ids") or "").replace(",", "\n")
        ids = list(dict.fromkeys(x.strip() for x in raw.splitlines() if x.strip()))
        found = {
            c.external_id: c
            for c in Customer.objects.for_organization(self.organization).filter(external_id__in=ids)
        }
        missing = [x for x in ids if x not in found]
        if missing:
            # Every pasted id is accounted for: a typo is shown, never dropped without a word.
            self.add_error(
                "external_ids",
                ngettext(
                    "%(count)d id not found: %(ids)s",
                    "%(count)d ids not found: %(ids)s",
                    len(missing),
                )
                % {"count": len(missing), "ids": ", ".join(missing)},
            )
        chosen = {c.id: c for c in data.get("customers") or []}
        chosen.update({c.id: c for c in found.values()})
        if data.get("everyone_matching"):
            chosen.update({c.id: c for c in self.matching_queryset})
        if not chosen and not missing:
            raise forms.ValidationError(_("Choose at least one customer."))
        self.found = chosen
        return data

    def chosen(self) -> list[Any]:
        return list(self.found.values())


class QrForm(forms.Form):
    touchpoint = forms.ModelChoiceField(
        label=_("Touchpoint"), queryset=Touchpoint.objects.none(), required=False, to_field_name="key"
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=ResponseChannel.choices, initial=ResponseChannel.QR
    )

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["touchpoint"].queryset = Touchpoint.objects.for_organization(organization)  # type: ignore[attr-defined]
