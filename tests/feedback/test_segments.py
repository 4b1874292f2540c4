"""The customer-segment filter of the text pages and API: the comment explorer, its CSV/XLSX export, the
text API and the Text dashboard narrow to the comments of the customers in a segment (RFM segment, value
tier, lifecycle stage), the segments the other dashboards filter on (metrics.selectors)."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from cxm.tenancy.roles import Role
from feedback import services
from metrics.dashboards.text import build_text
from metrics.filters import MetricFilters
from metrics.models import CustomerValue
from tests.journeys.factories import CustomerFactory, TouchpointFactory

from .helpers import Comments, record

pytestmark = pytest.mark.django_db


def _customer(organization, external_id, **values):
    customer = CustomerFactory(organization=organization, external_id=external_id)
    CustomerValue.objects.create(organization=organization, customer=customer, **values)
    return customer


@pytest.fixture
def segmented(organization, other_organization, settings):
    """Two customers in two segments, each with comments; a customer of another organization in the
    same segment with a comment of its own; a comment of a customer with no segment."""
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    touchpoint = TouchpointFactory(stage__journey__organization=organization, name="Home delivery")
    made = Comments(organization, touchpoint=touchpoint)
    high = _customer(
        organization, "vip-1", rfm_segment="champions", value_tier="high", lifecycle_stage="active"
    )
    low = _customer(organization, "low-1", rfm_segment="at_risk", value_tier="low", lifecycle_stage="at_risk")
    made.add(10, "delivery was fast, great service", customer=high)
    made.add(9, "物流很快，服务很好", customer=high)
    record(organization, "rev-high", "the app keeps crashing", customer=high, channel="app_store")
    made.add(2, "the price is too expensive and delivery was late", customer=low)
    made.add(7, "没有评价的普通顾客")  # a customer without a segment
    elsewhere = Comments(other_organization)
    foreign = _customer(other_organization, "vip-x", rfm_segment="champions", value_tier="high")
    elsewhere.add(10, "globex delivery was perfect", customer=foreign)
    services.text_pending_analyse(organization_id=organization.pk)
    services.text_pending_analyse(organization_id=other_organization.pk)
    return made


def _count(html):
    return int(html.split('data-count="', 1)[1].split('"', 1)[0])


def test_the_explorer_offers_the_dashboards_segments(owner_client, segmented):
    html = owner_client.get(reverse("feedback:explorer")).content.decode()
    assert 'name="segment"' in html
    assert 'value="value_tier:high"' in html and 'value="rfm_segment:champions"' in html
    assert 'value="lifecycle_stage:at_risk"' in html


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        (
            "value_tier:high",
            {"delivery was fast, great service", "物流很快，服务很好", "the app keeps crashing"},
        ),
        ("rfm_segment:at_risk", {"the price is too expensive and delivery was late"}),
        (
            "lifecycle_stage:active",
            {"delivery was fast, great service", "物流很快，服务很好", "the app keeps crashing"},
        ),
        ("value_tier:medium", set()),
    ],
)
def test_the_explorer_narrows_to_a_segments_comments(owner_client, segmented, segment, expected):
    html = owner_client.get(reverse("feedback:explorer"), {"segment": segment}).content.decode()
    assert _count(html) == len(expected)
    for text in expected:
        assert text in html
    assert "没有评价的普通顾客" not in html and "globex" not in html


def test_the_segment_combines_with_search_and_other_filters(owner_client, segmented):
    html = owner_client.get(
        reverse("feedback:explorer"), {"segment": "value_tier:high", "q": "delivery"}
    ).content.decode()
    assert _count(html) == 1 and "<mark>delivery</mark> was fast" in html
    html = owner_client.get(
        reverse("feedback:explorer"), {"segment": "value_tier:high", "source": "app_store"}
    ).content.decode()
    assert _count(html) == 1 and "the app keeps crashing" in html


def test_an_unknown_segment_is_a_form_error_not_a_500(owner_client, segmented):
    page = owner_client.get(reverse("feedback:explorer"), {"segment": "value_tier:gold"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="form-errors"') == 1
    assert _count(html) == 5  # the bad filter is not applied


def test_csv_and_xlsx_exports_follow_the_segment(owner_client, segmented):
    response = owner_client.get(
        reverse("feedback:explorer-export", args=["csv"]), {"segment": "rfm_segment:at_risk"}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row[-1] for row in rows[1:]] == ["the price is too expensive and delivery was late"]
    response = owner_client.get(
        reverse("feedback:explorer-export", args=["xlsx"]), {"segment": "value_tier:high"}
    )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    texts = sorted(row[-1] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert texts == sorted(
        ["delivery was fast, great service", "物流很快，服务很好", "the app keeps crashing"]
    )


def test_the_text_api_takes_the_segment(api_client, segmented):
    found = api_client.get("/api/v1/text/search", {"segment": "value_tier:high"}).json()
    assert len(found["results"]) == 3
    assert {row["feedback"] for row in found["results"]} == {None, "rev-high"}
    found = api_client.get("/api/v1/text/search", {"segment": "value_tier:low", "q": "delivery"}).json()
    assert len(found["results"]) == 1
    themes = api_client.get("/api/v1/text/themes", {"segment": "value_tier:low"}).json()
    delivery = next(t for t in themes["themes"] if t["theme"] == "delivery")
    assert delivery["mentions"] == 1 and delivery["negative"] == 1
    assert themes["responses_with_comment"] == 1
    assert themes["nps"] == pytest.approx(-100.0)  # the one NPS response of the segment: a detractor
    trend = api_client.get("/api/v1/text/trend", {"bucket": "day", "segment": "value_tier:high"}).json()
    assert sum(row["comments"] for row in trend["sentiment"]) == 3


def test_the_text_dashboard_follows_the_segment(organization, segmented):
    everyone = build_text(organization=organization, filters=MetricFilters(), using="default", context={})
    high = build_text(
        organization=organization,
        filters=MetricFilters(segment="value_tier:high"),
        using="default",
        context={},
    )
    low = build_text(
        organization=organization,
        filters=MetricFilters(segment="value_tier:low"),
        using="default",
        context={},
    )
    assert everyone["summary"]["comments"] == 5
    assert high["summary"]["comments"] == 3 and low["summary"]["comments"] == 1
    assert low["summary"]["negative"] == 1 and low["nps"] == pytest.approx(-100.0)
    assert high["nps"] == pytest.approx(100.0)  # two promoters


def test_the_text_dashboard_page_takes_the_segment(owner_client, organization, segmented):
    # Computed on request (a recompute would rebuild the customers' values from their orders, and these
    # customers have none).
    html = owner_client.get(reverse("dashboard-text"), {"segment": "value_tier:low"}).content.decode()
    assert 'data-kpi="comments">1<' in html
    assert "does not apply here" not in html


def test_another_organization_sees_none_of_the_segments_comments(
    client, api_client, other_organization, make_member, segmented
):
    client.force_login(make_member(other_organization, Role.OWNER))
    html = client.get(reverse("feedback:explorer"), {"segment": "value_tier:high"}).content.decode()
    assert _count(html) == 1 and "globex delivery was perfect" in html and "物流" not in html
    body = b"".join(
        client.get(
            reverse("feedback:explorer-export", args=["csv"]), {"segment": "value_tier:high"}
        ).streaming_content
    ).decode("utf-8-sig")
    assert "globex" in body and "the app keeps crashing" not in body
    # The first organization's key does not reach the other's customers in the same segment.
    found = api_client.get("/api/v1/text/search", {"segment": "value_tier:high"}).json()
    assert len(found["results"]) == 3 and not any("globex" in row["text"] for row in found["results"])


def test_the_segment_filter_runs_a_fixed_number_of_queries(
    owner_client, organization, segmented, django_assert_num_queries
):
    params = {"segment": "value_tier:high"}
    owner_client.get(reverse("feedback:explorer"), params)  # sessions, caches
    with CaptureQueriesContext(connection) as captured:
        owner_client.get(reverse("feedback:explorer"), params)
    few = len(captured)
    with CaptureQueriesContext(connection) as captured:
        owner_client.get(reverse("feedback:explorer"))
    assert few == len(captured)  # the segment is a subquery, not a query of its own
    high = CustomerValue.objects.unscoped().get(organization=organization, value_tier="high").customer
    for i in range(30):
        record(organization, f"more-{i}", f"delivery was slow again {i}", customer=high)
    services.text_pending_analyse(organization_id=organization.pk)
    with django_assert_num_queries(few):
        html = owner_client.get(reverse("feedback:explorer"), params).content.decode()
    assert _count(html) == 33
