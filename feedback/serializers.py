from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .models import Correction, FeedbackChannel, FeedbackRecord, SentimentLabel, TextAnalysis
from .selectors import mention_dict


class FeedbackRecordInSerializer(serializers.Serializer):
    """One record of `POST /feedback/bulk` (for the schema; the cleaner validates)."""

    id = serializers.CharField(max_length=255, help_text="Your id: re-sending it stores nothing new.")
    text = serializers.CharField(max_length=10_000)  # type: ignore[assignment]
    channel = serializers.ChoiceField(choices=FeedbackChannel.choices)
    occurred_at = serializers.DateTimeField()
    source = serializers.CharField(max_length=100, required=False, help_text="e.g. the review site's name")  # type: ignore[assignment]
    customer_external_id = serializers.CharField(max_length=255, required=False)
    touchpoint = serializers.CharField(max_length=100, required=False, help_text="A touchpoint key")
    rating = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
    rating_scale = serializers.IntegerField(min_value=1, max_value=100, required=False)
    language = serializers.CharField(max_length=8, required=False, help_text="zh, en or other")
    properties = serializers.DictField(required=False)


class MentionSerializer(serializers.Serializer):
    theme = serializers.CharField()
    subtheme = serializers.CharField()
    phrase = serializers.CharField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    sentiment = serializers.ChoiceField(choices=SentimentLabel.choices)
    score = serializers.FloatField()


def _analysis_fields(analysis: TextAnalysis | None) -> dict[str, Any]:
    if analysis is None:
        return {
            "language": None,
            "sentiment": None,
            "sentiment_score": None,
            "corrected": False,
            "themes": [],
        }
    return {
        "language": analysis.language,
        "sentiment": analysis.sentiment,
        "sentiment_score": analysis.score,
        "corrected": analysis.corrected,
        "themes": [mention_dict(mention) for mention in analysis.mentions.all()],
    }


class FeedbackRecordSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="external_id")
    customer_external_id = serializers.CharField(source="customer.external_id", allow_null=True, default=None)
    touchpoint = serializers.CharField(source="touchpoint.key", allow_null=True, default=None)
    language = serializers.SerializerMethodField(help_text="The analysed language: zh, en or other")
    sentiment = serializers.SerializerMethodField()
    sentiment_score = serializers.SerializerMethodField()
    themes = serializers.SerializerMethodField()

    class Meta:
        model = FeedbackRecord
        fields = [
            "id",
            "text",
            "channel",
            "source",
            "occurred_at",
            "customer_external_id",
            "touchpoint",
            "rating",
            "rating_scale",
            "language",
            "sentiment",
            "sentiment_score",
            "themes",
            "properties",
            "created_at",
        ]
        read_only_fields = fields

    def _analysis(self, record: FeedbackRecord) -> dict[str, Any]:
        served = getattr(record, "served_analyses", [])
        return _analysis_fields(served[0] if served else None)

    def get_language(self, record: FeedbackRecord) -> str | None:
        return self._analysis(record)["language"] or record.language or None

    def get_sentiment(self, record: FeedbackRecord) -> str | None:
        return self._analysis(record)["sentiment"]

    def get_sentiment_score(self, record: FeedbackRecord) -> float | None:
        return self._analysis(record)["sentiment_score"]

    def get_themes(self, record: FeedbackRecord) -> list[dict[str, Any]]:
        themes: list[dict[str, Any]] = self._analysis(record)["themes"]
        return themes


class CommentSerializer(serializers.ModelSerializer):
    """An analysed comment: an open-text answer (with its response) or a feedback record."""

    kind = serializers.SerializerMethodField(help_text="answer or feedback")
    answer = serializers.IntegerField(source="answer_id", allow_null=True)
    response = serializers.IntegerField(source="response_id", allow_null=True)
    feedback = serializers.CharField(source="record.external_id", allow_null=True, default=None)
    text = serializers.SerializerMethodField()
    nps = serializers.SerializerMethodField()
    sentiment_score = serializers.FloatField(source="score")
    themes = serializers.SerializerMethodField()

    class Meta:
        model = TextAnalysis
        fields = [
            "kind",
            "answer",
            "response",
            "feedback",
            "text",
            "occurred_at",
            "source",
            "channel",
            "language",
            "sentiment",
            "sentiment_score",
            "model_sentiment",
            "corrected",
            "nps",
            "clauses",
            "themes",
        ]
        read_only_fields = fields

    def get_kind(self, analysis: TextAnalysis) -> str:
        return "answer" if analysis.answer_id else "feedback"

    def get_text(self, analysis: TextAnalysis) -> str:
        if analysis.answer_id:
            return analysis.answer.text if analysis.answer else ""
        return analysis.record.text if analysis.record else ""

    def get_nps(self, analysis: TextAnalysis) -> int | None:
        response = analysis.response
        return response.score if response is not None and response.score_kind == "nps" else None

    def get_themes(self, analysis: TextAnalysis) -> list[dict[str, Any]]:
        return [mention_dict(mention) for mention in analysis.mentions.all()]


class CorrectionInSerializer(serializers.Serializer):
    answer = serializers.IntegerField(required=False, min_value=1, help_text="An open-text answer's id")
    feedback = serializers.CharField(required=False, max_length=255, help_text="A feedback record's id")
    sentiment = serializers.ChoiceField(choices=SentimentLabel.choices, required=False)
    themes = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("answer" in attrs) == ("feedback" in attrs):
            raise serializers.ValidationError({"answer": ["Name one comment: answer or feedback."]})
        if "sentiment" not in attrs and "themes" not in attrs:
            raise serializers.ValidationError({"sentiment": ["Correct the sentiment, the themes or both."]})
        return attrs


class CorrectionSerializer(serializers.ModelSerializer):
    answer = serializers.IntegerField(source="answer_id", allow_null=True)
    feedback = serializers.CharField(source="record.external_id", allow_null=True, default=None)
    created_by = serializers.CharField(source="created_by.email", allow_null=True, default=None)

    class Meta:
        model = Correction
        fields = [
            "id",
            "answer",
            "feedback",
            "sentiment",
            "themes",
            "model_sentiment",
            "model_themes",
            "model_version",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields
