from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cxm.api.limits import MAX_ID
from journeys.models import Touchpoint

from .collection.fields import SUBMISSION_FIELDS, SubmissionField
from .forms import clean_origins
from .models import Invitation, Question, QuestionKind, Response, ResponseChannel, Survey, SurveyStatus

LanguageText = serializers.DictField(child=serializers.CharField(allow_blank=True))


class QuestionSerializer(serializers.ModelSerializer):
    survey = serializers.PrimaryKeyRelatedField(queryset=Survey.objects.none())
    text = serializers.DictField(child=serializers.CharField(allow_blank=True))
    options = serializers.ListField(child=serializers.DictField(), required=False)
    show_if = serializers.DictField(required=False)

    class Meta:
        model = Question
        fields = ["id", "survey", "position", "kind", "text", "required", "options", "show_if", "scale_max"]
        read_only_fields = ["id"]
        extra_kwargs = {"position": {"required": False}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organization = self.context.get("organization")
        if organization is not None:
            self.fields["survey"].queryset = Survey.objects.for_organization(organization)  # type: ignore[attr-defined]
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            self.fields["survey"].read_only = True

    def validate_text(self, value: dict[str, str]) -> dict[str, str]:
        if not any(v.strip() for v in value.values()):
            raise serializers.ValidationError("Give the question's text in at least one language.")
        return value


class QuestionInlineSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = ["id", "position", "kind", "text", "required", "options", "show_if", "scale_max"]
        read_only_fields = fields


class SurveySerializer(serializers.ModelSerializer):
    touchpoint = serializers.SlugRelatedField(
        slug_field="key", queryset=Survey.objects.none(), required=False, allow_null=True
    )
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=["en", "zh-hans"]), required=False
    )
    allowed_origins = serializers.ListField(child=serializers.CharField(max_length=300), required=False)
    thank_you = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    questions = QuestionInlineSerializer(many=True, read_only=True)
    template = serializers.ChoiceField(
        choices=["nps", "csat", "ces"], write_only=True, required=False, help_text="Create from a template."
    )

    class Meta:
        model = Survey
        fields = [
            "id",
            "public_id",
            "name",
            "status",
            "languages",
            "default_language",
            "touchpoint",
            "allowed_origins",
            "thank_you",
            "fatigue_days",
            "questions",
            "template",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "public_id", "status", "questions", "created_at", "updated_at"]
        extra_kwargs = {"name": {"required": False}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organization = self.context.get("organization")
        self.fields["touchpoint"].queryset = (  # type: ignore[attr-defined]
            Touchpoint.objects.for_organization(organization) if organization else Touchpoint.objects.none()
        )

    def validate_allowed_origins(self, value: list[str]) -> list[str]:
        return clean_origins(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and not attrs.get("name") and not attrs.get("template"):
            raise serializers.ValidationError({"name": ["This field is required."]})
        languages = attrs.get("languages", getattr(self.instance, "languages", None) or ["en", "zh-hans"])
        default = attrs.get("default_language", getattr(self.instance, "default_language", "en"))
        if default not in languages:
            raise serializers.ValidationError(
                {"default_language": ["Must be one of the survey's languages."]}
            )
        return attrs


class QuestionReorderSerializer(serializers.Serializer):
    order = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID))


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "object"}]})
class CustomerReferenceField(serializers.JSONField):
    """An external id, or {"id", "email", "name", "properties"}."""


@extend_schema_field(
    {
        "oneOf": [
            {"type": "object", "additionalProperties": True, "description": "{question id: value}"},
            {"type": "array", "items": {"type": "object"}, "description": '[{"question": id, "value": …}]'},
        ]
    }
)
class AnswersField(serializers.JSONField):
    """The answers: {question id: value} or [{"question": id, "value": value}]."""


def submission_field(spec: SubmissionField) -> serializers.Field:
    """The serializer field of one entry of the submission's field table."""
    if spec.kind == "answers":
        return AnswersField(required=spec.required)
    if spec.kind == "customer":
        return CustomerReferenceField(required=spec.required, allow_null=spec.nullable)
    if spec.kind == "string":
        return serializers.CharField(
            required=spec.required, allow_blank=True, allow_null=spec.nullable, max_length=spec.max_length
        )
    if spec.kind == "choice":
        return serializers.ChoiceField(choices=ResponseChannel.choices, required=spec.required)
    if spec.kind == "object":
        return serializers.DictField(required=spec.required)
    raise ValueError(f"unknown submission field kind {spec.kind!r}")


class SubmissionSerializer(serializers.Serializer):
    """A submission envelope: its fields are `surveys.collection.fields.SUBMISSION_FIELDS`."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            **{spec.name: submission_field(spec) for spec in SUBMISSION_FIELDS},
            **super().get_fields(),
        }


class IntegratorSubmissionSerializer(SubmissionSerializer):
    survey = serializers.CharField(help_text="The survey's public id (or its numeric id).")
    submitted_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=(
            "When the customer answered (ISO 8601 with offset), for importing history; not before 2000 "
            "and not in the future. Default: now. A paused or closed survey accepts historical answers."
        ),
    )


class SubmitResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    survey = serializers.CharField()
    idempotency_key = serializers.CharField()
    created = serializers.BooleanField()
    score_kind = serializers.CharField()
    score = serializers.IntegerField(allow_null=True)
    comment = serializers.CharField()
    answers = serializers.DictField()


class PublicQuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=QuestionKind.choices)
    text = serializers.CharField()
    # The stubs take this for `Field.required`; the serializer's metaclass moves declared fields off the class.
    required = serializers.BooleanField()  # type: ignore[assignment]
    min = serializers.IntegerField(allow_null=True)
    max = serializers.IntegerField(allow_null=True)
    labels = serializers.ListField(child=serializers.CharField())
    options = serializers.ListField(child=serializers.DictField())
    show_if = serializers.DictField(allow_null=True)


class PublicSurveySerializer(serializers.Serializer):
    id = serializers.CharField()
    show = serializers.BooleanField()
    reason = serializers.CharField()
    language = serializers.CharField()
    status = serializers.ChoiceField(choices=SurveyStatus.choices)
    fatigue_days = serializers.IntegerField()
    questions = PublicQuestionSerializer(many=True)
    thank_you = serializers.CharField()
    strings = serializers.DictField(child=serializers.CharField())


class AnswerOutSerializer(serializers.Serializer):
    question = serializers.IntegerField(source="question_id")
    number = serializers.IntegerField(allow_null=True)
    text = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())


class ResponseSerializer(serializers.ModelSerializer):
    survey = serializers.CharField(source="survey.public_id", read_only=True)
    touchpoint = serializers.CharField(source="touchpoint.key", read_only=True, allow_null=True, default=None)
    customer = serializers.CharField(
        source="customer.external_id", read_only=True, allow_null=True, default=None
    )
    answers = AnswerOutSerializer(many=True, read_only=True)
    sentiment = serializers.SerializerMethodField(
        help_text="The comment's analysed sentiment (negative, neutral or positive), null until analysed"
    )
    themes = serializers.SerializerMethodField(
        help_text="Themes found in the comment, each with its sentiment"
    )

    class Meta:
        model = Response
        fields = [
            "id",
            "survey",
            "customer",
            "touchpoint",
            "channel",
            "locale",
            "page_url",
            "idempotency_key",
            "hidden_fields",
            "score_kind",
            "score",
            "comment",
            "submitted_at",
            "updated_at",
            "answers",
            "sentiment",
            "themes",
        ]
        read_only_fields = fields

    def _text(self, response: Response) -> dict[str, Any]:
        # The view puts the text results of the page's responses in the context (one query for all).
        results: dict[int, dict[str, Any]] = self.context.get("text_results") or {}
        return results.get(response.pk) or {}

    def get_sentiment(self, response: Response) -> str | None:
        sentiment: str | None = self._text(response).get("sentiment")
        return sentiment

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "theme": {"type": "string"},
                    "subtheme": {"type": "string"},
                    "phrase": {"type": "string"},
                    "sentiment": {"type": "string"},
                    "score": {"type": "number"},
                },
            },
        }
    )
    def get_themes(self, response: Response) -> list[dict[str, Any]]:
        themes: list[dict[str, Any]] = self._text(response).get("themes", [])
        return themes


class InvitationSerializer(serializers.ModelSerializer):
    survey = serializers.IntegerField(source="survey_id", read_only=True)
    customer = serializers.CharField(source="customer.external_id", read_only=True)
    response = serializers.IntegerField(source="response_id", read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True, help_text="queued, sent, answered, failed or skipped")

    class Meta:
        model = Invitation
        fields = [
            "id",
            "survey",
            "customer",
            "status",
            "language",
            "created_at",
            "sent_at",
            "answered_at",
            "response",
            "error",
        ]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    survey = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    customers = serializers.ListField(
        child=serializers.CharField(max_length=255), min_length=1, max_length=10000, help_text="External ids."
    )
    language = serializers.RegexField(r"^(en|zh-hans)$", required=False, help_text="en or zh-hans")


class InvitationCreateResultSerializer(serializers.Serializer):
    invitations = InvitationSerializer(many=True)
    skipped = serializers.ListField(child=serializers.CharField())
    unknown = serializers.ListField(child=serializers.CharField())
