"""The share page's invitation picker: search, segments, pages, and pasted ids that do not exist."""

from __future__ import annotations

import pytest

from journeys.models import Customer
from metrics.models import CustomerValue
from surveys.models import Invitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_customers(organization):
    rows = [
        Customer(
            organization=organization,
            external_id=f"K{i:04d}",
            name=f"Customer {i:04d}",
            email=f"k{i:04d}@example.com",
        )
        for i in range(1, 131)
    ]
    rows.append(
        Customer(organization=organization, external_id="ZHANG-1", name="张伟", email="zw@example.cn")
    )
    rows.append(Customer(organization=organization, external_id="NOMAIL", name="No Mail", email=""))
    Customer.objects.bulk_create(rows)
    return Customer.objects.unscoped().filter(organization=organization)


def share(survey):
    return f"/surveys/{survey.pk}/share/"


def test_picker_pages_through_every_customer_not_only_the_newest_100(
    owner_client, nps_survey, many_customers
):
    first = owner_client.get(share(nps_survey)).content.decode()
    assert "131 customers match" in first and "page 1 of 3" in first
    assert first.count('name="customers"') == 50
    last = owner_client.get(share(nps_survey) + "?page=3").content.decode()
    assert "张伟" in last and 'name="customers"' in last and "No Mail" not in last
    # the oldest customer is reachable (the old picker showed only the 100 newest)
    assert "K0001" in owner_client.get(share(nps_survey) + "?page=1").content.decode()


def test_picker_searches_external_id_name_and_email(owner_client, nps_survey, many_customers):
    by_id = owner_client.get(share(nps_survey), {"q": "k0042"}).content.decode()
    assert "1 customer matches" in by_id and "Customer 0042" in by_id
    assert "This field is required." not in by_id  # the QR form beside it is not touched by a search
    by_name = owner_client.get(share(nps_survey), {"q": "张"}).content.decode()
    assert "ZHANG-1" in by_name and "Customer 0001" not in by_name
    by_email = owner_client.get(share(nps_survey), {"q": "zw@example"}).content.decode()
    assert "张伟" in by_email and by_email.count('name="customers"') == 1


def test_picker_filters_by_metrics_segment_and_invites_everyone_matching(
    owner_client, nps_survey, many_customers, organization
):
    at_risk = list(many_customers.exclude(email="").order_by("id")[:3])
    for customer in at_risk:
        CustomerValue.objects.create(organization=organization, customer=customer, rfm_segment="at_risk")
    CustomerValue.objects.create(
        organization=organization, customer=many_customers.get(external_id="K0100"), rfm_segment="champions"
    )
    page = owner_client.get(share(nps_survey), {"segment": "rfm_segment:at_risk"}).content.decode()
    assert "3 customers match" in page and "RFM: At risk" in page
    assert all(c.external_id in page for c in at_risk) and "K0100" not in page
    response = owner_client.post(
        share(nps_survey),
        {"segment": "rfm_segment:at_risk", "q": "", "everyone_matching": "on", "language": "en"},
    )
    assert response.status_code == 302
    assert set(Invitation.objects.unscoped().values_list("customer__external_id", flat=True)) == {
        c.external_id for c in at_risk
    }


def test_unknown_pasted_ids_are_named_and_nothing_is_sent(owner_client, nps_survey, many_customers):
    response = owner_client.post(
        share(nps_survey),
        {"external_ids": "K0001, K0002\nNOPE-1\nnope-2, K9999", "language": "en"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 ids not found: NOPE-1, nope-2, K9999" in html
    assert Invitation.objects.unscoped().count() == 0
    ok = owner_client.post(share(nps_survey), {"external_ids": "K0001, K0002", "language": "en"})
    assert ok.status_code == 302
    assert sorted(Invitation.objects.unscoped().values_list("customer__external_id", flat=True)) == [
        "K0001",
        "K0002",
    ]


def test_unknown_pasted_ids_in_chinese(owner_client, nps_survey, many_customers):
    owner_client.cookies["django_language"] = "zh-hans"
    html = owner_client.post(
        share(nps_survey), {"external_ids": "NOPE-1", "language": "en"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "1 个编号未找到：NOPE-1" in html


def test_empty_invitation_is_refused_with_a_message(owner_client, nps_survey, many_customers):
    html = owner_client.post(share(nps_survey), {"language": "en"}).content.decode()
    assert "Choose at least one customer." in html and Invitation.objects.unscoped().count() == 0


def test_invitation_counts_and_languages_are_labelled(owner_client, nps_survey, many_customers):
    owner_client.post(share(nps_survey), {"external_ids": "K0001", "language": "zh-hans"})
    html = owner_client.get(share(nps_survey)).content.decode()
    assert '<div class="label">Queued</div>' in html or '<div class="label">Sent</div>' in html
    assert "<td>Simplified Chinese</td>" in html and "<td>zh-hans</td>" not in html
