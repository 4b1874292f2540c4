"""The journeys API: CRUD and reorder, customers by external id, bulk ingest, lists, privacy."""

from __future__ import annotations

import pytest

from cxm.tenancy.roles import Role
from journeys.models import Customer, Interaction, Stage, Touchpoint

from .factories import (
    CustomerFactory,
    InteractionFactory,
    JourneyFactory,
    StageFactory,
    TouchpointFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db


def test_journey_stage_touchpoint_crud(api_client, organization):
    journey = api_client.post("/api/v1/journeys/", {"name": "Retail"}, format="json")
    assert journey.status_code == 201, journey.content
    jid = journey.json()["id"]
    ids = []
    for name in ("Discover", "Buy", "Use"):
        r = api_client.post("/api/v1/stages/", {"journey": jid, "name": name}, format="json")
        assert r.status_code == 201, r.content
        ids.append(r.json()["id"])
    assert [s["position"] for s in Stage.objects.unscoped().filter(journey_id=jid).values("position")] == [
        0,
        1,
        2,
    ]
    inserted = api_client.post(
        "/api/v1/stages/", {"journey": jid, "name": "Compare", "position": 1}, format="json"
    )
    assert inserted.json()["position"] == 1
    detail = api_client.get(f"/api/v1/journeys/{jid}/").json()
    assert [s["name"] for s in detail["stages"]] == ["Discover", "Compare", "Buy", "Use"]
    tp = api_client.post(
        "/api/v1/touchpoints/",
        {
            "stage": ids[1],
            "name": "Web checkout",
            "key": "web-checkout",
            "channel": "website",
            "owner": "Ecom",
        },
        format="json",
    )
    assert tp.status_code == 201, tp.content
    assert tp.json()["key"] == "web-checkout" and tp.json()["position"] == 0
    dup = api_client.post(
        "/api/v1/touchpoints/", {"stage": ids[1], "name": "X", "key": "web-checkout"}, format="json"
    )
    assert dup.status_code == 400 and "key" in dup.json()["error"]["fields"]
    bad_channel = api_client.post(
        "/api/v1/touchpoints/", {"name": "X", "key": "x", "channel": "fax"}, format="json"
    )
    assert bad_channel.status_code == 400
    patched = api_client.patch(f"/api/v1/touchpoints/{tp.json()['id']}/", {"owner": "Digital"}, format="json")
    assert patched.json()["owner"] == "Digital"
    listed = api_client.get(f"/api/v1/touchpoints/?journey={jid}&channel=website").json()
    assert [t["key"] for t in listed["results"]] == ["web-checkout"]
    assert api_client.delete(f"/api/v1/stages/{ids[0]}/").status_code == 204
    assert list(
        Stage.objects.unscoped().filter(journey_id=jid).order_by("position").values_list("name", "position")
    ) == [
        ("Compare", 0),
        ("Buy", 1),
        ("Use", 2),
    ]
    assert api_client.delete(f"/api/v1/journeys/{jid}/").status_code == 204


def test_reorder_stages_and_touchpoints(api_client, organization):
    journey = JourneyFactory(organization=organization)
    a, b, c = (StageFactory(journey=journey, name=n) for n in "abc")
    r = api_client.post(
        f"/api/v1/journeys/{journey.pk}/reorder-stages/", {"order": [c.pk, a.pk, b.pk]}, format="json"
    )
    assert r.status_code == 200, r.content
    assert [s["name"] for s in r.json()] == ["c", "a", "b"]
    incomplete = api_client.post(
        f"/api/v1/journeys/{journey.pk}/reorder-stages/", {"order": [c.pk]}, format="json"
    )
    assert incomplete.status_code == 400
    t1, t2 = TouchpointFactory(stage=a), TouchpointFactory(stage=a)
    t3 = TouchpointFactory(stage=b)
    moved = api_client.post(
        f"/api/v1/stages/{a.pk}/reorder-touchpoints/", {"order": [t3.pk, t2.pk, t1.pk]}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert list(
        Touchpoint.objects.unscoped().filter(stage=a).order_by("position").values_list("id", flat=True)
    ) == [
        t3.pk,
        t2.pk,
        t1.pk,
    ]
    missing = api_client.post(
        f"/api/v1/stages/{a.pk}/reorder-touchpoints/", {"order": [t1.pk]}, format="json"
    )
    assert missing.status_code == 400
    bad = api_client.post(f"/api/v1/stages/{a.pk}/reorder-touchpoints/", {"order": "x"}, format="json")
    assert bad.status_code == 400


def test_stage_of_another_organization_is_rejected(api_client, organization, other_organization):
    theirs = StageFactory(journey__organization=other_organization)
    r = api_client.post("/api/v1/touchpoints/", {"stage": theirs.pk, "name": "X", "key": "x"}, format="json")
    assert r.status_code == 400 and "stage" in r.json()["error"]["fields"]


def test_read_only_key_cannot_write(read_only_api_client, organization):
    assert read_only_api_client.get("/api/v1/journeys/").status_code == 200
    assert read_only_api_client.post("/api/v1/journeys/", {"name": "x"}, format="json").status_code == 403
    r = read_only_api_client.post("/api/v1/interactions/bulk", [], format="json")
    assert r.status_code == 403


def test_customer_upsert_get_update_delete(api_client, organization):
    r = api_client.post(
        "/api/v1/customers/", {"external_id": "C1", "name": "Ann", "city": "Paris"}, format="json"
    )
    assert r.status_code == 201 and r.json()["name"] == "Ann"
    r = api_client.post(
        "/api/v1/customers/", {"external_id": "C1", "email": "ann@example.com"}, format="json"
    )
    assert r.status_code == 200 and r.json()["name"] == "Ann" and r.json()["email"] == "ann@example.com"
    bad = api_client.post("/api/v1/customers/", {"external_id": "C1", "email": "nope"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["fields"] == {
        "email": ["email is not a valid address"]
    }
    assert api_client.post("/api/v1/customers/", {"name": "x"}, format="json").status_code == 400
    got = api_client.get("/api/v1/customers/C1/")
    assert got.json()["city"] == "Paris"
    patched = api_client.patch(
        "/api/v1/customers/C1/", {"city": "Lyon", "external_id": "ignored"}, format="json"
    )
    assert patched.json()["city"] == "Lyon" and patched.json()["external_id"] == "C1"
    assert api_client.patch("/api/v1/customers/NOPE/", {"city": "x"}, format="json").status_code == 404
    InteractionFactory(customer=Customer.objects.unscoped().get(external_id="C1"))
    assert api_client.delete("/api/v1/customers/C1/").status_code == 204
    assert not Customer.objects.unscoped().filter(organization=organization).exists()
    assert not Interaction.objects.unscoped().exists()


def test_external_ids_with_slashes_are_addressable(api_client, organization):
    r = api_client.post("/api/v1/customers/", {"external_id": "shop/42", "name": "Li"}, format="json")
    assert r.status_code == 201
    assert api_client.get("/api/v1/customers/shop/42/").json()["name"] == "Li"
    assert api_client.get("/api/v1/customers/shop%2F42/").json()["external_id"] == "shop/42"
    patched = api_client.patch("/api/v1/customers/shop/42/", {"city": "Xi'an"}, format="json")
    assert patched.status_code == 200 and patched.json()["city"] == "Xi'an"
    exported = api_client.get("/api/v1/customers/shop/42/export/")
    assert exported.status_code == 200 and exported.json()["customer"]["external_id"] == "shop/42"
    assert api_client.get("/api/v1/customers/shop/").status_code == 404
    assert api_client.delete("/api/v1/customers/shop/42/").status_code == 204
    assert not Customer.objects.unscoped().filter(organization=organization).exists()


def test_customer_list_filters_and_search(api_client, organization, clock, django_assert_num_queries):
    clock.freeze()  # an API key's "last used" is written once a minute: never inside a counted request
    CustomerFactory(organization=organization, external_id="A1", name="Wang Fang", city="Beijing")
    CustomerFactory(
        organization=organization, external_id="A2", name="John Smith", city="London", unsubscribed=True
    )
    CustomerFactory(organization=organization, external_id="B3", name="王芳", city="beijing")

    def ids(query):
        return [c["external_id"] for c in api_client.get(f"/api/v1/customers/{query}").json()["results"]]

    assert ids("?city=Beijing") == ["B3", "A1"]
    assert ids("?q=smith") == ["A2"]
    assert ids("?q=wang") == ["A1"]
    assert ids("?q=b3") == ["B3"]
    assert ids("?unsubscribed=true") == ["A2"]
    assert ids("?q=王") == ["B3"]
    assert api_client.get("/api/v1/customers/?seen_after=notadate").status_code == 400
    for k in range(20):
        CustomerFactory(organization=organization)
    with django_assert_num_queries(2):
        r = api_client.get("/api/v1/customers/?page_size=50")
    assert len(r.json()["results"]) == 23


def test_bulk_endpoints(api_client, organization):
    TouchpointFactory(stage__journey__organization=organization, key="web")
    customers = api_client.post(
        "/api/v1/customers/bulk",
        [
            {"external_id": "C1", "name": "A"},
            {"external_id": "C2", "email": "bad"},
            {"external_id": "C1", "city": "X"},
        ],
        format="json",
    )
    assert customers.status_code == 200, customers.content
    body = customers.json()
    assert (body["created"], body["rejected"], body["duplicates"]) == (1, 1, 1)
    assert body["errors"] == [{"index": 1, "field": "email", "reason": "email is not a valid address"}]
    assert Customer.objects.unscoped().get(external_id="C1").city == "X"
    records = [
        {
            "id": f"e{k}",
            "customer_external_id": "C1",
            "touchpoint": "web",
            "occurred_at": "2026-01-02T03:04:05Z",
        }
        for k in range(3)
    ] + [{"id": "bad", "customer_external_id": "C1", "occurred_at": "nope"}]
    first = api_client.post("/api/v1/interactions/bulk", records, format="json").json()
    assert (first["received"], first["created"], first["rejected"]) == (4, 3, 1)
    assert first["errors"][0]["index"] == 3
    second = api_client.post("/api/v1/interactions/bulk", {"records": records}, format="json").json()
    assert (second["created"], second["duplicates"]) == (0, 3)
    tx = api_client.post(
        "/api/v1/transactions/bulk",
        [{"order_id": "O1", "customer_external_id": "C9", "occurred_at": "2026-01-01", "amount": 10}],
        format="json",
    ).json()
    assert (tx["created"], tx["customers_created"]) == (1, 1)


def test_bulk_rejects_bad_envelopes(api_client, organization, settings):
    assert api_client.post("/api/v1/interactions/bulk", {"x": 1}, format="json").status_code == 400
    assert api_client.post("/api/v1/interactions/bulk", [], format="json").status_code == 400
    bad_json = api_client.generic("POST", "/api/v1/interactions/bulk", "[{", content_type="application/json")
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "parse_error"
    too_many = api_client.post(
        "/api/v1/transactions/bulk", [{"order_id": str(k)} for k in range(10_001)], format="json"
    )
    assert too_many.status_code == 400 and "10000" in too_many.json()["error"]["message"]
    settings.BULK_MAX_BYTES = 100
    big = api_client.post("/api/v1/customers/bulk", [{"external_id": "x" * 200}], format="json")
    assert big.status_code == 413


def test_interaction_and_transaction_lists(api_client, organization, clock, django_assert_num_queries):
    clock.freeze()  # an API key's "last used" is written once a minute: never inside a counted request
    tp = TouchpointFactory(stage__journey__organization=organization, key="app")
    customer = CustomerFactory(organization=organization, external_id="C1")
    for k in range(5):
        InteractionFactory(customer=customer, touchpoint=tp if k % 2 else None, external_id=f"i{k}")
        TransactionFactory(customer=customer, amount=10 * k)
    with django_assert_num_queries(3):
        r = api_client.get("/api/v1/interactions/?touchpoint=app&customer=C1")
    assert sorted(i["id"] for i in r.json()["results"]) == ["i1", "i3"]
    assert r.json()["results"][0]["touchpoint"] == "app"
    with django_assert_num_queries(2):
        r = api_client.get("/api/v1/transactions/?min_amount=20")
    assert sorted(t["amount"] for t in r.json()["results"]) == ["20.00", "30.00", "40.00"]
    assert api_client.get("/api/v1/interactions/?occurred_after=bad").status_code == 400


def test_export_and_erase(client, api_client, organization, make_member):
    from surveys.models import Response
    from tests.surveys.factories import ResponseFactory

    tp = TouchpointFactory(stage__journey__organization=organization, key="web")
    customer = CustomerFactory(
        organization=organization,
        external_id="C1",
        name="Zhang Wei",
        email="z@example.com",
        attributes={"vip": True},
    )
    InteractionFactory(
        customer=customer, touchpoint=tp, properties={"email": "z@example.com"}, external_id="i1"
    )
    TransactionFactory(customer=customer, order_id="O1", amount="12.00")
    ResponseFactory(
        survey__organization=organization,
        survey__touchpoint=tp,
        customer=customer,
        touchpoint=tp,
        score_kind="nps",
        score=9,
        comment="Great",
    )
    export = api_client.get("/api/v1/customers/C1/export/")
    assert export.status_code == 200
    data = export.json()
    assert data["customer"]["name"] == "Zhang Wei"
    assert data["interactions"][0]["properties"] == {"email": "z@example.com"}
    assert data["transactions"][0]["amount"] == "12.00"
    assert data["responses"][0]["score"] == 9 and data["responses"][0]["comment"] == "Great"
    # API keys cannot erase; an analyst cannot either; an admin can.
    assert api_client.post("/api/v1/customers/C1/erase/").status_code == 403
    client.force_login(make_member(organization, Role.ANALYST))
    assert client.post("/api/v1/customers/C1/erase/").status_code == 403
    client.force_login(make_member(organization, Role.ADMIN))
    erased = client.post("/api/v1/customers/C1/erase/")
    assert erased.status_code == 200, erased.content
    customer.refresh_from_db()
    assert customer.erased_at is not None and customer.name == "" and customer.email == ""
    assert customer.attributes == {} and customer.external_id.startswith("erased-")
    assert api_client.get("/api/v1/customers/C1/").status_code == 404
    response = Response.objects.unscoped().get()
    assert response.customer_id == customer.pk and response.score == 9
    assert Interaction.objects.unscoped().get().properties == {}
    assert customer.transactions.get().amount == 12


def test_signal_sent_after_commit(api_client, organization, django_capture_on_commit_callbacks):
    from journeys.signals import customer_data_changed

    seen = []

    def receiver(sender, organization_id, kind, **kwargs):
        seen.append((organization_id, kind))

    customer_data_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            api_client.post(
                "/api/v1/interactions/bulk",
                [{"customer_external_id": "C1", "occurred_at": "2026-01-01"}],
                format="json",
            )
    finally:
        customer_data_changed.disconnect(receiver)
    assert seen == [(organization.pk, "interactions")]


def test_structure_lists_have_fixed_query_counts(api_client, organization, clock, django_assert_num_queries):
    clock.freeze()  # an API key's "last used" is written once a minute: never inside a counted request
    for _ in range(3):
        journey = JourneyFactory(organization=organization)
        for _ in range(3):
            TouchpointFactory(stage=StageFactory(journey=journey))
    with django_assert_num_queries(4):
        journeys = api_client.get("/api/v1/journeys/").json()["results"]
    assert len(journeys) == 3 and all(len(j["stages"]) == 3 for j in journeys)
    with django_assert_num_queries(2):
        assert len(api_client.get("/api/v1/stages/").json()["results"]) == 9
    with django_assert_num_queries(2):
        assert len(api_client.get("/api/v1/touchpoints/").json()["results"]) == 9


def test_structure_bad_input(api_client, organization):
    assert api_client.post("/api/v1/journeys/", {"name": ""}, format="json").status_code == 400
    no_journey = api_client.post("/api/v1/stages/", {"name": "x"}, format="json")
    assert no_journey.status_code == 400 and "journey" in no_journey.json()["error"]["fields"]
    bad_key = api_client.post("/api/v1/touchpoints/", {"name": "x", "key": "not a slug"}, format="json")
    assert bad_key.status_code == 400 and "key" in bad_key.json()["error"]["fields"]
    other = JourneyFactory(organization=organization)
    stage = StageFactory(journey=JourneyFactory(organization=organization))
    moved = api_client.patch(f"/api/v1/stages/{stage.pk}/", {"journey": other.pk}, format="json")
    assert moved.status_code == 400
