"""Demo data a new user reads: comments fit their survey, score and language; every response and event
has a time of its own, spread over the year (none carries the moment the demo was seeded)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count, Max
from django.utils import timezone

from journeys import demo as journeys_demo
from journeys.models import Interaction, Transaction
from surveys import demo
from surveys.models import Response

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def seeded(organization):
    started = timezone.now()
    journeys_demo.seed(organization=organization, stdout=io.StringIO(), size="small")
    demo.seed(organization=organization, stdout=io.StringIO(), size="small")
    return started


def test_every_comment_fits_its_survey_score_and_language(seeded):
    responses = Response.objects.unscoped().exclude(comment="").select_related("touchpoint")
    assert responses.count() > 30
    kinds = set()
    for r in responses:
        key = r.touchpoint.key if r.touchpoint else None
        band = demo._band(r.score_kind, r.score)
        assert r.comment in demo.comment_choices(r.score_kind, key, band, r.locale), (
            r.score_kind,
            key,
            r.score,
        )
        assert bool(CJK.search(r.comment)) == (r.locale == "zh-hans")
        kinds.add(r.score_kind)
    assert kinds == {"nps", "csat", "ces"}


def test_comment_tables_say_what_each_survey_asks():
    for (kind, touchpoint), bands in demo.COMMENTS.items():
        assert set(bands) == {"low", "mid", "high"}
        for band, by_language in bands.items():
            assert set(by_language) == {"en", "zh-hans"} and all(by_language.values())
            if kind == "nps":  # why they would (or would not) recommend
                assert all(re.search(r"recommend|friend|sister|colleague", c) for c in by_language["en"])
                assert all(re.search(r"推荐|朋友", c) for c in by_language["zh-hans"])
            if band == "low":  # a detractor is not pleased
                assert not any(re.search(r"great|love|happy|easy", c, re.I) for c in by_language["en"])
    # Delivery CSAT speaks of delivery, the support CES surveys of effort with support, not of shopping.
    delivery = " ".join(c for b in demo.COMMENTS[("csat", "home-delivery")].values() for c in b["en"])
    assert re.search(r"deliver|parcel|courier", delivery) and "checkout" not in delivery.lower()
    phone = " ".join(c for b in demo.COMMENTS[("ces", "phone-support")].values() for c in b["en"])
    assert re.search(r"call|agent|support", phone) and "delivery" not in phone.lower()


def test_each_response_and_event_has_its_own_time_over_the_year(seeded):
    assert not Response.objects.unscoped().filter(submitted_at__gte=seeded).exists()
    assert not Interaction.objects.unscoped().filter(occurred_at__gte=seeded - timedelta(minutes=1)).exists()
    assert not Transaction.objects.unscoped().filter(occurred_at__gte=seeded - timedelta(minutes=1)).exists()
    crowd = (
        Response.objects.unscoped().values("submitted_at").annotate(n=Count("id")).aggregate(m=Max("n"))["m"]
    )
    assert crowd <= 2  # the seed once gave hundreds of responses the same instant
    for model in (Interaction, Transaction):
        crowd = (
            model.objects.unscoped().values("occurred_at").annotate(n=Count("id")).aggregate(m=Max("n"))["m"]
        )
        assert crowd <= 4
    months = {d.month for d in Response.objects.unscoped().values_list("submitted_at", flat=True)}
    assert len(months) >= 10


@pytest.mark.now(datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC))
def test_seeded_just_after_midnight_today_events_keep_their_hour(clock, organization):
    # Today's events drawn later than the seed once were squeezed into the 30 seconds since
    # midnight; they go to the same hour the day before, at least two hours before the seed.
    seeded = timezone.now()
    journeys_demo.seed(organization=organization, stdout=io.StringIO(), size="small")
    for model in (Interaction, Transaction):
        latest = model.objects.unscoped().aggregate(m=Max("occurred_at"))["m"]
        assert latest < seeded - timedelta(minutes=1)
    assert Transaction.objects.unscoped().filter(occurred_at__date="2026-12-31").exists()
