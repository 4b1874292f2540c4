"""Writes of the text layer: an organization's text model (taxonomy, dictionary, adaptation), the
analysis pipeline (new comments, re-analysis into a new version, the switch), and corrections.

The pipeline never runs in a submit path: a signal (new responses, a feedback batch) queues
`feedback.tasks.analyse_comments` after commit, which calls `text_pending_analyse` in batches.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.tenancy.models import Organization
from surveys.models import Answer, QuestionKind, Response

from .models import (
    SURVEY_SOURCE,
    Correction,
    FeedbackRecord,
    SentimentLabel,
    TextAnalysis,
    TextSettings,
    ThemeMention,
)
from .text import Adaptation, Analysis, Analyzer, CorrectionExample, Taxonomy, default_taxonomy

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
SENTIMENT_SCORES = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
MAX_DICTIONARY_WORDS = 5_000
MAX_WORD_LENGTH = 50


# --- The organization's text model --------------------------------------------------------------


def text_settings_get(*, organization: Organization | int) -> TextSettings:
    """The organization's text settings, created with the default taxonomy on first use."""
    organization_id = organization if isinstance(organization, int) else organization.pk
    found = TextSettings.objects.for_organization(organization_id).first()
    if found is not None:
        return found
    taxonomy = default_taxonomy()
    try:
        with transaction.atomic():
            return TextSettings.objects.create(
                organization_id=organization_id,
                taxonomy=taxonomy.as_dict(),
                taxonomy_version=taxonomy.version,
            )
    except IntegrityError:  # created by a concurrent first use
        return TextSettings.objects.for_organization(organization_id).get()


def _locked_settings(text_settings: TextSettings) -> TextSettings:
    """The settings row, locked until the transaction ends (one change of versions at a time)."""
    return TextSettings.objects.for_organization(text_settings.organization_id).select_for_update().get()


@dataclass
class LoadedModel:
    analyzer: Analyzer
    version: str


_analyzers: dict[tuple[int, str], Analyzer] = {}


def _dictionary_version(words: Sequence[str]) -> str:
    if not words:
        return "d0"
    digest = hashlib.sha256("\n".join(sorted(words)).encode()).hexdigest()[:8]
    return f"d{digest}"


def text_model_load(*, text_settings: TextSettings) -> LoadedModel:
    """The analyser of the organization as its settings stand, and the version its results carry (the
    analyser's model, taxonomy and adaptation, and the dictionary). Cached per process and version."""
    taxonomy = Taxonomy.from_dict(text_settings.taxonomy or default_taxonomy().as_dict())
    adaptation = Adaptation.from_json(text_settings.adaptation) if text_settings.adaptation else None
    words = [str(word) for word in text_settings.dictionary or []]
    probe = Analyzer(taxonomy=taxonomy, dictionary=(), adaptation=adaptation)
    version = f"{probe.version}+{_dictionary_version(words)}"
    key = (text_settings.organization_id, version)
    analyzer = _analyzers.get(key)
    if analyzer is None:
        analyzer = (
            probe if not words else Analyzer(taxonomy=taxonomy, dictionary=words, adaptation=adaptation)
        )
        if len(_analyzers) > 64:
            _analyzers.clear()
        _analyzers[key] = analyzer
    return LoadedModel(analyzer, version)


def _target_refresh(text_settings: TextSettings) -> LoadedModel:
    """Sets the target version to what the analyser gives now; a new target restarts the progress."""
    loaded = text_model_load(text_settings=text_settings)
    if text_settings.target_version != loaded.version:
        text_settings.target_version = loaded.version
        text_settings.progress_total = comments_count(organization_id=text_settings.organization_id)
        text_settings.progress_done = 0
        text_settings.started_at = timezone.now()
        text_settings.finished_at = None
        text_settings.save(
            update_fields=["target_version", "progress_total", "progress_done", "started_at", "finished_at"]
        )
    return loaded


def taxonomy_validate(data: Any) -> Taxonomy:
    """A taxonomy as a client sends it ({"themes": [{"key", "name_en", "name_zh", "phrases_en", …,
    "subthemes": [...]}]}); ValidationError with the problem."""
    if not isinstance(data, dict) or not isinstance(data.get("themes"), list):
        raise ValidationError({"themes": _('Send {"themes": [...]}, a list of themes.')})
    keys: set[str] = set()
    for index, theme in enumerate(data["themes"]):
        if not isinstance(theme, dict) or not isinstance(theme.get("key"), str) or not theme["key"].strip():
            raise ValidationError({"themes": _("Theme %(n)d needs a key.") % {"n": index + 1}})
        if len(theme["key"]) > 64:
            raise ValidationError({"themes": _("A theme key is at most 64 characters.")})
        if theme["key"] in keys:
            raise ValidationError(
                {"themes": _("The theme key %(key)s is used twice.") % {"key": theme["key"]}}
            )
        keys.add(theme["key"])
        for name in ("phrases_en", "phrases_zh", "exclusions"):
            value = theme.get(name, [])
            if not isinstance(value, list | tuple) or not all(
                isinstance(item, str) and item.strip() for item in value
            ):
                raise ValidationError({"themes": _("%(field)s must be a list of phrases.") % {"field": name}})
        subthemes = theme.get("subthemes", [])
        if not isinstance(subthemes, list | tuple) or not all(
            isinstance(sub, dict) and isinstance(sub.get("key"), str) and sub["key"].strip()
            for sub in subthemes
        ):
            raise ValidationError({"themes": _("Each sub-theme needs a key.")})
    try:
        return Taxonomy.from_dict(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValidationError(
            {"themes": _("The taxonomy is not valid: %(error)s") % {"error": exc}}
        ) from None


def taxonomy_update(*, organization: Organization, data: Any) -> TextSettings:
    """Replaces the organization's taxonomy; a change re-analyses every comment in the background while
    reads keep the current results until the new version is complete."""
    taxonomy = taxonomy_validate(data)
    with transaction.atomic():
        text_settings = _locked_settings(text_settings_get(organization=organization))
        if taxonomy.version != text_settings.taxonomy_version:
            text_settings.taxonomy = taxonomy.as_dict()
            text_settings.taxonomy_version = taxonomy.version
            text_settings.save(update_fields=["taxonomy", "taxonomy_version"])
            _target_refresh(text_settings)
            analysis_request(organization_id=organization.pk)
    return text_settings


def dictionary_update(*, organization: Organization, words: Any) -> TextSettings:
    """The organization's own words (product and brand names) the Chinese segmenter keeps whole."""
    if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
        raise ValidationError({"words": _("Send a list of words.")})
    clean = sorted({word.strip() for word in words if word.strip()})
    if len(clean) > MAX_DICTIONARY_WORDS:
        raise ValidationError({"words": _("At most %(n)d words.") % {"n": MAX_DICTIONARY_WORDS}})
    if any(len(word) > MAX_WORD_LENGTH or any(ch.isspace() for ch in word) for word in clean):
        raise ValidationError({"words": _("A word has at most 50 characters and no spaces.")})
    with transaction.atomic():
        text_settings = _locked_settings(text_settings_get(organization=organization))
        if clean != text_settings.dictionary:
            text_settings.dictionary = clean
            text_settings.save(update_fields=["dictionary"])
            _target_refresh(text_settings)
            analysis_request(organization_id=organization.pk)
    return text_settings


# --- Which comments there are --------------------------------------------------------------------


def survey_comments(*, organization_id: int) -> QuerySet[Answer]:
    """Open-text answers with text: the survey comments."""
    return (
        Answer.objects.for_organization(organization_id)
        .filter(question__kind=QuestionKind.TEXT)
        .exclude(text="")
    )


def comments_count(*, organization_id: int) -> int:
    return (
        survey_comments(organization_id=organization_id).count()
        + FeedbackRecord.objects.for_organization(organization_id).exclude(text="").count()
    )


def _pending_answers(organization_id: int, version: str, limit: int) -> list[dict[str, Any]]:
    done = TextAnalysis.objects.for_organization(organization_id).filter(
        version=version, answer=OuterRef("pk")
    )
    rows: Any = (
        survey_comments(organization_id=organization_id)
        .filter(~Exists(done))
        .order_by("pk")
        .values(
            "pk",
            "text",
            "response_id",
            "response__touchpoint_id",
            "response__channel",
            "response__submitted_at",
            "response__locale",
        )[:limit]
    )
    return list(rows)


def _pending_records(organization_id: int, version: str, limit: int) -> list[dict[str, Any]]:
    done = TextAnalysis.objects.for_organization(organization_id).filter(
        version=version, record=OuterRef("pk")
    )
    return list(
        FeedbackRecord.objects.for_organization(organization_id)
        .exclude(text="")
        .filter(~Exists(done))
        .order_by("pk")
        .values("pk", "text", "touchpoint_id", "channel", "source", "occurred_at", "language")[:limit]
    )


@dataclass
class _Comment:
    text: str
    language: str | None
    answer_id: int | None
    response_id: int | None
    record_id: int | None
    touchpoint_id: int | None
    channel: str
    source: str
    occurred_at: datetime


def _language_hint(value: str | None) -> str | None:
    value = (value or "").lower()
    if value.startswith("zh"):
        return "zh"
    if value.startswith("en"):
        return "en"
    return None


def _comments(organization_id: int, version: str, limit: int) -> list[_Comment]:
    comments = [
        _Comment(
            text=row["text"],
            language=_language_hint(row["response__locale"]),
            answer_id=row["pk"],
            response_id=row["response_id"],
            record_id=None,
            touchpoint_id=row["response__touchpoint_id"],
            channel=row["response__channel"],
            source=SURVEY_SOURCE,
            occurred_at=row["response__submitted_at"],
        )
        for row in _pending_answers(organization_id, version, limit)
    ]
    if len(comments) < limit:
        comments += [
            _Comment(
                text=row["text"],
                language=_language_hint(row["language"]),
                answer_id=None,
                response_id=None,
                record_id=row["pk"],
                touchpoint_id=row["touchpoint_id"],
                channel=row["channel"],
                source=row["source"],
                occurred_at=row["occurred_at"],
            )
            for row in _pending_records(organization_id, version, limit - len(comments))
        ]
    return comments


# --- Corrections applied to results --------------------------------------------------------------


def _latest_corrections(
    organization_id: int, answer_ids: Iterable[int], record_ids: Iterable[int]
) -> dict[tuple[str, int], Correction]:
    """The latest correction of each of these comments, keyed ("answer", id) or ("record", id)."""
    found: dict[tuple[str, int], Correction] = {}
    answer_ids, record_ids = list(answer_ids), list(record_ids)
    if not answer_ids and not record_ids:
        return found
    corrections = Correction.objects.for_organization(organization_id)
    rows = list(corrections.filter(answer_id__in=answer_ids)) + list(
        corrections.filter(record_id__in=record_ids)
    )
    for correction in sorted(rows, key=lambda c: (c.created_at, c.pk)):
        key = ("answer", correction.answer_id) if correction.answer_id else ("record", correction.record_id)
        found[key] = correction  # type: ignore[index]
    return found


def _mention_rows(
    analysis: TextAnalysis, mentions: Iterable[Any], correction: Correction | None
) -> list[ThemeMention]:
    """The analysis's theme mentions; corrected themes keep the model's mentions of the themes the manager
    kept and add the ones the model missed (with the comment's sentiment)."""
    rows = [(m.theme, m.subtheme, m.phrase, m.start, m.end, m.sentiment, m.score) for m in mentions]
    if correction is not None and correction.themes is not None:
        wanted = [str(theme) for theme in correction.themes]
        rows = [row for row in rows if row[0] in wanted]
        present = {row[0] for row in rows}
        rows += [
            (theme, "", "", 0, 0, analysis.sentiment, analysis.score)
            for theme in wanted
            if theme not in present
        ]
    return [
        ThemeMention(
            organization_id=analysis.organization_id,
            analysis=analysis,
            version=analysis.version,
            theme=theme[:64],
            subtheme=subtheme[:64],
            phrase=phrase[:200],
            start=start,
            end=end,
            sentiment=sentiment,
            score=max(-1.0, min(1.0, float(score))),
            day=analysis.day,
            touchpoint_id=analysis.touchpoint_id,
            channel=analysis.channel,
            source=analysis.source,
            response_id=analysis.response_id,
            record_id=analysis.record_id,
        )
        for theme, subtheme, phrase, start, end, sentiment, score in rows
    ]


def _analysis_row(
    organization: Organization,
    version: str,
    comment: _Comment,
    result: Analysis,
    correction: Correction | None,
) -> TextAnalysis:
    score = max(-1.0, min(1.0, float(result.score)))
    sentiment: str = result.sentiment
    served = score
    if correction is not None and correction.sentiment and correction.sentiment != sentiment:
        sentiment, served = correction.sentiment, SENTIMENT_SCORES[correction.sentiment]
    return TextAnalysis(
        organization_id=organization.pk,
        version=version,
        answer_id=comment.answer_id,
        response_id=comment.response_id,
        record_id=comment.record_id,
        touchpoint_id=comment.touchpoint_id,
        channel=comment.channel,
        source=comment.source,
        occurred_at=comment.occurred_at,
        day=comment.occurred_at.astimezone(organization.tzinfo).date(),
        language=result.language,
        sentiment=sentiment,
        score=served,
        model_sentiment=result.sentiment,
        model_score=score,
        corrected=correction is not None,
        clauses=[
            {"start": c.start, "end": c.end, "sentiment": c.sentiment, "score": c.score}
            for c in result.clauses
        ],
        tokens=list(result.tokens),
        search_text=result.search_text,
        analysed_at=timezone.now(),
    )


def _analyse_batch(organization: Organization, loaded: LoadedModel, version: str, limit: int) -> int:
    """Analyses up to `limit` comments that have no result in `version`; returns how many."""
    comments = _comments(organization.pk, version, limit)
    if not comments:
        return 0
    analyzer = loaded.analyzer
    results = analyzer.analyse_many([c.text for c in comments], [c.language for c in comments])  # type: ignore[misc]
    corrections = _latest_corrections(
        organization.pk,
        (c.answer_id for c in comments if c.answer_id),
        (c.record_id for c in comments if c.record_id),
    )
    try:
        with transaction.atomic():
            analyses = []
            for comment, result in zip(comments, results, strict=True):
                key = ("answer", comment.answer_id) if comment.answer_id else ("record", comment.record_id)
                analyses.append(
                    (_analysis_row(organization, version, comment, result, corrections.get(key)), result, key)  # type: ignore[arg-type]
                )
            TextAnalysis.objects.bulk_create([row for row, _result, _key in analyses])
            mentions: list[ThemeMention] = []
            for row, result, key in analyses:
                mentions += _mention_rows(row, result.themes, corrections.get(key))  # type: ignore[arg-type]
            ThemeMention.objects.bulk_create(mentions, batch_size=2000)
    except IntegrityError:
        # Another run analysed some of them first (two messages for one organization): nothing is lost,
        # the next batch picks up whatever is still missing.
        logger.info("feedback: a concurrent run analysed part of a batch of organization %s", organization.pk)
        return 0
    return len(comments)


def text_pending_analyse(
    *, organization_id: int, batch_size: int = BATCH_SIZE, max_batches: int | None = None
) -> dict[str, Any]:
    """Analyses every comment still missing from the served version and from the target version, in
    batches; when the target version is complete it becomes the served one and the old results go.
    Idempotent (unique per comment and version). Returns counts and whether work is left."""
    organization = Organization.objects.get(pk=organization_id)
    text_settings = text_settings_get(organization=organization)
    with transaction.atomic():
        text_settings = _locked_settings(text_settings)
        loaded = _target_refresh(text_settings)
    target = loaded.version
    current = text_settings.current_version
    analysed = 0
    batches = 0
    left = False
    # New comments first into what is served now (they show at once), then the backfill of the target.
    if current and current != target:
        previous = _loaded_for_version(text_settings, current)
        while previous is not None:
            done = _analyse_batch(organization, previous, current, batch_size)
            analysed += done
            batches += 1
            if done < batch_size or (max_batches is not None and batches >= max_batches):
                break
    while max_batches is None or batches < max_batches:
        done = _analyse_batch(organization, loaded, target, batch_size)
        analysed += done
        batches += 1
        if done:
            TextSettings.objects.for_organization(organization_id).filter(pk=text_settings.pk).update(
                progress_done=F("progress_done") + done
            )
        if done < batch_size:
            break
    else:
        left = True
    if not left:
        left = not _switch_if_complete(organization_id, target)
    return {"analysed": analysed, "version": target, "left": left}


def _loaded_for_version(text_settings: TextSettings, version: str) -> LoadedModel | None:
    """The analyser of the served version while a re-analysis runs. Its exact taxonomy and adaptation
    are no longer stored, so new comments get the target's analyser under the served version's label:
    they show at once and are analysed again into the target like every other comment."""
    loaded = text_model_load(text_settings=text_settings)
    return LoadedModel(loaded.analyzer, version)


def _switch_if_complete(organization_id: int, target: str) -> bool:
    """Serve the target version once every comment has it; delete the other versions' results."""
    with transaction.atomic():
        text_settings = _locked_settings(text_settings_get(organization=organization_id))
        if text_settings.target_version != target:
            return False  # a newer target arrived meanwhile
        if _comments(organization_id, target, 1):
            return False
        if text_settings.current_version != target:
            text_settings.current_version = target
            text_settings.progress_done = text_settings.progress_total = comments_count(
                organization_id=organization_id
            )
            text_settings.finished_at = timezone.now()
            text_settings.save(
                update_fields=["current_version", "progress_done", "progress_total", "finished_at"]
            )
        stale = {"organization_id": organization_id}
        ThemeMention.objects.for_organization(organization_id).filter(**stale).exclude(
            version=target
        ).delete()
        TextAnalysis.objects.for_organization(organization_id).exclude(version=target).delete()
    return True


def analysis_request(*, organization_id: int) -> bool:
    """Queue the analysis of the organization's new comments after commit, once per burst (a cache key
    for FEEDBACK_ANALYSE_DEBOUNCE seconds). Never fails the caller's write."""
    from .tasks import analyse_comments

    if not getattr(settings, "FEEDBACK_ANALYSE_ON_SIGNAL", True):
        return False  # the sweep (beat) or the backfill analyses them
    debounce = int(getattr(settings, "FEEDBACK_ANALYSE_DEBOUNCE", 2))
    try:
        if not cache.add(analysis_request_key(organization_id), 1, timeout=max(debounce, 1)):
            return False
    except Exception:  # cache down: queue anyway, the task is idempotent
        logger.exception("feedback: cache unavailable while queueing an analysis")
    transaction.on_commit(
        lambda: analyse_comments.apply_async(args=[organization_id], countdown=debounce, ignore_result=True),
        robust=True,  # broker down: the comments stay unanalysed until the sweep or the backfill
    )
    return True


def analysis_request_key(organization_id: int) -> str:
    return f"feedback:analyse:{organization_id}"


# --- Corrections -----------------------------------------------------------------------------------


def _comment_analysis(
    organization: Organization, *, answer_id: int | None, record_id: int | None, version: str
) -> TextAnalysis | None:
    analyses = TextAnalysis.objects.for_organization(organization).filter(version=version)
    if answer_id:
        return analyses.filter(answer_id=answer_id).first()
    return analyses.filter(record_id=record_id).first()


def correction_create(
    *,
    organization: Organization,
    analysis: TextAnalysis,
    sentiment: str = "",
    themes: list[str] | None = None,
    actor: Any = None,
) -> Correction:
    """A manager corrects a comment's sentiment and/or themes. The served results of the comment change
    at once (in every stored version); the organization's adaptation is fitted again on all its
    corrections, which re-analyses its comments in the background."""
    if sentiment and sentiment not in SentimentLabel.values:
        raise ValidationError({"sentiment": _("Choose negative, neutral or positive.")})
    if not sentiment and themes is None:
        raise ValidationError({"sentiment": _("Correct the sentiment, the themes or both.")})
    if themes is not None:
        if not isinstance(themes, list) or not all(isinstance(t, str) for t in themes):
            raise ValidationError({"themes": _("Send a list of theme keys.")})
        known = {
            theme.key
            for theme in Taxonomy.from_dict(text_settings_get(organization=organization).taxonomy).themes
        }
        unknown = [theme for theme in themes if theme not in known]
        if unknown:
            raise ValidationError(
                {"themes": _("Unknown theme(s): %(themes)s") % {"themes": ", ".join(unknown)}}
            )
        themes = sorted(set(themes))
    if analysis.answer_id:
        text = (
            Answer.objects.for_organization(organization)
            .values_list("text", flat=True)
            .get(pk=analysis.answer_id)
        )
    else:
        text = (
            FeedbackRecord.objects.for_organization(organization)
            .values_list("text", flat=True)
            .get(pk=analysis.record_id)
        )
    with transaction.atomic():
        correction = Correction.objects.create(
            organization=organization,
            answer_id=analysis.answer_id,
            record_id=analysis.record_id,
            sentiment=sentiment,
            themes=themes,
            model_sentiment=analysis.model_sentiment,
            model_themes=sorted({m.theme for m in analysis.mentions.all()}),
            model_version=analysis.version,
            text=text,
            language=analysis.language,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        stored = TextAnalysis.objects.for_organization(organization)
        stored = (
            stored.filter(answer_id=analysis.answer_id)
            if analysis.answer_id
            else stored.filter(record_id=analysis.record_id)
        )
        for row in stored.prefetch_related("mentions"):
            _correction_apply(row, correction)
        adaptation_refit(organization=organization)
    return correction


def _correction_apply(analysis: TextAnalysis, correction: Correction) -> None:
    if correction.sentiment:
        if correction.sentiment != analysis.model_sentiment:
            analysis.sentiment, analysis.score = correction.sentiment, SENTIMENT_SCORES[correction.sentiment]
        else:
            analysis.sentiment, analysis.score = analysis.model_sentiment, analysis.model_score
    analysis.corrected = True
    analysis.save(update_fields=["sentiment", "score", "corrected"])
    if correction.themes is not None:
        model_mentions = [
            m for m in analysis.mentions.all() if m.phrase
        ]  # the model's own, not a correction's
        ThemeMention.objects.for_organization(analysis.organization_id).filter(analysis=analysis).delete()
        ThemeMention.objects.bulk_create(_mention_rows(analysis, model_mentions, correction))
    elif correction.sentiment:
        # Mentions without a phrase were added by a correction: they carry the comment's sentiment.
        analysis.mentions.filter(phrase="").update(sentiment=analysis.sentiment, score=analysis.score)


def adaptation_refit(*, organization: Organization) -> TextSettings:
    """Fits the organization's adaptation on its sentiment corrections (the latest per comment); a new
    adaptation version re-analyses in the background."""
    latest: dict[tuple[str, int], Correction] = {}
    for correction in (
        Correction.objects.for_organization(organization).exclude(sentiment="").order_by("created_at", "pk")
    ):
        key = ("answer", correction.answer_id) if correction.answer_id else ("record", correction.record_id)
        latest[key] = correction  # type: ignore[index]
    examples = [
        CorrectionExample(text=c.text, language=c.language or "other", sentiment=c.sentiment)  # type: ignore[arg-type]
        for c in latest.values()
        if c.text
    ]
    adaptation = Adaptation.fit(examples) if examples else None
    with transaction.atomic():
        text_settings = _locked_settings(text_settings_get(organization=organization))
        serialised = adaptation.to_json() if adaptation is not None else ""
        if serialised != text_settings.adaptation:
            text_settings.adaptation = serialised
            text_settings.adaptation_version = adaptation.version if adaptation is not None else ""
            text_settings.save(update_fields=["adaptation", "adaptation_version"])
            _target_refresh(text_settings)
            analysis_request(organization_id=organization.pk)
    return text_settings


def text_backfill_start(*, organization_id: int) -> TextSettings:
    """Starts a backfill: every comment of the organization missing from the target version is counted
    into the progress (`progress_done` of `progress_total`), which `text_pending_analyse` advances."""
    text_settings = text_settings_get(organization=organization_id)
    with transaction.atomic():
        text_settings = _locked_settings(text_settings)
        loaded = _target_refresh(text_settings)
        text_settings.progress_total = comments_count(organization_id=organization_id)
        text_settings.progress_done = (
            TextAnalysis.objects.for_organization(organization_id).filter(version=loaded.version).count()
        )
        text_settings.started_at = timezone.now()
        text_settings.finished_at = None
        text_settings.save(update_fields=["progress_total", "progress_done", "started_at", "finished_at"])
    return text_settings


# --- Taxonomy edits, theme by theme ------------------------------------------------------------------


def taxonomy_theme_get(*, organization: Organization, key: str) -> dict[str, Any] | None:
    themes = text_settings_get(organization=organization).taxonomy.get("themes", [])
    return next((theme for theme in themes if theme.get("key") == key), None)


def taxonomy_theme_put(*, organization: Organization, key: str | None, data: Any) -> dict[str, Any]:
    """Adds a theme (`key` None: the data names its key, which must be new) or replaces theme `key`."""
    if not isinstance(data, dict):
        raise ValidationError({"themes": _("Send the theme as an object.")})
    themes = list(text_settings_get(organization=organization).taxonomy.get("themes", []))
    theme = {**data, "key": key if key is not None else data.get("key")}
    if key is None:
        if any(existing.get("key") == theme["key"] for existing in themes):
            raise ValidationError({"key": _("A theme with this key exists already.")})
        themes.append(theme)
    else:
        themes = [theme if existing.get("key") == key else existing for existing in themes]
    text_settings = taxonomy_update(organization=organization, data={"themes": themes})
    return next(t for t in text_settings.taxonomy["themes"] if t["key"] == theme["key"])


def taxonomy_theme_delete(*, organization: Organization, key: str) -> None:
    themes = text_settings_get(organization=organization).taxonomy.get("themes", [])
    taxonomy_update(organization=organization, data={"themes": [t for t in themes if t.get("key") != key]})


def taxonomy_term_promote(
    *, organization: Organization, term: Any, theme: Any = None, name_en: Any = None, name_zh: Any = None
) -> TextSettings:
    """An emerging term becomes a phrase of a theme: of the existing theme `theme`, or of a new theme
    named after it (key `theme` or the term). Chinese terms go to the Chinese phrases."""
    if not isinstance(term, str) or not term.strip() or len(term) > 100:
        raise ValidationError({"term": _("Send the term (at most 100 characters).")})
    term = term.strip()
    field = "phrases_zh" if any("\u3400" <= ch <= "\u9fff" for ch in term) else "phrases_en"
    key = (theme if isinstance(theme, str) and theme.strip() else term).strip()[:64]
    existing = taxonomy_theme_get(organization=organization, key=key)
    if existing is not None:
        phrases = list(existing.get(field, []))
        if term not in phrases:
            phrases.append(term)
        taxonomy_theme_put(organization=organization, key=key, data={**existing, field: phrases})
    else:
        taxonomy_theme_put(
            organization=organization,
            key=None,
            data={
                "key": key,
                "name_en": str(name_en or term)[:100],
                "name_zh": str(name_zh or name_en or term)[:100],
                field: [term],
            },
        )
    return text_settings_get(organization=organization)


def customer_text_scrub(*, organization_id: int, customer_id: int) -> int:
    """What an erased customer wrote goes from the text layer too: the analyses of their responses'
    comments (surveys emptied the answers), the text and properties of their feedback records with their
    analyses, and the text kept with corrections of either. Returns how many analyses were deleted."""
    with transaction.atomic():
        response_ids = list(
            Response.objects.for_organization(organization_id)
            .filter(customer_id=customer_id)
            .values_list("id", flat=True)
        )
        records = FeedbackRecord.objects.for_organization(organization_id).filter(customer_id=customer_id)
        record_ids = list(records.values_list("id", flat=True))
        records.update(text="", properties={})
        analyses = TextAnalysis.objects.for_organization(organization_id)
        doomed = analyses.filter(response_id__in=response_ids) | analyses.filter(record_id__in=record_ids)
        ThemeMention.objects.for_organization(organization_id).filter(
            analysis__in=doomed.values("id")
        ).delete()
        deleted, _counts = doomed.delete()
        corrections = Correction.objects.for_organization(organization_id)
        corrections.filter(record_id__in=record_ids).update(text="")
        corrections.filter(answer__response_id__in=response_ids).update(text="")
    return deleted
