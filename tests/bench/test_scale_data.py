"""The scale benchmark's data generator, at a tiny scale: counts, shape, determinism, and the
"1 % new data" it adds and removes again."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import override_settings

from bench import scale_data
from cxm.tenancy.models import Organization
from surveys.signals import response_recorded

pytestmark = pytest.mark.services

ANCHOR = date(2026, 11, 30)
SCALE = 0.0005  # 500 responses, 1,000 interactions, 250 orders, 50 customers


def _generate(slug: str, seed: int = 7) -> scale_data.Setup:
    return scale_data.generate(
        scale=SCALE, seed=seed, slug=slug, anchor=ANCHOR, vacuum=False, log=lambda line: None
    )


def _rows(setup: scale_data.Setup) -> list[tuple[Any, ...]]:
    """The responses without their ids: what the seed decides."""
    with connection.cursor() as c:
        c.execute(
            "SELECT score_kind, score, locale, channel, comment, submitted_at, customer_id - %s"
            " FROM surveys_response WHERE organization_id = %s ORDER BY idempotency_key",
            [setup.first_customer, setup.organization_id],
        )
        return c.fetchall()


def test_generate_fills_every_table_with_the_shape_of_a_retail_organization(postgres: Any) -> None:
    setup = _generate("scale-a")

    counts = scale_data.table_counts(setup.organization_id)
    assert counts["journeys_customer"] == 50
    assert counts["surveys_response"] == 500
    assert counts["journeys_interaction"] == 1000
    assert counts["journeys_transaction"] == 250
    assert 0 < counts["surveys_answer"] < 500  # two driver answers on one relationship NPS response in five
    assert len(setup.touchpoints) == len(scale_data.TOUCHPOINTS)
    assert set(setup.surveys) == {
        "Relationship NPS",
        "Post-purchase NPS",
        "Delivery CSAT",
        "Support CES",
        "App rating",
    }
    organization = Organization.objects.get(pk=setup.organization_id)
    assert organization.time_zone == "Asia/Shanghai"
    with connection.cursor() as c:
        c.execute(
            "SELECT min((submitted_at AT TIME ZONE 'Asia/Shanghai')::date), max((submitted_at AT TIME ZONE 'Asia/Shanghai')::date),"
            " min(extract(hour FROM submitted_at AT TIME ZONE 'Asia/Shanghai')), max(extract(hour FROM submitted_at AT TIME ZONE 'Asia/Shanghai')),"
            " count(DISTINCT locale), count(*) FILTER (WHERE customer_id IS NULL), count(DISTINCT touchpoint_id),"
            " bool_and(CASE score_kind WHEN 'nps' THEN score BETWEEN 0 AND 10 WHEN 'ces' THEN score BETWEEN 1 AND 7"
            " ELSE score BETWEEN 1 AND 5 END)"
            " FROM surveys_response WHERE organization_id = %s",
            [setup.organization_id],
        )
        first, last, first_hour, last_hour, locales, anonymous, touchpoints, scores_in_range = c.fetchone()
        c.execute(
            "SELECT count(DISTINCT t.channel), count(DISTINCT i.touchpoint_id) FROM journeys_interaction i"
            " JOIN journeys_touchpoint t ON t.id = i.touchpoint_id WHERE i.organization_id = %s",
            [setup.organization_id],
        )
        channels, interaction_touchpoints = c.fetchone()
        c.execute(
            "SELECT count(*) FILTER (WHERE amount < 0), min(customer_id) >= %s, max(customer_id) < %s + 50"
            " FROM journeys_transaction WHERE organization_id = %s",
            [setup.first_customer, setup.first_customer, setup.organization_id],
        )
        refunds, customers_from, customers_to = c.fetchone()
    assert ANCHOR - timedelta(days=scale_data.DAYS) <= first < ANCHOR - timedelta(days=300)
    assert ANCHOR - timedelta(days=60) < last <= ANCHOR
    assert 7 <= first_hour and last_hour <= 22  # daytime, local
    assert locales == 2
    assert 20 <= anonymous <= 110  # 12 % of 500
    assert touchpoints == 9  # the surveys' touchpoints (relationship NPS has none)
    assert scores_in_range
    assert channels == 7 and interaction_touchpoints == 13
    assert 1 <= refunds <= 30  # 4 % of 250
    assert customers_from and customers_to


def test_the_same_seed_gives_the_same_rows_and_another_seed_other_rows(postgres: Any) -> None:
    first = _rows(_generate("scale-a", seed=7))
    again = _rows(_generate("scale-b", seed=7))
    other = _rows(_generate("scale-c", seed=8))

    assert first == again
    assert first != other


def test_add_puts_one_percent_on_top_tells_the_metrics_layer_and_remove_takes_it_away(
    postgres: Any, django_capture_on_commit_callbacks: Any
) -> None:
    setup = _generate("scale-a")
    organization = Organization.objects.get(pk=setup.organization_id)
    before = scale_data.table_counts(setup.organization_id)
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    response_recorded.connect(receiver, dispatch_uid="test-scale-data")
    try:
        with (
            override_settings(METRICS_RECOMPUTE_ON_SIGNAL=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            added = scale_data.add(organization=organization, fraction=0.1, tag="t1")
    finally:
        response_recorded.disconnect(dispatch_uid="test-scale-data")

    assert added == {"customers": 2, "responses": 50, "interactions": 100, "orders": 25}
    after = scale_data.table_counts(setup.organization_id)
    assert after["surveys_response"] == before["surveys_response"] + 50
    assert after["journeys_interaction"] == before["journeys_interaction"] + 100
    assert after["journeys_transaction"] == before["journeys_transaction"] + 25
    assert after["journeys_customer"] == before["journeys_customer"] + 2
    assert len(received) == 1 and received[0]["organization_id"] == organization.pk
    assert len(received[0]["response_ids"]) == 50
    with connection.cursor() as c:
        c.execute(
            "SELECT count(*) FILTER (WHERE submitted_at > now() - interval '1 day'),"
            " count(*) FILTER (WHERE submitted_at < now() - interval '2 days'), max(submitted_at) <= now()"
            " FROM surveys_response WHERE organization_id = %s AND idempotency_key LIKE 't1-k%%'",
            [organization.pk],
        )
        recent, late, none_in_future = c.fetchone()
    assert recent >= 20 and late >= 3  # most on the current day, some arriving late for older days
    assert none_in_future

    removed = scale_data.remove(organization=organization, tag="t1")

    assert removed["surveys_response"] == 50 and removed["journeys_customer"] == 2
    assert scale_data.table_counts(setup.organization_id) == before
