"""Reads of the text layer: analysed comments under filters, themes and their share and NPS impact,
sentiment over time, emerging terms, full-text search, and the organization's own accuracy.

Every read uses the organization's served (complete) version of the results, so a re-analysis in the
background never shows half-done figures. Counting happens in the database; Python only divides.

The unit of "responses" in the theme figures: a survey response with a comment, or a feedback record
(each is one customer's say). A response with two open answers counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncMonth, TruncWeek

from cxm.tenancy.models import Organization
from surveys.models import Response
from surveys.scoring import nps_category_q

from .models import SURVEY_SOURCE, Correction, FeedbackRecord, TextAnalysis, TextSettings, ThemeMention
from .text import Analyzer, Taxonomy, default_taxonomy, emerging_terms

BUCKETS = ("day", "week", "month")


@dataclass(frozen=True)
class TextFilters:
    """What a text read looks at. `start`/`end` are the organization's local days (both included);
    `touchpoints` narrows to those touchpoints (a touchpoint, or a stage's); `channel` is the
    touchpoint's channel as on the dashboards; `feedback_channel` the comment's own channel (a review
    site, a ticket…, or a survey response's link/widget/email); `source` is "survey" or a feedback
    source; `survey` and `locale` narrow survey comments (feedback records have neither); `customers`
    narrows to the comments of those customers (the respondent's or the feedback record's), a subquery
    of customer ids such as a customer segment's (`metrics.selectors.segment_customer_ids`, composed by
    the pages and the API: this layer does not know segments)."""

    start: date | None = None
    end: date | None = None
    touchpoints: tuple[int, ...] | None = None
    channel: str = ""
    feedback_channel: str = ""
    source: str = ""
    survey: int | None = None
    locale: str = ""
    theme: str = ""
    sentiment: str = ""
    language: str = ""
    score_band: str = ""  # "detractor" | "passive" | "promoter": survey comments by their NPS
    customers: Any = None  # a subquery (or collection) of customer ids; None: every comment


def served_version(*, organization: Organization | int) -> str:
    """The complete version the organization's reads use ("" before its first analysis finished)."""
    organization_id = organization if isinstance(organization, int) else organization.pk
    return (
        TextSettings.objects.for_organization(organization_id)
        .values_list("current_version", flat=True)
        .first()
        or ""
    )


def _filter_fields(qs: QuerySet[Any], filters: TextFilters, prefix: str) -> QuerySet[Any]:
    """Filters on the columns TextAnalysis and ThemeMention both carry (`prefix` reaches the analysis's
    own for the rest)."""
    if filters.start:
        qs = qs.filter(day__gte=filters.start)
    if filters.end:
        qs = qs.filter(day__lte=filters.end)
    if filters.touchpoints is not None:
        qs = qs.filter(touchpoint_id__in=filters.touchpoints)
    if filters.channel:
        qs = qs.filter(touchpoint__channel=filters.channel)
    if filters.feedback_channel:
        qs = qs.filter(channel=filters.feedback_channel)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.survey:
        qs = qs.filter(response__survey_id=filters.survey)
    if filters.locale:
        qs = qs.filter(response__locale=filters.locale)
    if filters.score_band:
        qs = qs.filter(Q(response__score_kind="nps") & nps_category_q(filters.score_band, "response__score"))
    if filters.customers is not None:
        qs = qs.filter(
            Q(response__customer_id__in=filters.customers) | Q(record__customer_id__in=filters.customers)
        )
    if filters.language:
        qs = qs.filter(**{f"{prefix}language": filters.language})
    if filters.sentiment:
        qs = qs.filter(**{f"{prefix}sentiment": filters.sentiment})
    return qs


def analyses(*, organization: Organization, filters: TextFilters | None = None) -> QuerySet[TextAnalysis]:
    """The organization's analysed comments in the served version, under the filters (a theme filter
    keeps the comments that mention it)."""
    filters = filters or TextFilters()
    qs = TextAnalysis.objects.for_organization(organization).filter(
        version=served_version(organization=organization)
    )
    qs = _filter_fields(qs, filters, "")
    if filters.theme:
        qs = qs.filter(
            Exists(
                ThemeMention.objects.for_organization(organization).filter(
                    analysis=OuterRef("pk"), theme=filters.theme
                )
            )
        )
    return qs


def mentions(*, organization: Organization, filters: TextFilters | None = None) -> QuerySet[ThemeMention]:
    """Theme mentions of the served version under the filters (`theme` narrows to that theme)."""
    filters = filters or TextFilters()
    qs = ThemeMention.objects.for_organization(organization).filter(
        version=served_version(organization=organization)
    )
    qs = _filter_fields(qs, filters, "analysis__")
    if filters.theme:
        qs = qs.filter(theme=filters.theme)
    return qs


def _responses() -> Any:
    """Distinct "responses": survey responses plus feedback records."""
    return Count("response", distinct=True) + Count("record", distinct=True)


@dataclass(frozen=True)
class ThemeShare:
    theme: str
    responses: int  # responses (and feedback records) mentioning the theme
    with_comment: int  # responses (and feedback records) with a comment
    share: float | None  # responses mentioning / responses with a comment, 0–1


def theme_share(*, organization: Organization, filters: TextFilters | None = None) -> dict[str, ThemeShare]:
    """**Theme share** = responses mentioning the theme / responses with a comment (METRICS.md,
    "Acting on it"). A feedback record counts as one response; a response with several open answers
    counts once. Two aggregate queries."""
    filters = filters or TextFilters()
    base = replace_theme(filters, "")
    with_comment = analyses(organization=organization, filters=base).aggregate(n=_responses())["n"] or 0
    rows = (
        mentions(organization=organization, filters=base)
        .values("theme")
        .annotate(n=_responses())
        .order_by("theme")
    )
    if filters.theme:
        rows = rows.filter(theme=filters.theme)
    return {
        row["theme"]: ThemeShare(
            theme=row["theme"],
            responses=row["n"],
            with_comment=with_comment,
            share=row["n"] / with_comment if with_comment else None,
        )
        for row in rows
    }


def replace_theme(filters: TextFilters, theme: str) -> TextFilters:
    return replace(filters, theme=theme)


def nps_responses(*, organization: Organization, filters: TextFilters) -> QuerySet[Response]:
    """The NPS responses under the filters (local days, touchpoints, channel, survey, locale): the
    population of the NPS figures of the themes."""
    rows = Response.objects.for_organization(organization).filter(score_kind="nps", score__isnull=False)
    tz = organization.tzinfo
    if filters.start:
        rows = rows.filter(submitted_at__gte=datetime.combine(filters.start, time.min, tzinfo=tz))
    if filters.end:
        rows = rows.filter(
            submitted_at__lt=datetime.combine(filters.end + timedelta(days=1), time.min, tzinfo=tz)
        )
    if filters.touchpoints is not None:
        rows = rows.filter(touchpoint_id__in=filters.touchpoints)
    if filters.channel:
        rows = rows.filter(touchpoint__channel=filters.channel)
    if filters.feedback_channel:
        rows = rows.filter(channel=filters.feedback_channel)
    if filters.survey:
        rows = rows.filter(survey_id=filters.survey)
    if filters.locale:
        rows = rows.filter(locale=filters.locale)
    if filters.customers is not None:
        rows = rows.filter(customer_id__in=filters.customers)
    if filters.source and filters.source != SURVEY_SOURCE:
        rows = rows.none()
    return rows


@dataclass(frozen=True)
class ThemeNps:
    theme: str
    mentioners: int  # NPS responses whose comment mentions the theme
    nps_mentioners: float | None
    others: int  # the other NPS responses
    nps_others: float | None
    detractors_negative: int  # detractors with a negative mention of the theme
    nps: float | None  # the actual NPS of all NPS responses
    nps_if_neutral: float | None  # NPS had the theme's negative mentions been neutral
    impact: float | None  # nps_if_neutral − nps, in NPS points


def _nps(promoters: int, detractors: int, n: int) -> float | None:
    return 100.0 * (promoters - detractors) / n if n else None


def theme_nps_impact(
    *, organization: Organization, filters: TextFilters | None = None
) -> dict[str, ThemeNps]:
    """**Theme impact on NPS** = NPS if the theme's negative mentions had been neutral (those
    respondents' NPS category moved to passive when they are detractors) minus the actual NPS
    (METRICS.md, "Acting on it"). NPS = 100 × (P − D) / n over the NPS responses under the filters;
    with D' = D − (detractors whose comment mentions the theme negatively), the impact is
    100 × (P − D')/n − 100 × (P − D)/n = 100 × (those detractors) / n.

    Also the NPS of the respondents who mention the theme against the NPS of the other NPS responses
    (with or without a comment). Two aggregate queries."""
    filters = filters or TextFilters()
    population = nps_responses(organization=organization, filters=filters)
    totals = population.aggregate(
        n=Count("id"),
        p=Count("id", filter=nps_category_q("promoter")),
        d=Count("id", filter=nps_category_q("detractor")),
    )
    n, promoters, detractors = totals["n"], totals["p"], totals["d"]
    nps = _nps(promoters, detractors, n)
    rows = (
        ThemeMention.objects.for_organization(organization)
        .filter(version=served_version(organization=organization), response_id__in=population.values("id"))
        .values("theme")
        .annotate(
            m=Count("response", distinct=True),
            mp=Count("response", distinct=True, filter=nps_category_q("promoter", "response__score")),
            md=Count("response", distinct=True, filter=nps_category_q("detractor", "response__score")),
            moved=Count(
                "response",
                distinct=True,
                filter=Q(sentiment="negative") & nps_category_q("detractor", "response__score"),
            ),
        )
        .order_by("theme")
    )
    if filters.theme:
        rows = rows.filter(theme=filters.theme)
    found = {}
    for row in rows:
        others = n - row["m"]
        if_neutral = _nps(promoters, detractors - row["moved"], n)
        found[row["theme"]] = ThemeNps(
            theme=row["theme"],
            mentioners=row["m"],
            nps_mentioners=_nps(row["mp"], row["md"], row["m"]),
            others=others,
            nps_others=_nps(promoters - row["mp"], detractors - row["md"], others),
            detractors_negative=row["moved"],
            nps=nps,
            nps_if_neutral=if_neutral,
            impact=(if_neutral - nps) if (if_neutral is not None and nps is not None) else None,
        )
    return found


def taxonomy_of(*, organization: Organization) -> Taxonomy:
    data = (
        TextSettings.objects.for_organization(organization).values_list("taxonomy", flat=True).first()
        or default_taxonomy().as_dict()
    )
    return Taxonomy.from_dict(data)


def themes_table(*, organization: Organization, filters: TextFilters | None = None) -> dict[str, Any]:
    """The themes table: per theme of the taxonomy (and any other theme still in the results) its
    mentions (comments mentioning it), responses and share (`theme_share`), average sentiment of its
    mentions and their split, NPS of mentioners against the others and the impact (`theme_nps_impact`).
    Sorted by mentions. Four aggregate queries."""
    filters = filters or TextFilters()
    shares = theme_share(organization=organization, filters=filters)
    impacts = theme_nps_impact(organization=organization, filters=filters)
    sentiment_rows: dict[str, Any] = {
        row["theme"]: row
        for row in mentions(organization=organization, filters=filters)
        .values("theme")
        .annotate(
            comments=Count("analysis", distinct=True),
            avg_sentiment=Avg("score"),
            positive=Count("id", filter=Q(sentiment="positive")),
            neutral=Count("id", filter=Q(sentiment="neutral")),
            negative=Count("id", filter=Q(sentiment="negative")),
        )
        .order_by("theme")
    }
    taxonomy = taxonomy_of(organization=organization)
    names = {theme.key: (theme.name_en, theme.name_zh) for theme in taxonomy.themes}
    keys = [theme.key for theme in taxonomy.themes] + sorted(set(sentiment_rows) - set(names))
    if filters.theme:
        keys = [key for key in keys if key == filters.theme]
    with_comment = (
        next(iter(shares.values())).with_comment
        if shares
        else (
            analyses(organization=organization, filters=replace_theme(filters, "")).aggregate(n=_responses())[
                "n"
            ]
            or 0
        )
    )
    rows = []
    for key in keys:
        sentiment: dict[str, Any] = sentiment_rows.get(key, {})
        share = shares.get(key)
        impact = impacts.get(key)
        rows.append(
            {
                "theme": key,
                "name_en": names.get(key, (key, key))[0],
                "name_zh": names.get(key, (key, key))[1],
                "mentions": sentiment.get("comments", 0),
                "responses": share.responses if share else 0,
                "share": share.share if share else (0.0 if with_comment else None),
                "avg_sentiment": sentiment.get("avg_sentiment"),
                "positive": sentiment.get("positive", 0),
                "neutral": sentiment.get("neutral", 0),
                "negative": sentiment.get("negative", 0),
                "nps_mentioners": impact.nps_mentioners if impact else None,
                "mentioners": impact.mentioners if impact else 0,
                "nps_others": impact.nps_others if impact else None,
                "others": impact.others if impact else None,
                "impact": impact.impact
                if impact
                else (0.0 if impact is None and _any_nps(impacts) else None),
            }
        )
    rows.sort(key=lambda row: (-row["mentions"], row["theme"]))
    nps = next(iter(impacts.values())).nps if impacts else None
    return {"responses_with_comment": with_comment, "nps": nps, "themes": rows}


def _any_nps(impacts: dict[str, ThemeNps]) -> bool:
    return any(item.nps is not None for item in impacts.values())


def _bucketed(qs: QuerySet[Any], bucket: str) -> QuerySet[Any]:
    if bucket == "week":
        return qs.annotate(bucket=TruncWeek("day"))
    if bucket == "month":
        return qs.annotate(bucket=TruncMonth("day"))
    return qs.annotate(bucket=F("day"))


def _day(value: Any) -> str:
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def sentiment_trend(
    *, organization: Organization, filters: TextFilters | None = None, bucket: str = "week"
) -> list[dict[str, Any]]:
    """Per day, week (starting Monday) or month of the organization's calendar: comments, their split
    by sentiment and their average sentiment score. One aggregate query."""
    rows = (
        _bucketed(analyses(organization=organization, filters=filters), bucket)
        .values("bucket")
        .annotate(
            comments=Count("id"),
            positive=Count("id", filter=Q(sentiment="positive")),
            neutral=Count("id", filter=Q(sentiment="neutral")),
            negative=Count("id", filter=Q(sentiment="negative")),
            avg_sentiment=Avg("score"),
        )
        .order_by("bucket")
    )
    return [{**row, "bucket": _day(row["bucket"])} for row in rows]


def theme_trend(
    *, organization: Organization, filters: TextFilters | None = None, bucket: str = "week"
) -> list[dict[str, Any]]:
    """Per bucket and theme: comments mentioning it and their average sentiment. One aggregate query."""
    rows = (
        _bucketed(mentions(organization=organization, filters=filters), bucket)
        .values("bucket", "theme")
        .annotate(mentions=Count("analysis", distinct=True), avg_sentiment=Avg("score"))
        .order_by("bucket", "theme")
    )
    return [{**row, "bucket": _day(row["bucket"])} for row in rows]


# --- Emerging terms -----------------------------------------------------------------------------

_STOPWORDS = frozenset(
    "the and but for with was were are is this that have has had not you your our they them its it's "
    "very just too also from been will would could there their what when which who very really".split()
    + [
        "的",
        "了",
        "是",
        "在",
        "我",
        "也",
        "都",
        "就",
        "和",
        "很",
        "但是",
        "不过",
        "还",
        "有",
        "没有",
        "这个",
        "一个",
    ]
)


def _term_ok(term: str) -> bool:
    if term in _STOPWORDS or not term.strip():
        return False
    if any("\u4e00" <= ch <= "\u9fff" for ch in term):
        return len(term) >= 2
    return len(term) >= 3 and any(ch.isalpha() for ch in term)


def term_document_counts(*, organization: Organization, filters: TextFilters) -> tuple[dict[str, int], int]:
    """Per token: the comments containing it, and the number of comments, under the filters. Counted in
    the database over the stored tokens (one query each)."""
    qs = analyses(organization=organization, filters=filters)
    documents = qs.count()
    if not documents:
        return {}, 0
    inner, params = qs.values("id").query.sql_with_params()
    if connection.vendor == "postgresql":
        sql = (
            "SELECT t.term, COUNT(DISTINCT a.id) FROM feedback_textanalysis a "  # noqa: S608
            "CROSS JOIN LATERAL jsonb_array_elements_text(a.tokens) AS t(term) "
            f"WHERE a.id IN ({inner}) GROUP BY t.term HAVING COUNT(DISTINCT a.id) >= 2"
        )
    else:
        sql = (
            "SELECT t.value, COUNT(DISTINCT a.id) FROM feedback_textanalysis a, json_each(a.tokens) AS t "  # noqa: S608
            f"WHERE a.id IN ({inner}) GROUP BY t.value HAVING COUNT(DISTINCT a.id) >= 2"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counts = {
            str(term).lower(): count for term, count in cursor.fetchall() if _term_ok(str(term).lower())
        }
    return counts, documents


def emerging(
    *, organization: Organization, filters: TextFilters, min_count: int = 5, limit: int = 30
) -> dict[str, Any]:
    """Terms whose share of comments rose in the window against the same-length window before it, kept
    only when a one-sided two-proportion z-test gives p < 0.05 (`feedback.text.emerging_terms`); terms
    already a phrase of the taxonomy are marked."""
    assert filters.start is not None and filters.end is not None
    length = (filters.end - filters.start).days + 1
    before = replace(
        filters, start=filters.start - timedelta(days=length), end=filters.start - timedelta(days=1)
    )
    current, current_docs = term_document_counts(organization=organization, filters=filters)
    previous, previous_docs = term_document_counts(organization=organization, filters=before)
    taxonomy = taxonomy_of(organization=organization)
    known = {
        phrase.lower()
        for theme in taxonomy.themes
        for phrase in (
            *theme.phrases_en,
            *theme.phrases_zh,
            *(p for s in theme.subthemes for p in (*s.phrases_en, *s.phrases_zh)),
        )
    }
    terms = emerging_terms(
        current=current,
        current_documents=current_docs,
        previous=previous,
        previous_documents=previous_docs,
        min_count=min_count,
        limit=limit,
    )
    return {
        "current": {"start": filters.start, "end": filters.end, "comments": current_docs},
        "previous": {"start": before.start, "end": before.end, "comments": previous_docs},
        "terms": [
            {
                "term": term.term,
                "current_count": term.current_count,
                "previous_count": term.previous_count,
                "current_share": term.current_share,
                "previous_share": term.previous_share,
                "z": term.z,
                "p_value": term.p_value,
                "in_taxonomy": term.term in known,
            }
            for term in terms
        ],
    }


# --- Comments, search, records ---------------------------------------------------------------------


def comment_list(*, organization: Organization, filters: TextFilters | None = None) -> QuerySet[TextAnalysis]:
    """Analysed comments with their text (the answer's or the record's) and mentions, newest first."""
    return (
        analyses(organization=organization, filters=filters)
        .select_related("answer", "record", "response")
        .prefetch_related("mentions")
        .order_by("-occurred_at", "-id")
    )


def search_terms(*, organization: Organization, query: str) -> list[str]:
    """The query cut into the same tokens as the indexed text (Chinese segmented)."""
    analyzer = Analyzer(taxonomy=Taxonomy(), dictionary=_dictionary(organization))
    result = analyzer.analyse_many([query], [None])[0]
    return [token for token in result.tokens if any(ch.isalnum() for ch in token)]


def _dictionary(organization: Organization) -> Sequence[str]:
    return (
        TextSettings.objects.for_organization(organization).values_list("dictionary", flat=True).first() or ()
    )


def comment_search(
    *, organization: Organization, query: str, filters: TextFilters | None = None
) -> QuerySet[TextAnalysis]:
    """Comments whose text contains every word of the query. On PostgreSQL a full-text match over the
    segmented text's 'simple' tsvector (GIN index); elsewhere a substring match per word."""
    terms = search_terms(organization=organization, query=query)
    qs = comment_list(organization=organization, filters=filters)
    if not terms:
        return qs.none()
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        return qs.annotate(document=SearchVector("search_text", config="simple")).filter(
            document=SearchQuery(" ".join(terms), config="simple", search_type="plain")
        )
    for term in terms:
        qs = qs.filter(search_text__icontains=term)
    return qs


def feedback_list(*, organization: Organization, filters: dict[str, Any]) -> QuerySet[FeedbackRecord]:
    """Feedback records, newest first, narrowed by source, channel, touchpoint (id or key), customer
    external id, and `start`/`end` (aware date-times, end excluded); each with its served analysis."""
    from django.db.models import Prefetch

    qs = FeedbackRecord.objects.for_organization(organization).select_related("touchpoint", "customer")
    if filters.get("source"):
        qs = qs.filter(source=filters["source"])
    if filters.get("channel"):
        qs = qs.filter(channel=filters["channel"])
    if filters.get("touchpoint"):
        qs = qs.filter(touchpoint__key=filters["touchpoint"])
    if filters.get("customer"):
        qs = qs.filter(customer__external_id=filters["customer"])
    if filters.get("start"):
        qs = qs.filter(occurred_at__gte=filters["start"])
    if filters.get("end"):
        qs = qs.filter(occurred_at__lt=filters["end"])
    version = served_version(organization=organization)
    return qs.prefetch_related(
        Prefetch(
            "analyses",
            queryset=TextAnalysis.objects.for_organization(organization)
            .filter(version=version)
            .prefetch_related("mentions"),
            to_attr="served_analyses",
        )
    ).order_by("-occurred_at", "-id")


def response_text_results(
    *, organization: Organization, response_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Per response id: the sentiment and themes of its comments (the served version), for the response
    payloads, pages and timelines. One query (two when any is analysed) however many responses."""
    found: dict[int, dict[str, Any]] = {}
    if not response_ids:
        return found
    served = TextSettings.objects.for_organization(organization).values("current_version")[:1]
    rows = (
        TextAnalysis.objects.for_organization(organization)
        .filter(version=Subquery(served), response_id__in=list(response_ids))
        .prefetch_related("mentions")
        .order_by("answer_id")
    )
    for analysis in rows:
        entry = found.setdefault(
            analysis.response_id,  # type: ignore[arg-type]
            {
                "language": analysis.language,
                "sentiment": analysis.sentiment,
                "score": analysis.score,
                "themes": [],
            },
        )
        for mention in analysis.mentions.all():
            entry["themes"].append(mention_dict(mention))
    return found


def mention_dict(mention: ThemeMention) -> dict[str, Any]:
    return {
        "theme": mention.theme,
        "subtheme": mention.subtheme,
        "phrase": mention.phrase,
        "start": mention.start,
        "end": mention.end,
        "sentiment": mention.sentiment,
        "score": mention.score,
    }


# --- The model's state and the organization's accuracy ---------------------------------------------


@dataclass(frozen=True)
class OwnAccuracy:
    """Agreement of the model's sentiment with the managers' corrections (the latest per comment)."""

    n: int  # corrected comments with a sentiment
    agreed_at_correction: int  # the model had given that sentiment when the manager corrected it
    agreed_now: int  # the served model (with the organization's adaptation) gives it now
    accuracy_at_correction: float | None
    accuracy_now: float | None
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # corrected → predicted now → n


def own_accuracy(*, organization: Organization) -> OwnAccuracy:
    """The organization's own accuracy: of its comments whose sentiment a manager set, the share where
    the model predicted that sentiment (when corrected, and now). Note: the adaptation is fitted on these
    same corrections, so "now" is an in-sample figure; "at correction" is not."""
    latest: dict[tuple[str, int | None], Correction] = {}
    for correction in (
        Correction.objects.for_organization(organization).exclude(sentiment="").order_by("created_at", "pk")
    ):
        latest[("a", correction.answer_id) if correction.answer_id else ("r", correction.record_id)] = (
            correction
        )
    version = served_version(organization=organization)
    served = TextAnalysis.objects.for_organization(organization).filter(version=version)
    answer_ids = [key[1] for key in latest if key[0] == "a"]
    record_ids = [key[1] for key in latest if key[0] == "r"]
    now: dict[tuple[str, int | None], str] = {}
    for answer_id, sentiment in served.filter(answer_id__in=answer_ids).values_list(
        "answer_id", "model_sentiment"
    ):
        now[("a", answer_id)] = sentiment
    for record_id, sentiment in served.filter(record_id__in=record_ids).values_list(
        "record_id", "model_sentiment"
    ):
        now[("r", record_id)] = sentiment
    agreed_then = sum(1 for c in latest.values() if c.model_sentiment == c.sentiment)
    agreed_now = sum(1 for key, c in latest.items() if now.get(key) == c.sentiment)
    confusion: dict[str, dict[str, int]] = {}
    for key, c in latest.items():
        predicted = now.get(key, "")
        confusion.setdefault(c.sentiment, {}).setdefault(predicted or "unanalysed", 0)
        confusion[c.sentiment][predicted or "unanalysed"] += 1
    n = len(latest)
    return OwnAccuracy(
        n=n,
        agreed_at_correction=agreed_then,
        agreed_now=agreed_now,
        accuracy_at_correction=agreed_then / n if n else None,
        accuracy_now=agreed_now / n if n else None,
        confusion=confusion,
    )


def text_status(*, organization: Organization) -> dict[str, Any]:
    """Which version is served, which is being computed, and the progress of the re-analysis."""
    row = TextSettings.objects.for_organization(organization).first()
    if row is None:
        return {"served_version": "", "target_version": "", "reanalysing": False, "total": 0, "done": 0}
    return {
        "served_version": row.current_version,
        "target_version": row.target_version,
        "reanalysing": row.reanalysing,
        "total": row.progress_total,
        "done": min(row.progress_done, row.progress_total),
        "started_at": row.started_at,
        "finished_at": row.finished_at,
    }


def stage_touchpoint_ids(*, organization: Organization, stage_id: int) -> tuple[int, ...]:
    from journeys.models import Touchpoint

    return tuple(
        Touchpoint.objects.for_organization(organization)
        .filter(stage_id=stage_id)
        .values_list("id", flat=True)
    )


def comment_analysis(
    *, organization: Organization, answer_id: int | None = None, record_external_id: str | None = None
) -> TextAnalysis | None:
    """The served analysis of one comment of the organization (None when unknown or not analysed yet)."""
    qs = (
        TextAnalysis.objects.for_organization(organization)
        .filter(version=served_version(organization=organization))
        .select_related("answer", "record", "response")
        .prefetch_related("mentions")
    )
    if answer_id is not None:
        return qs.filter(answer_id=answer_id).first()
    if record_external_id:
        return qs.filter(record__external_id=record_external_id).first()
    return None
