"""Pages: journey map with scores, editing and reordering, touchpoint page, customers, privacy, paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from cxm.tenancy.roles import Role
from journeys.models import Stage, Touchpoint

from .factories import (
    CustomerFactory,
    InteractionFactory,
    JourneyFactory,
    StageFactory,
    TouchpointFactory,
    TransactionFactory,
)
from .helpers import make_responses

pytestmark = pytest.mark.django_db


@pytest.fixture
def retail(organization):
    journey = JourneyFactory(organization=organization, name="Retail")
    buy = StageFactory(journey=journey, name="Buy", position=0)
    support = StageFactory(journey=journey, name="Support", position=1)
    checkout = TouchpointFactory(stage=buy, name="Web checkout", key="web-checkout", channel="website")
    phone = TouchpointFactory(stage=support, name="Phone support", key="phone-support", channel="phone")
    return journey, buy, support, checkout, phone


def test_journey_map_shows_scores_trend_and_colour(owner_client, retail, django_assert_num_queries):
    journey, buy, support, checkout, phone = retail
    make_responses(checkout, "nps", [10, 10, 9, 9, 8, 3])  # NPS 50 now
    make_responses(checkout, "nps", [10, 3, 3, 3], when=timezone.now() - timedelta(days=100))  # -50 before
    make_responses(phone, "ces", [2, 3, 2, 1, 3])  # mean 2.2: poor
    # Fixed, whatever the number of touchpoints: includes one CSAT-scale lookup per scored period.
    # + the text layer's served version (top themes); + the inbox badge's unread count (cold cache)
    with django_assert_num_queries(16):
        page = owner_client.get(f"/journeys/{journey.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-touchpoint="web-checkout"' in html and "tone-good" in html
    card = html.split('data-touchpoint="web-checkout"')[1].split("</li>")[0]
    assert '<strong class="score-value">50</strong>' in card and "n=6" in card and "+100" in card
    assert "trend unreliable" in card  # fewer than 30 answers per side: no detectable change
    phone_card = html.split('data-touchpoint="phone-support"')[1].split("</li>")[0]
    assert "tp-score tone-poor" in phone_card and "2.2" in phone_card
    assert html.index("Buy") < html.index("Support")


def test_channel_filter(owner_client, retail):
    journey = retail[0]
    html = owner_client.get(f"/journeys/{journey.pk}/?channel=phone").content.decode()
    assert "phone-support" in html and "web-checkout" not in html
    assert owner_client.get(f"/journeys/{journey.pk}/?channel=fax&days=abc").status_code == 200


def test_managers_edit_and_reorder_on_the_page(owner_client, retail):
    journey, buy, support, checkout, phone = retail
    owner_client.post(f"/journeys/{journey.pk}/stages/add/", {"name": "Repurchase"})
    assert list(
        Stage.objects.unscoped().filter(journey=journey).order_by("position").values_list("name", flat=True)
    ) == [
        "Buy",
        "Support",
        "Repurchase",
    ]
    owner_client.post(f"/journeys/stages/{support.pk}/move/", {"direction": "left"})
    assert list(
        Stage.objects.unscoped().filter(journey=journey).order_by("position").values_list("name", flat=True)
    ) == [
        "Support",
        "Buy",
        "Repurchase",
    ]
    second = TouchpointFactory(stage=buy, key="store", name="Store")
    owner_client.post(f"/journeys/touchpoints/{second.pk}/move/", {"direction": "up"})
    assert list(
        Touchpoint.objects.unscoped().filter(stage=buy).order_by("position").values_list("key", flat=True)
    ) == [
        "store",
        "web-checkout",
    ]
    r = owner_client.post(
        f"/journeys/touchpoints/{second.pk}/edit/",
        {
            "name": "Flagship store",
            "key": "store",
            "channel": "store",
            "stage": support.pk,
            "owner": "Retail ops",
        },
    )
    assert r.status_code == 302
    second.refresh_from_db()
    assert (second.name, second.stage_id, second.owner) == ("Flagship store", support.pk, "Retail ops")
    dup = owner_client.post(
        "/journeys/touchpoints/new/", {"name": "X", "key": "store", "channel": "store", "stage": buy.pk}
    )
    assert dup.status_code == 200 and "Another touchpoint already uses this key." in dup.content.decode()
    owner_client.post(f"/journeys/stages/{buy.pk}/delete/")
    checkout.refresh_from_db()
    assert checkout.stage_id is None


def test_viewer_sees_map_but_cannot_edit(client, organization, make_member, retail):
    journey, buy = retail[0], retail[1]
    client.force_login(make_member(organization, Role.VIEWER))
    page = client.get(f"/journeys/{journey.pk}/").content.decode()
    assert "web-checkout" in page and "stage-move" not in page and "Add stage" not in page
    assert client.post(f"/journeys/{journey.pk}/stages/add/", {"name": "X"}).status_code == 403
    assert client.post(f"/journeys/stages/{buy.pk}/move/", {"direction": "left"}).status_code == 403


# Half an hour into a new year: "3 days ago" is last month, last year (month buckets by date).
@pytest.mark.now(datetime(2027, 1, 1, 0, 30, tzinfo=UTC))
def test_touchpoint_page_scores_comments_escaped_and_surveys(owner_client, retail):
    checkout = retail[3]
    make_responses(checkout, "nps", [9, 10], comment="<script>alert(1)</script> great")  # 29 December
    make_responses(checkout, "nps", [3], when=timezone.now() - timedelta(minutes=20))  # 1 January
    html = owner_client.get(f"/journeys/touchpoints/{checkout.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; great" in html and "<script>alert(1)" not in html
    assert "nps at web-checkout" in html
    data = json.loads(
        html.split('id="touchpoint-chart-data" type="application/json">')[1].split("</script>")[0]
    )
    months = [f"2026-{m:02d}" for m in range(2, 13)] + ["2027-01"]
    assert data["series"]["month"] == months
    assert data["series"]["nps"][-2:] == [100.0, -100.0] and data["series"]["n"][-2:] == [2, 1]
    assert data["series"]["nps"][:-2] == [None] * 10


def test_customer_list_search_and_query_count(owner_client, organization, django_assert_num_queries):
    CustomerFactory(organization=organization, external_id="C1", name="Li Wei", city="Shanghai")
    CustomerFactory(
        organization=organization, external_id="C2", name="Ann Lee", city="London", unsubscribed=True
    )
    for _ in range(30):
        CustomerFactory(organization=organization)
    with django_assert_num_queries(12):  # + the inbox badge's unread count (cold cache)
        page = owner_client.get("/customers/")
    assert page.status_code == 200 and "32 customers" in page.content.decode()
    html = owner_client.get("/customers/?q=li+wei").content.decode()
    assert "C1" in html and "Ann Lee" not in html
    html = owner_client.get("/customers/?status=unsubscribed").content.decode()
    assert "Ann Lee" in html and "Li Wei" not in html
    assert owner_client.get("/customers/?seen_after=bad").status_code == 200


def test_customer_page_timeline_in_time_order(owner_client, organization, retail, django_assert_num_queries):
    checkout = retail[3]
    customer = CustomerFactory(organization=organization, external_id="C7", name="Zhou Min")
    now = timezone.now()
    InteractionFactory(customer=customer, touchpoint=checkout, occurred_at=now - timedelta(days=5))
    TransactionFactory(customer=customer, order_id="O-1", amount="99.00", occurred_at=now - timedelta(days=4))
    TransactionFactory(
        customer=customer, order_id="O-2", amount="-20.00", occurred_at=now - timedelta(days=2)
    )
    make_responses(checkout, "nps", [4], when=now - timedelta(days=3), customer=customer, comment="slow")
    make_responses(checkout, "nps", [9], when=now - timedelta(days=1), customer=customer)
    # Fixed: the page's own reads plus one for the customer's metrics values.
    # + the comments' sentiment and themes, the theme names; + the inbox badge's unread count
    with django_assert_num_queries(21):
        page = owner_client.get(f"/customers/{customer.pk}/")
    html = page.content.decode()
    kinds = [part.split('"')[0] for part in html.split('data-kind="')[1:]]
    assert kinds == ["response", "order", "response", "order", "interaction"]
    assert "Refund" in html and "O-2" in html
    latest = html.split("Latest NPS answer")[1].split("</div></div>")[0]
    assert ">9<" in latest and "Promoter" in latest


def test_export_download_and_erase_from_the_page(client, organization, make_member, retail):
    customer = CustomerFactory(
        organization=organization, external_id="C5", name="王伟", email="w@example.com"
    )
    make_responses(retail[3], "nps", [10], customer=customer)
    client.force_login(make_member(organization, Role.ANALYST))
    export = client.get(f"/customers/{customer.pk}/export/")
    assert export["Content-Disposition"].startswith("attachment")
    assert json.loads(export.content)["customer"]["name"] == "王伟"
    assert client.post(f"/customers/{customer.pk}/erase/").status_code == 403
    client.force_login(make_member(organization, Role.ADMIN))
    assert client.post(f"/customers/{customer.pk}/erase/").status_code == 302
    customer.refresh_from_db()
    assert customer.name == "" and customer.erased_at is not None
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Erased customer" in html and "王伟" not in html


def test_viewer_cannot_export(client, organization, make_member):
    customer = CustomerFactory(organization=organization)
    client.force_login(make_member(organization, Role.VIEWER))
    assert client.get(f"/customers/{customer.pk}/export/").status_code == 403
    assert client.get("/imports/").status_code == 403


def test_paths_page_funnel_and_sequences(owner_client, organization, retail):
    journey, buy, support, checkout, phone = retail
    now = timezone.now()
    for k in range(4):
        customer = CustomerFactory(organization=organization)
        InteractionFactory(customer=customer, touchpoint=checkout, occurred_at=now - timedelta(days=10))
        if k < 1:
            InteractionFactory(customer=customer, touchpoint=phone, occurred_at=now - timedelta(days=9))
    page = owner_client.get(f"/journeys/{journey.pk}/paths/")
    html = page.content.decode()
    assert page.status_code == 200
    table = html.split('id="funnel-table"')[1].split("</table>")[0]
    assert "<td>Buy</td>" in table and "75%" in table  # 3 of 4 dropped after Buy
    assert "Web checkout → Phone support" in html
    assert owner_client.get(f"/journeys/{journey.pk}/paths/?start=bad").status_code == 200


def test_journey_index_and_create(owner_client, organization, retail):
    html = owner_client.get("/journeys/").content.decode()
    assert "Retail" in html
    r = owner_client.post("/journeys/", {"name": "Onboarding"})
    assert r.status_code == 302
    assert owner_client.post("/journeys/", {"name": ""}).status_code == 200


def test_pages_in_simplified_chinese(owner_client, retail):
    owner_client.post("/account/language/", {"language": "zh-hans"})
    html = owner_client.get(f"/journeys/{retail[0].pk}/").content.decode()
    assert "旅程地图" in html and "路径与流失" in html
    assert "客户" in owner_client.get("/customers/").content.decode()


def test_customer_page_shows_metrics_segment_after_recompute(owner_client, organization, retail):
    from metrics.services import dashboards_recompute

    customer = CustomerFactory(organization=organization, external_id="C9", name="Chen Jie")
    now = timezone.now()
    for i, amount in enumerate(["120.00", "80.00", "60.00"]):
        TransactionFactory(
            customer=customer, order_id=f"S-{i}", amount=amount, occurred_at=now - timedelta(days=10 * i + 1)
        )
    before = owner_client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Available once metrics are computed" in before
    dashboards_recompute(organization=organization)
    html = owner_client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Available once metrics are computed" not in html
    assert "Value tier" in html and "Lifecycle" in html
    assert "{" not in html.split('class="kpis"')[1].split("</div>\n<div")[0]


@pytest.mark.now(datetime(2027, 1, 1, 0, 30, tzinfo=UTC))
def test_touchpoint_page_reads_one_query_per_chart_for_this_touchpoint(
    owner_client, retail, django_assert_num_queries
):
    checkout, phone = retail[3], retail[4]
    make_responses(checkout, "csat", [5, 4, 2])  # 29 December: 2 of 3 satisfied
    make_responses(checkout, "nps", [10, 6], when=timezone.now() - timedelta(days=40))  # November
    make_responses(phone, "nps", [0, 0, 0])  # another touchpoint: never in this page's figures
    # Session, user, language, membership, touchpoint with its organization; per chart, the CSAT
    # scales and one grouped query (the twelve months; the cards' two windows); comments; surveys;
    # the menu's memberships; the session save (3). Before: two queries per month and window (28).
    # + the text layer: the served version (top themes) and the comments' sentiment and themes.
    # + the inbox badge's unread count (cold cache).
    with django_assert_num_queries(18) as captured:
        page = owner_client.get(f"/journeys/touchpoints/{checkout.pk}/")
    assert page.status_code == 200
    grouped = [q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 2 and all(f'"touchpoint_id" = {checkout.pk}' in sql for sql in grouped)
    html = page.content.decode()
    data = json.loads(
        html.split('id="touchpoint-chart-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["series"]["n"][-3:] == [2, 3, 0] and data["series"]["nps"][-3] == 0.0
    assert data["series"]["csat"][-2] == pytest.approx(200 / 3)
