"""Collecting without loss: the public and integrator endpoints, idempotency, every bad input."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from cxm.api.throttling import PublicRateThrottle
from cxm.tenancy.identity import customer_signature
from journeys.models import Customer
from surveys import services
from surveys.collection import asgi as collection_asgi
from surveys.collection import throttle as collection_throttle
from surveys.collection import write
from surveys.models import Answer, Response
from surveys.signals import response_recorded
from tests.asgi import AsgiClient, in_test_thread

pytestmark = pytest.mark.django_db
ORIGIN = "https://shop.example.com"
_lane: dict[str, object] = {}


@pytest.fixture(autouse=True, params=["wsgi", "asgi"])
def lane(request, monkeypatch):
    """Every case runs against both servers of the public endpoint: the Django view (runserver,
    WSGI) and the ASGI handler that production's uvicorn workers use."""
    if request.param == "asgi":
        monkeypatch.setattr(collection_asgi, "in_db_thread", in_test_thread)
        _lane["client"] = AsgiClient()
    else:
        _lane["client"] = APIClient()
    yield request.param
    _lane.clear()


def public_client():
    return _lane["client"]


def url(survey):
    return f"/api/v1/public/surveys/{survey.public_id}/responses"


def post(survey, body, origin=ORIGIN, **extra):
    client = public_client()
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.post(
        url(survey), data=json.dumps(body), content_type="application/json", **headers, **extra
    )


def test_submit_stores_response_answers_and_denormalised_fields(nps_survey, questions, touchpoint):
    r = post(
        nps_survey,
        {
            "answers": {str(questions["score"]): 3, str(questions["detractor"]): "Late <b>delivery</b>"},
            "idempotency_key": "k1",
            "touchpoint": "web-checkout",
            "channel": "widget",
            "locale": "zh-CN",
            "page_url": "https://shop.example.com/checkout",
            "hidden_fields": {"order": "O-1"},
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["score"] == 3 and body["score_kind"] == "nps" and body["created"] is True
    assert r["Access-Control-Allow-Origin"] == ORIGIN
    response = Response.objects.unscoped().get(pk=body["id"])
    assert (response.score, response.score_kind, response.comment) == (3, "nps", "Late <b>delivery</b>")
    assert response.touchpoint == touchpoint and response.channel == "widget" and response.locale == "zh-hans"
    assert response.hidden_fields == {"order": "O-1"}
    assert response.organization_id == nps_survey.organization_id
    assert sorted(
        Answer.objects.unscoped().filter(response=response).values_list("question_id", flat=True)
    ) == sorted([questions["score"], questions["detractor"]])


def test_same_key_twice_stores_once_and_later_request_adds_the_comment(nps_survey, questions):
    first = post(nps_survey, {"answers": {str(questions["score"]): 9}, "idempotency_key": "same"})
    again = post(nps_survey, {"answers": {str(questions["score"]): 9}, "idempotency_key": "same"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Response.objects.unscoped().count() == 1 and Answer.objects.unscoped().count() == 1
    comment = post(
        nps_survey,
        {
            "answers": {str(questions["score"]): 9, str(questions["promoter"]): "Fast!"},
            "idempotency_key": "same",
        },
    )
    assert comment.status_code == 200 and comment.json()["comment"] == "Fast!"
    response = Response.objects.unscoped().get()
    assert (response.score, response.comment) == (9, "Fast!")
    assert Answer.objects.unscoped().count() == 2
    # The comment alone with the same key also adds to the same response (the score stays).
    only_comment = post(
        nps_survey, {"answers": {str(questions["promoter"]): "Really fast"}, "idempotency_key": "same"}
    )
    assert only_comment.status_code == 200
    response.refresh_from_db()
    assert (response.score, response.comment) == (9, "Really fast")


def test_idempotency_key_from_header(nps_survey, questions):
    r1 = post(nps_survey, {"answers": {str(questions["score"]): 5}}, HTTP_IDEMPOTENCY_KEY="hdr")
    r2 = post(nps_survey, {"answers": {str(questions["score"]): 5}}, HTTP_IDEMPOTENCY_KEY="hdr")
    assert r1.json()["id"] == r2.json()["id"] and Response.objects.unscoped().get().idempotency_key == "hdr"


def test_signal_is_sent_on_commit(nps_survey, questions, django_capture_on_commit_callbacks):
    seen = []

    def receiver(sender, organization_id, response_ids, **kwargs):
        seen.append((organization_id, response_ids))

    response_recorded.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            r = post(nps_survey, {"answers": {str(questions["score"]): 7}, "idempotency_key": "s"})
        assert seen == []  # nothing before commit
        for callback in callbacks:
            callback()
        assert seen == [(nps_survey.organization_id, [r.json()["id"]])]
    finally:
        response_recorded.disconnect(receiver)


@pytest.mark.parametrize(
    ("answers", "fragment"),
    [
        ({"SCORE": 11}, "between 0 and 10"),
        ({"SCORE": -1}, "between 0 and 10"),
        ({"SCORE": "nine"}, "whole number"),
        ({"SCORE": 8.5}, "whole number"),
        ({"SCORE": True}, "whole number"),
        ({"SCORE": 9, "999999": "x"}, "Unknown question"),
        ({"DETRACTOR": "only a comment"}, "required"),
        ({"SCORE": 3, "DETRACTOR": 12}, "must be text"),
    ],
)
def test_bad_answers_are_clear_400s(nps_survey, questions, answers, fragment):
    names = {"SCORE": questions["score"], "DETRACTOR": questions["detractor"]}
    payload = {str(names.get(k, k)): v for k, v in answers.items()}
    r = post(nps_survey, {"answers": payload})
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["code"] == "invalid" and fragment in json.dumps(error, ensure_ascii=False)
    assert Response.objects.unscoped().count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "answers"),
        ({"answers": "9"}, "answers"),
        ({"answers": [{"value": 1}]}, "answers"),
        ({"answers": {}, "channel": "fax"}, "channel"),
        ({"answers": {}, "touchpoint": "nowhere"}, "touchpoint"),
        ({"answers": {}, "idempotency_key": "x" * 200}, "idempotency_key"),
        ({"answers": {}, "customer": {"email": "not-an-email"}}, "customer"),
    ],
)
def test_bad_envelope_is_a_400_naming_the_field(nps_survey, questions, body, field):
    if body.get("answers") == {}:
        body["answers"] = {str(questions["score"]): 9}
    r = post(nps_survey, body)
    assert r.status_code == 400, r.content
    assert field in r.json()["error"]["fields"]


def test_closed_and_unknown_survey(nps_survey, questions):
    services.survey_set_status(survey=nps_survey, action="close")
    r = post(nps_survey, {"answers": {str(questions["score"]): 9}})
    assert r.status_code == 409 and r.json()["error"]["code"] == "survey_closed"
    r = public_client().post(
        "/api/v1/public/surveys/nope/responses", json.dumps({"answers": {}}), content_type="application/json"
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert Response.objects.unscoped().count() == 0


def test_paused_survey_takes_no_responses(nps_survey, questions):
    services.survey_set_status(survey=nps_survey, action="pause")
    assert post(nps_survey, {"answers": {str(questions["score"]): 9}}).status_code == 409


def test_payload_over_64_kb_is_413(nps_survey, questions):
    big = {"answers": {str(questions["score"]): 3, str(questions["detractor"]): "x" * 70000}}
    r = post(nps_survey, big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert Response.objects.unscoped().count() == 0


def test_disallowed_origin_is_403_and_gets_no_cors_header(nps_survey, questions):
    r = post(nps_survey, {"answers": {str(questions["score"]): 9}}, origin="https://evil.example.net")
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in r
    assert Response.objects.unscoped().count() == 0


def test_same_site_and_server_to_server_posts_are_allowed(nps_survey, questions):
    assert post(nps_survey, {"answers": {str(questions["score"]): 9}}, origin=None).status_code == 201
    assert (
        post(nps_survey, {"answers": {str(questions["score"]): 9}}, origin="http://testserver").status_code
        == 201
    )


def test_preflight_allowed_and_refused(nps_survey):
    client = public_client()
    ok = client.options(
        url(nps_survey),
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == ORIGIN and "POST" in ok["Access-Control-Allow-Methods"]
    assert "Content-Type" in ok["Access-Control-Allow-Headers"]
    bad = client.options(url(nps_survey), HTTP_ORIGIN="https://evil.example.net")
    assert bad.status_code == 403 and "Access-Control-Allow-Origin" not in bad


def test_too_many_requests_is_429(nps_survey, questions, monkeypatch, throttle_window):
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": "2/min"})
    codes = [post(nps_survey, {"answers": {str(questions["score"]): 9}}).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    last = post(nps_survey, {"answers": {str(questions["score"]): 9}})
    assert last.json()["error"]["code"] == "throttled"
    assert last["Access-Control-Allow-Origin"] == ORIGIN  # the widget can read why
    assert Response.objects.unscoped().count() == 2


def test_an_unreachable_throttle_store_never_refuses_an_answer(nps_survey, questions, monkeypatch, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    monkeypatch.setattr(collection_throttle, "_backend", [])
    r = post(nps_survey, {"answers": {str(questions["score"]): 6}, "idempotency_key": "down-1"})
    assert r.status_code == 201 and Response.objects.unscoped().get().score == 6


def sign(organization, external_id):
    organization.refresh_from_db()
    return customer_signature(secret=organization.widget_secret, external_id=external_id)


def test_a_signed_customer_is_found_or_created(nps_survey, questions, customer, organization):
    score = str(questions["score"])
    r = post(
        nps_survey,
        {"answers": {score: 9}, "customer": {"id": "C00001", "signature": sign(organization, "C00001")}},
    )
    assert r.status_code == 201 and Response.objects.unscoped().get(pk=r.json()["id"]).customer == customer
    r = post(
        nps_survey,
        {
            "answers": {score: 9},
            "customer": {
                "id": "NEW-7",
                "signature": sign(organization, "NEW-7").upper(),  # hex in either case
                "email": "n@example.com",
                "name": "Neo",
                "properties": {"tier": "gold"},
            },
        },
    )
    created = Customer.objects.unscoped().get(organization=organization, external_id="NEW-7")
    assert (created.email, created.name, created.attributes) == ("n@example.com", "Neo", {"tier": "gold"})
    assert Response.objects.unscoped().get(pk=r.json()["id"]).customer == created


@pytest.mark.parametrize(
    "reference",
    [
        "C00001",
        {"id": "C00001"},
        {"email": "LI@example.com"},
        {"id": "C00001", "email": "li@example.com", "signature": "0" * 64},
        {"id": "C00001", "signature": "not hex"},
        {"id": "C00001", "signature": 7},
        {"id": "NEW-8", "name": "Mallory"},
    ],
)
def test_an_unsigned_identity_never_attaches_nor_creates_a_customer(
    nps_survey, questions, customer, organization, reference
):
    r = post(nps_survey, {"answers": {str(questions["score"]): 0}, "customer": reference})
    assert r.status_code == 201, r.content
    assert Response.objects.unscoped().get(pk=r.json()["id"]).customer is None
    assert list(
        Customer.objects.unscoped().filter(organization=organization).values_list("external_id", flat=True)
    ) == ["C00001"]


def test_a_signature_from_another_organizations_secret_does_not_count(
    nps_survey, questions, customer, other_organization
):
    forged = customer_signature(secret=other_organization.widget_secret, external_id="C00001")
    r = post(
        nps_survey,
        {"answers": {str(questions["score"]): 0}, "customer": {"id": "C00001", "signature": forged}},
    )
    assert Response.objects.unscoped().get(pk=r.json()["id"]).customer is None


def test_a_rotated_secret_stops_old_signatures(nps_survey, questions, customer, organization):
    from cxm.tenancy.services import organization_widget_secret_rotate
    from surveys.selectors import snapshot_invalidate

    old = sign(organization, "C00001")
    organization_widget_secret_rotate(organization=organization)
    snapshot_invalidate()
    r = post(
        nps_survey, {"answers": {str(questions["score"]): 0}, "customer": {"id": "C00001", "signature": old}}
    )
    assert Response.objects.unscoped().get(pk=r.json()["id"]).customer is None
    new = sign(organization, "C00001")
    assert new != old
    r = post(
        nps_survey, {"answers": {str(questions["score"]): 0}, "customer": {"id": "C00001", "signature": new}}
    )
    assert Response.objects.unscoped().get(pk=r.json()["id"]).customer == customer


def test_eligibility_is_the_same_for_unknown_and_known_unsigned_customers(
    nps_survey, questions, customer, organization
):
    """No oracle: "should I show?" answers an unsigned id or email as it answers anyone."""
    customer.unsubscribed = True
    customer.save()
    base = f"/api/v1/public/surveys/{nps_survey.public_id}?lang=en"
    client = APIClient()

    def ask(query):
        r = client.get(base + query, HTTP_ORIGIN=ORIGIN)
        assert r.status_code == 200
        return r.json()

    anonymous = ask("")
    assert anonymous["show"] is True
    for query in [
        "&customer=C00001",
        "&customer=NOBODY",
        "&email=li@example.com",
        "&email=nobody@example.com",
        "&customer=C00001&signature=" + "0" * 64,
    ]:
        assert ask(query) == anonymous, query
    signed = ask(f"&customer=C00001&signature={sign(organization, 'C00001')}")
    assert (signed["show"], signed["reason"]) == (False, "unsubscribed")


def test_customer_of_another_organization_is_never_linked(nps_survey, questions, other_organization):
    Customer.objects.create(organization=other_organization, external_id="C9", email="x@example.com")
    r = post(nps_survey, {"answers": {str(questions["score"]): 9}, "customer": {"email": "x@example.com"}})
    assert Response.objects.unscoped().get(pk=r.json()["id"]).customer is None


def test_follow_up_not_shown_is_ignored(nps_survey, questions):
    r = post(nps_survey, {"answers": {str(questions["score"]): 10, str(questions["detractor"]): "bad"}})
    assert r.status_code == 201
    response = Response.objects.unscoped().get()
    assert response.comment == "" and response.answers.count() == 1


def test_customer_can_change_score_with_the_same_key(nps_survey, questions):
    post(
        nps_survey,
        {"answers": {str(questions["score"]): 3, str(questions["detractor"]): "meh"}, "idempotency_key": "c"},
    )
    post(nps_survey, {"answers": {str(questions["score"]): 9}, "idempotency_key": "c"})
    response = Response.objects.unscoped().get()
    # The detractor follow-up no longer applies to a 9, so it is dropped with the old score.
    assert (response.score, response.comment, response.answers.count()) == (9, "", 1)


# --- integrator endpoint -------------------------------------------------------------------------


def test_integrator_post_records_with_api_key(api_client, nps_survey, questions):
    body = {
        "survey": nps_survey.public_id,
        "answers": [{"question": questions["score"], "value": 6}],
        "idempotency_key": "i1",
    }
    r = api_client.post("/api/v1/responses", body, format="json")
    assert r.status_code == 201, r.content
    response = Response.objects.unscoped().get(pk=r.json()["id"])
    assert (response.channel, response.score) == ("api", 6)
    again = api_client.post("/api/v1/responses", body, format="json")
    assert again.status_code == 200 and Response.objects.unscoped().count() == 1
    by_pk = api_client.post(
        "/api/v1/responses", {**body, "survey": str(nps_survey.pk), "idempotency_key": "i2"}, format="json"
    )
    assert by_pk.status_code == 201


def test_integrator_bad_inputs(api_client, read_only_api_client, other_api_client, nps_survey, questions):
    good = {"survey": nps_survey.public_id, "answers": {str(questions["score"]): 6}}
    assert APIClient().post("/api/v1/responses", good, format="json").status_code in (401, 403)
    assert read_only_api_client.post("/api/v1/responses", good, format="json").status_code == 403
    r = other_api_client.post("/api/v1/responses", good, format="json")  # another organization's survey
    assert r.status_code == 400 and "survey" in r.json()["error"]["fields"]
    r = api_client.post(
        "/api/v1/responses", {**good, "answers": {str(questions["score"]): 99}}, format="json"
    )
    assert r.status_code == 400
    r = api_client.post("/api/v1/responses", {"answers": {}}, format="json")
    assert r.status_code == 400 and "survey" in r.json()["error"]["fields"]
    big = {**good, "answers": {str(questions["detractor"]): "y" * 70000, str(questions["score"]): 1}}
    assert api_client.post("/api/v1/responses", big, format="json").status_code == 413
    assert Response.objects.unscoped().count() == 0


@pytest.mark.django_db
def test_both_collection_endpoints_answer_503_when_the_store_times_out(
    api_client, client, nps_survey, questions, monkeypatch
):
    def late(**kwargs):
        raise TimeoutError

    monkeypatch.setattr(write, "response_submit", late)
    body = {"answers": {str(questions["score"]): 9}, "idempotency_key": "slow-1"}
    integrator = api_client.post("/api/v1/responses", {**body, "survey": nps_survey.public_id}, format="json")
    public = public_client().post(
        f"/api/v1/public/surveys/{nps_survey.public_id}/responses",
        json.dumps(body),
        content_type="application/json",
    )
    for response in (integrator, public):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "unavailable"


def test_a_random_forwarded_for_from_an_untrusted_peer_does_not_bypass_the_limit(
    nps_survey, questions, monkeypatch, settings
):
    settings.TRUSTED_PROXIES = []
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": "3/min"})
    codes = [
        post(
            nps_survey, {"answers": {str(questions["score"]): 9}}, HTTP_X_FORWARDED_FOR=f"10.1.{n}.{n}"
        ).status_code
        for n in range(6)
    ]
    assert codes == [201, 201, 201, 429, 429, 429]
    assert Response.objects.unscoped().count() == 3


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(nps_survey, questions, monkeypatch, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]  # the test clients' peer address
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": "2/min"})

    def send(client_address):
        forwarded = f"6.6.6.6, {client_address}"  # the left hop is the client's own claim
        return post(nps_survey, {"answers": {str(questions["score"]): 9}}, HTTP_X_FORWARDED_FOR=forwarded)

    assert [send("198.51.100.1").status_code for _ in range(3)] == [201, 201, 429]
    assert [send("198.51.100.2").status_code for _ in range(2)] == [201, 201]


# --- what the database cannot store is a 400, never a 500 ------------------------------------------


def _raw_post(survey, raw: bytes, path=None):
    client = public_client()
    return client.post(path or url(survey), data=raw, content_type="application/json", HTTP_ORIGIN=ORIGIN)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('{"answers": {"SCORE": 3, "DETRACTOR": "bad\\u0000"}}', "NUL"),
        ('{"answers": {"SCORE": 3, "DETRACTOR": "bad\\ud800"}}', "surrogate"),
        ('{"answers": {"SCORE": 9}, "hidden_fields": {"x": NaN}}', "NaN"),
        ('{"answers": {"SCORE": 9}, "hidden_fields": {"x": [Infinity]}}', "Infinity"),
        ('{"answers": {"SCORE": 9}, "hidden_fields": {"x": 1e999}}', "out of range"),
        ('{"answers": {"SCORE": 9}, "hidden_fields": {"a\\u0000": 1}}', "NUL"),
        ('{"answers": {"SCORE": 9}, "locale": "\\u0000"}', "NUL"),
        ('{"answers": {"SCORE": 9}, "idempotency_key": "k\\u0000"}', "NUL"),
        ('{"answers": {"SCORE": 9}, "hidden_fields": ' + "[" * 30000 + "]" * 30000 + "}", "nested"),
        ('{"answers": {"SCORE": 9}, "hidden_fields": {"x": ' + "[" * 150 + "]" * 150 + "}}", "nested"),
    ],
)
def test_unstorable_json_is_a_400_naming_the_problem(nps_survey, questions, raw, fragment):
    raw = raw.replace("SCORE", str(questions["score"])).replace("DETRACTOR", str(questions["detractor"]))
    r = _raw_post(nps_survey, raw.encode())
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["code"] == "parse_error" and fragment in error["message"]
    assert Response.objects.unscoped().count() == 0


def test_a_nul_in_the_survey_id_is_a_400_and_unknown_forms_are_404_without_a_query(
    nps_survey, questions, django_assert_num_queries
):
    body = json.dumps({"answers": {str(questions["score"]): 9}}).encode()
    with django_assert_num_queries(0):
        nul = _raw_post(nps_survey, body, path=f"/api/v1/public/surveys/{nps_survey.public_id}%00/responses")
        odd = _raw_post(nps_survey, body, path="/api/v1/public/surveys/no~such!id/responses")
        long = _raw_post(nps_survey, body, path=f"/api/v1/public/surveys/{'a' * 40}/responses")
    assert nul.status_code == 400 and nul.json()["error"]["code"] == "invalid_character"
    assert odd.status_code == 404 and long.status_code == 404
    assert odd.json()["error"]["code"] == "not_found"
    assert Response.objects.unscoped().count() == 0


def test_unknown_ids_are_throttled_before_any_lookup(
    nps_survey, questions, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": "2/min"})
    body = json.dumps({"answers": {str(questions["score"]): 9}}).encode()
    for n in range(2):
        assert (
            _raw_post(nps_survey, body, path=f"/api/v1/public/surveys/unknownid{n:03d}/responses").status_code
            == 404
        )
    with django_assert_num_queries(0):
        r = _raw_post(nps_survey, body, path="/api/v1/public/surveys/unknownid999/responses")
    assert r.status_code == 429


def test_the_snapshot_cache_stays_bounded_under_unknown_ids(nps_survey, questions, monkeypatch):
    from surveys import selectors

    monkeypatch.setattr(selectors, "_missing", selectors._Lru(50))
    body = json.dumps({"answers": {str(questions["score"]): 9}}).encode()
    for n in range(200):
        assert (
            _raw_post(nps_survey, body, path=f"/api/v1/public/surveys/missing{n:05d}/responses").status_code
            == 404
        )
    assert len(selectors._missing) == 50
    # The survey customers answer is still served from the cache.
    assert post(nps_survey, {"answers": {str(questions["score"]): 9}}).status_code == 201
    assert selectors.survey_snapshot_cached(public_id=nps_survey.public_id) is not selectors.MISS
