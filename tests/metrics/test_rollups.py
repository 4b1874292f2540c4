"""The daily response rollups: the survey scores they give equal a scan of the responses under every
filter they serve, their days are the organization's local days, and they follow new, changed and
deleted responses."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Sum
from django.utils import timezone

from journeys.models import Touchpoint
from metrics.filters import MetricFilters
from metrics.models import ResponseRollup, RollupState
from metrics.services import dashboards_compute
from metrics.services.rollups import rollup_catch_up, rollup_ensure, rollup_rebuild, rollups_current
from surveys.models import Question, Response, Survey
from surveys.signals import response_recorded
from tests.factories import OrganizationFactory

from .data import response, seed_dataset, survey

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=ZoneInfo("UTC"))


def _rollup_days(org):
    return dict(
        ResponseRollup.objects.for_organization(org)
        .values_list("day")
        .annotate(total=Sum("n"))
        .order_by("day")
    )


def _both(org, filters, dashboards=("overview", "journey")):
    scanned, _f, _d = dashboards_compute(
        organization=org, filters=filters, dashboards=dashboards, rollups=False
    )
    rolled, _f, _d = dashboards_compute(
        organization=org, filters=filters, dashboards=dashboards, rollups=True
    )
    return scanned, rolled


@pytest.mark.now(NOW)
def test_scores_from_rollups_equal_a_scan_under_every_filter_they_serve():
    org = OrganizationFactory(slug="ny", time_zone="America/New_York")
    data = seed_dataset(org, customers=80, now=timezone.now())
    # A 1–7 CSAT survey beside the default 1–5 one: top boxes and means per scale.
    seven = survey(org, "CSAT seven")
    Question.objects.create(
        organization=org, survey=seven, position=0, kind="csat", scale_max=7, text={"en": "?"}
    )
    for i, score in enumerate([7, 6, 5, 4, 1, 7]):
        response(org, seven, "csat", score, timezone.now() - timedelta(days=i * 3, hours=5), locale="en")
    rollup_rebuild(organization=org)
    tp = data["touchpoints"]["home-delivery"]
    today = timezone.localdate(timezone=org.tzinfo)
    cases = [
        MetricFilters(),
        MetricFilters(bucket="day"),
        MetricFilters(bucket="month"),
        MetricFilters(start=date(2020, 1, 1)),
        MetricFilters(start=today - timedelta(days=6), end=today),
        MetricFilters(start=today - timedelta(days=40), end=today - timedelta(days=10)),
        MetricFilters(survey=data["nps_survey"].pk),
        MetricFilters(survey=seven.pk),
        MetricFilters(touchpoint=tp.pk),
        MetricFilters(stage=tp.stage_id),
        MetricFilters(channel="phone"),
        MetricFilters(locale="zh-hans"),
    ]
    for filters in cases:
        scanned, rolled = _both(org, filters)
        assert rolled == scanned, filters
    overview = rolled["overview"]
    assert overview["summary"]["n"] > 0 and overview["by_survey"]


@pytest.mark.now(datetime(2026, 3, 12, 12, 0, tzinfo=ZoneInfo("UTC")))
def test_a_day_is_the_local_day_across_a_dst_change():
    """New York moves to UTC−4 on 8 March 2026: 23:30 local is 04:30 UTC before it, 03:30 UTC after."""
    org = OrganizationFactory(slug="dst", time_zone="America/New_York")
    nps = survey(org, "NPS")
    response(org, nps, "nps", 10, datetime(2026, 3, 7, 23, 30, tzinfo=NY))  # 8 Mar 04:30 UTC
    response(org, nps, "nps", 0, datetime(2026, 3, 8, 23, 30, tzinfo=NY))  # 9 Mar 03:30 UTC
    response(org, nps, "nps", 8, datetime(2026, 3, 9, 0, 30, tzinfo=NY))  # 9 Mar 04:30 UTC
    response(org, nps, "nps", 9, datetime(2026, 3, 8, 1, 30, tzinfo=NY))  # before the change
    rollup_rebuild(organization=org)
    assert _rollup_days(org) == {date(2026, 3, 7): 1, date(2026, 3, 8): 2, date(2026, 3, 9): 1}
    one_day = MetricFilters(start=date(2026, 3, 8), end=date(2026, 3, 8), bucket="day")
    scanned, rolled = _both(org, one_day, dashboards=("overview",))
    assert rolled == scanned
    summary = rolled["overview"]["summary"]["nps"]
    assert (summary["n"], summary["promoters"], summary["detractors"]) == (2, 1, 1)
    assert [row["period"] for row in rolled["overview"]["trend"]] == ["2026-03-08"]
    week = MetricFilters(start=date(2026, 3, 1), end=date(2026, 3, 11), bucket="week")
    scanned, rolled = _both(org, week, dashboards=("overview",))
    assert rolled == scanned
    assert [(row["period"], row["nps"]["n"]) for row in rolled["overview"]["trend"]] == [
        ("2026-03-02", 3),  # week of Monday 2 March: the 7th at 23:30, the 8th at 01:30 and 23:30
        ("2026-03-09", 1),  # week of Monday 9 March: the 9th at 00:30
    ]


@pytest.mark.now(NOW)
def test_new_changed_and_deleted_responses_refresh_their_days(django_capture_on_commit_callbacks):
    org = OrganizationFactory(slug="follow", time_zone="Asia/Shanghai")
    sh = org.tzinfo
    nps = survey(org, "NPS")
    other = survey(org, "Other")
    first = response(org, nps, "nps", 9, datetime(2026, 3, 1, 23, 30, tzinfo=sh))
    rollup_rebuild(organization=org)
    assert rollups_current(organization=org)
    assert _rollup_days(org) == {date(2026, 3, 1): 1}

    # New responses on two days; the signal's task catches up (eager in tests).
    late = response(org, nps, "nps", 3, datetime(2026, 3, 2, 0, 10, tzinfo=sh))
    response(org, other, "nps", 7, datetime(2026, 3, 1, 8, 0, tzinfo=sh))
    response_recorded.send(sender=Response, organization_id=org.pk, response_ids=[late.pk])
    assert _rollup_days(org) == {date(2026, 3, 1): 2, date(2026, 3, 2): 1}

    # A changed score and a moved time (an update stamps updated_at): both days are refreshed.
    Response.objects.for_organization(org).filter(pk=first.pk).update(
        score=2, submitted_at=datetime(2026, 3, 3, 12, tzinfo=sh), updated_at=timezone.now()
    )
    # The catch-up refreshes the days of the responses changed lately (here all of them, within the
    # late-commit margin); a day a response moved away from is caught by the count check of
    # `rollup_ensure`, which runs before every recompute.
    rollup_catch_up(organization=org)
    rollup_ensure(organization=org)
    assert _rollup_days(org) == {date(2026, 3, 1): 1, date(2026, 3, 2): 1, date(2026, 3, 3): 1}
    rows = list(
        ResponseRollup.objects.for_organization(org)
        .order_by("day", "survey_id")
        .values_list("day", "score", "n")
    )
    assert (date(2026, 3, 3), 2, 1) in rows and (date(2026, 3, 2), 3, 1) in rows

    # A deleted survey takes its responses with it: their days are refreshed after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        Survey.objects.for_organization(org).filter(pk=other.pk).delete()
    assert (
        sum(_rollup_days(org).values())
        == Response.objects.for_organization(org).filter(score__isnull=False).count()
    )
    assert ResponseRollup.objects.for_organization(org).filter(survey_id=other.pk).count() == 0


@pytest.mark.now(NOW)
def test_a_deleted_touchpoint_refreshes_the_days_of_its_responses(django_capture_on_commit_callbacks):
    org = OrganizationFactory(slug="tp-gone", time_zone="Asia/Shanghai")
    data = seed_dataset(org, customers=20, now=timezone.now())
    rollup_rebuild(organization=org)
    tp = data["touchpoints"]["phone-support"]
    assert ResponseRollup.objects.for_organization(org).filter(touchpoint_id=tp.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        Touchpoint.objects.for_organization(org).filter(pk=tp.pk).delete()
    assert not ResponseRollup.objects.for_organization(org).filter(touchpoint_id=tp.pk).exists()
    scanned, rolled = _both(org, MetricFilters())
    assert rolled == scanned


@pytest.mark.now(NOW)
def test_a_time_zone_change_rebuilds_the_rollups():
    org = OrganizationFactory(slug="tz", time_zone="UTC")
    nps = survey(org, "NPS")
    response(org, nps, "nps", 9, datetime(2026, 3, 1, 20, 0, tzinfo=ZoneInfo("UTC")))
    rollup_rebuild(organization=org)
    assert _rollup_days(org) == {date(2026, 3, 1): 1}
    org.time_zone = "Asia/Shanghai"
    org.save()
    assert not rollups_current(organization=org)  # views scan until the rebuild
    assert rollup_ensure(organization=org)["mode"] == "rebuilt"
    assert _rollup_days(org) == {date(2026, 3, 2): 1}  # 04:00 on 2 March in Shanghai
    assert RollupState.objects.for_organization(org).get().time_zone == "Asia/Shanghai"


@pytest.mark.now(NOW)
def test_rollups_missing_a_response_are_rebuilt():
    """A write that neither signals nor stamps `updated_at` (a raw import): the count check sees it."""
    org = OrganizationFactory(slug="raw", time_zone="Asia/Shanghai")
    nps = survey(org, "NPS")
    response(org, nps, "nps", 9, timezone.now() - timedelta(days=2))
    rollup_rebuild(organization=org)
    extra = response(org, nps, "nps", 1, timezone.now() - timedelta(days=20))
    Response.objects.for_organization(org).filter(pk=extra.pk).update(
        updated_at=timezone.now() - timedelta(days=20)
    )
    assert rollup_ensure(organization=org)["mode"] == "rebuilt"
    assert sum(_rollup_days(org).values()) == 2


@pytest.mark.now(NOW)
def test_late_answers_scattered_over_history_refresh_in_one_pass(monkeypatch):
    from metrics.services import rollups

    org = OrganizationFactory(slug="scattered", time_zone="America/New_York")
    seed_dataset(org, customers=40, now=timezone.now())
    rollup_rebuild(organization=org)
    nps = survey(org, "Late NPS")
    for i in range(30):  # one every other day: 30 separate runs of days
        response(org, nps, "nps", i % 11, timezone.now() - timedelta(days=2 * i + 1, hours=3))
    monkeypatch.setattr(rollups, "SCATTERED_RUNS", 5)
    assert rollup_ensure(organization=org)["mode"] == "refreshed"
    scanned, rolled = _both(org, MetricFilters(bucket="day"))
    assert rolled == scanned
