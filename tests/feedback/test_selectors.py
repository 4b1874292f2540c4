"""Theme share and theme impact on NPS against hand-computed figures (METRICS.md, "Acting on it")."""

from __future__ import annotations

from datetime import date

import pytest

from feedback import services
from feedback.selectors import (
    TextFilters,
    comment_search,
    sentiment_trend,
    theme_nps_impact,
    theme_share,
    themes_table,
)

from .helpers import Comments, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(organization, settings):
    """Ten NPS responses (P = 4, D = 4, n = 10: NPS 0), eight of them with a comment, and one review.

    delivery mentioned by: r1 (detractor, negative), r2 (detractor, negative), r5 (promoter, positive),
    and the review; price by r3 (detractor, negative) and r6 (passive, negative)."""
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    comments = Comments(organization)
    comments.add(2, "the delivery was slow")  # r1 D, delivery negative
    comments.add(5, "delivery was late and bad")  # r2 D, delivery negative
    comments.add(3, "the price is too expensive")  # r3 D, price negative
    comments.add(6, "")  # r4 D, no comment
    comments.add(10, "delivery was fast, great")  # r5 P, delivery positive
    comments.add(8, "price is bad")  # r6 passive, price negative
    comments.add(9, "nice people")  # r7 P
    comments.add(9, "")  # r8 P, no comment
    comments.add(10, "love it")  # r9 P
    comments.add(7, "okay")  # r10 passive
    record(organization, "rev-1", "delivery was slow")  # a review: counts for share, never for NPS
    services.text_pending_analyse(organization_id=organization.pk)
    return comments


def test_theme_share_is_responses_mentioning_over_responses_with_a_comment(organization, scored):
    shares = theme_share(organization=organization)
    # Responses with a comment: eight responses + one review = 9.
    assert shares["delivery"].with_comment == 9
    # delivery: r1, r2, r5 and the review = 4 → 4/9.
    assert shares["delivery"].responses == 4
    assert shares["delivery"].share == pytest.approx(4 / 9)
    assert shares["price"].responses == 2 and shares["price"].share == pytest.approx(2 / 9)
    # Only survey comments: 8 with a comment, delivery 3.
    surveys_only = theme_share(organization=organization, filters=TextFilters(source="survey"))
    assert surveys_only["delivery"].share == pytest.approx(3 / 8)


def test_theme_impact_on_nps_is_the_nps_with_its_negative_detractors_passive_minus_the_actual(
    organization, scored
):
    impacts = theme_nps_impact(organization=organization)
    delivery = impacts["delivery"]
    # Actual NPS: 100 × (4 − 4) / 10 = 0. Delivery's negative detractors r1 and r2 become passives:
    # 100 × (4 − 2) / 10 = 20, so the impact is 20 points.
    assert delivery.nps == pytest.approx(0.0)
    assert delivery.detractors_negative == 2
    assert delivery.nps_if_neutral == pytest.approx(20.0)
    assert delivery.impact == pytest.approx(20.0)
    # Mentioners r1, r2 (D), r5 (P): 100 × (1 − 2) / 3; the other 7: P 3, D 2 → 100 × 1 / 7.
    assert delivery.mentioners == 3 and delivery.nps_mentioners == pytest.approx(-100 / 3)
    assert delivery.others == 7 and delivery.nps_others == pytest.approx(100 / 7)
    # price: r3 is a negative detractor (10 points); r6 is a passive and moves nothing.
    assert impacts["price"].impact == pytest.approx(10.0)
    assert impacts["price"].nps_mentioners == pytest.approx(100 * (0 - 1) / 2)


def test_the_themes_table_joins_share_sentiment_and_impact(organization, scored):
    table = themes_table(organization=organization)
    rows = {row["theme"]: row for row in table["themes"]}
    assert table["responses_with_comment"] == 9 and table["nps"] == pytest.approx(0.0)
    delivery = rows["delivery"]
    assert (delivery["mentions"], delivery["negative"], delivery["positive"]) == (4, 3, 1)
    assert delivery["share"] == pytest.approx(4 / 9) and delivery["impact"] == pytest.approx(20.0)
    assert table["themes"][0]["theme"] == "delivery"  # sorted by mentions
    assert rows["staff"]["mentions"] == 0 and rows["staff"]["share"] == 0.0
    assert rows["delivery"]["name_zh"]


def test_filters_narrow_every_figure(organization, scored):
    nothing = themes_table(
        organization=organization, filters=TextFilters(start=date(2001, 1, 1), end=date(2001, 1, 2))
    )
    assert nothing["responses_with_comment"] == 0 and nothing["nps"] is None
    negative = sentiment_trend(
        organization=organization, filters=TextFilters(sentiment="negative"), bucket="month"
    )
    assert sum(row["comments"] for row in negative) == sum(row["negative"] for row in negative) == 5


def test_chinese_search_finds_a_word_inside_a_sentence(organization, settings):
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    record(organization, "zh-1", "物流很快但是东西坏了，客服也不回复")
    record(organization, "zh-2", "价格便宜，质量不错")
    record(organization, "en-1", "The courier was friendly")
    services.text_pending_analyse(organization_id=organization.pk)
    found = [row.record.external_id for row in comment_search(organization=organization, query="东西")]
    assert found == ["zh-1"]
    assert [row.record.external_id for row in comment_search(organization=organization, query="客服")] == [
        "zh-1"
    ]
    assert [row.record.external_id for row in comment_search(organization=organization, query="courier")] == [
        "en-1"
    ]
    assert list(comment_search(organization=organization, query="退款")) == []
