"""SQL aggregates: scores under filters, local-time buckets near midnight, breakdowns."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from metrics.computations.aggregates import score_distribution, score_summary
from metrics.computations.trends import score_breakdown, score_trend
from metrics.filters import FilterError, MetricFilters
from tests.factories import OrganizationFactory

from .data import customer, response, survey

UTC = ZoneInfo("UTC")
pytestmark = pytest.mark.django_db


def test_summary_counts_every_family(organization):
    s = survey(organization)
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    for score in (10, 9, 9, 8, 3):
        response(organization, s, "nps", score, at)
    for score in (5, 4, 2):
        response(organization, s, "csat", score, at)
    for score in (7, 2):
        response(organization, s, "ces", score, at)
    response(organization, s, "rating", 4, at)
    response(organization, s, "nps", None, at)  # unanswered: not counted
    filters = MetricFilters(start=date(2026, 3, 1), end=date(2026, 3, 31))
    result = score_summary(organization=organization, filters=filters, using="default")
    assert result["nps"]["n"] == 5 and result["nps"]["nps"] == pytest.approx(100 * (3 - 1) / 5)
    assert result["csat"]["csat"] == pytest.approx(200 / 3) and result["csat"]["mean"] == pytest.approx(
        11 / 3
    )
    assert result["ces"]["mean"] == 4.5 and result["ces"]["agree_pct"] == 50.0
    assert result["rating"]["mean"] == 4.0
    assert result["n"] == 11
    dist = score_distribution(organization=organization, filters=filters, using="default")
    assert dist["nps"]["9"] == 2 and dist["nps"]["10"] == 1 and dist["nps"]["0"] == 0
    assert dist["csat"]["2"] == 1


def test_no_responses_gives_empty_scores(organization):
    result = score_summary(organization=organization, filters=MetricFilters(), using="default")
    assert result["nps"]["nps"] is None and result["csat"]["csat"] is None and result["ces"]["mean"] is None
    assert score_trend(organization=organization, filters=MetricFilters(), using="default") == []


def test_buckets_follow_the_organization_time_zone():
    org = OrganizationFactory(slug="sh", time_zone="Asia/Shanghai")
    s = survey(org)
    sh = ZoneInfo("Asia/Shanghai")
    # 23:30 local on 31 March is 15:30 UTC the same day: March
    response(org, s, "nps", 10, datetime(2026, 3, 31, 23, 30, tzinfo=sh))
    # 00:30 local on 1 March is 16:30 UTC on 28 February: still March locally
    response(org, s, "nps", 0, datetime(2026, 3, 1, 0, 30, tzinfo=sh))
    # 00:30 local on 1 April: April
    response(org, s, "nps", 9, datetime(2026, 4, 1, 0, 30, tzinfo=sh))
    filters = MetricFilters(start=date(2026, 2, 1), end=date(2026, 4, 30), bucket="month")
    trend = score_trend(organization=org, filters=filters, using="default")
    assert [(row["period"], row["nps"]["n"]) for row in trend] == [("2026-03-01", 2), ("2026-04-01", 1)]
    days = score_trend(organization=org, filters=filters, using="default", bucket="day")
    assert [row["period"] for row in days] == ["2026-03-01", "2026-03-31", "2026-04-01"]


def test_late_evening_west_of_utc_stays_on_its_local_day():
    org = OrganizationFactory(slug="ny", time_zone="America/New_York")
    s = survey(org)
    ny = ZoneInfo("America/New_York")
    response(org, s, "nps", 10, datetime(2026, 1, 31, 23, 30, tzinfo=ny))  # 04:30 UTC on 1 February
    filters = MetricFilters(start=date(2026, 1, 1), end=date(2026, 2, 28), bucket="week")
    weeks = score_trend(organization=org, filters=filters, using="default")
    assert [row["period"] for row in weeks] == ["2026-01-26"]  # the Monday of that local week
    months = score_trend(organization=org, filters=filters, using="default", bucket="month")
    assert [row["period"] for row in months] == ["2026-01-01"]
    # the window's local end day includes it; a window ending 30 January does not
    assert (
        score_summary(
            organization=org,
            filters=MetricFilters(start=date(2026, 1, 31), end=date(2026, 1, 31)),
            using="default",
        )["nps"]["n"]
        == 1
    )
    assert (
        score_summary(
            organization=org,
            filters=MetricFilters(start=date(2026, 2, 1), end=date(2026, 2, 1)),
            using="default",
        )["nps"]["n"]
        == 0
    )


def test_breakdowns_and_filters(organization):
    a, b = survey(organization, "A"), survey(organization, "B")
    at = datetime(2026, 5, 5, tzinfo=UTC)
    response(organization, a, "nps", 10, at, locale="en")
    response(organization, a, "nps", 0, at, locale="zh-hans")
    response(organization, b, "nps", 9, at, locale="zh-hans")
    filters = MetricFilters(start=date(2026, 5, 1), end=date(2026, 5, 31))
    by_survey = {
        r["label"]: r["nps"]["nps"]
        for r in score_breakdown(
            organization=organization, filters=filters, using="default", dimension="survey"
        )
    }
    assert by_survey == {"A": 0.0, "B": 100.0}
    by_locale = {
        r["key"]: r["nps"]["n"]
        for r in score_breakdown(
            organization=organization, filters=filters, using="default", dimension="locale"
        )
    }
    assert by_locale == {"en": 1, "zh-hans": 2}
    only_b = MetricFilters(start=date(2026, 5, 1), end=date(2026, 5, 31), survey=b.pk)
    assert score_summary(organization=organization, filters=only_b, using="default")["nps"]["nps"] == 100.0
    zh = MetricFilters(start=date(2026, 5, 1), end=date(2026, 5, 31), locale="zh-hans")
    assert score_summary(organization=organization, filters=zh, using="default")["nps"]["n"] == 2


def test_other_organizations_responses_never_count(organization, other_organization):
    at = datetime(2026, 5, 5, tzinfo=UTC)
    response(other_organization, survey(other_organization), "nps", 0, at)
    response(organization, survey(organization), "nps", 10, at)
    filters = MetricFilters(start=date(2026, 5, 1), end=date(2026, 5, 31))
    assert score_summary(organization=organization, filters=filters, using="default")["nps"]["nps"] == 100.0


def test_filter_parsing():
    assert MetricFilters.from_params({}).key == "default"
    parsed = MetricFilters.from_params(
        {"start": "2026-01-01", "end": "2026-01-31", "bucket": "day", "survey": "4"}
    )
    assert parsed.survey == 4 and parsed.bucket == "day" and parsed.key != "default"
    assert MetricFilters.from_params(parsed.query_params()) == parsed
    for bad in (
        {"start": "yesterday"},
        {"bucket": "year"},
        {"survey": "x"},
        {"start": "2026-02-01", "end": "2026-01-01"},
        {"segment": "vip"},
    ):
        with pytest.raises(FilterError):
            MetricFilters.from_params(bad)


def test_customer_segment_filter_uses_the_stored_values(organization):
    from metrics.models import CustomerValue

    s = survey(organization)
    loyal, other = customer(organization), customer(organization)
    CustomerValue.objects.create(organization=organization, customer=loyal, rfm_segment="champions")
    CustomerValue.objects.create(organization=organization, customer=other, rfm_segment="lost")
    at = datetime(2026, 5, 5, tzinfo=UTC)
    response(organization, s, "nps", 10, at, loyal)
    response(organization, s, "nps", 2, at, other)
    filters = MetricFilters(start=date(2026, 5, 1), end=date(2026, 5, 31), segment="rfm_segment:champions")
    assert score_summary(organization=organization, filters=filters, using="default")["nps"]["nps"] == 100.0


@pytest.mark.django_db
def test_csat_top_two_boxes_follow_each_surveys_scale(organization):
    """1–5: 4–5; 1–3: 3 only; 1–7: 6–7 (METRICS.md: the midpoint is never "satisfied"). Means are
    never pooled raw: per scale, and rescaled to 0–100."""
    from datetime import timedelta

    from django.utils import timezone

    from metrics.computations.aggregates import score_summary
    from metrics.filters import MetricFilters
    from tests.surveys.factories import QuestionFactory

    from .data import response, survey

    when = timezone.now() - timedelta(days=1)
    five, three, seven = (
        survey(organization, "five"),
        survey(organization, "three"),
        survey(organization, "seven"),
    )
    QuestionFactory(survey=three, kind="csat", scale_max=3, position=0)
    QuestionFactory(survey=seven, kind="csat", scale_max=7, position=0)
    QuestionFactory(survey=five, kind="csat", position=0)
    for srv, scores in ((five, [3, 4, 5]), (three, [1, 2, 3]), (seven, [5, 6, 7])):
        for score in scores:
            response(organization, srv, "csat", score, when)
    csat = score_summary(organization=organization, filters=MetricFilters(), using="default")["csat"]
    # top boxes: five {4, 5} = 2, three {3} = 1, seven {6, 7} = 2 → 5 of 9 (the earlier 2–3 rule on
    # 1–3 gave 6 of 9)
    assert csat["n"] == 9 and csat["csat"] == pytest.approx(100 * 5 / 9)
    assert {scale: (row["n"], row["top_two"], row["mean"]) for scale, row in csat["by_scale"].items()} == {
        "1-3": (3, 1, 2.0),
        "1-5": (3, 2, 4.0),
        "1-7": (3, 2, 6.0),
    }
    # 0–100: five 50, 75, 100; three 0, 50, 100; seven 66.7, 83.3, 100 → 625 / 9
    assert csat["mean_0_100"] == pytest.approx(625 / 9)
    assert csat["mean"] is None  # a raw mean over 1–3, 1–5 and 1–7 answers is meaningless
    from metrics.selectors import touchpoint_scores

    assert touchpoint_scores(organization=organization) == {}  # no touchpoints here; the query runs
