"""The collection package's single sources: the field table behind both the envelope check and the
serializer, the batch statement built from the models, the security headers of the ASGI lane built
by Django's own middleware, and the after-commit signal never on the event loop."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware

from cxm.core.middleware import ContentSecurityPolicyMiddleware
from surveys.collection import batch, rules
from surveys.collection.fields import SUBMISSION_FIELDS, envelope_errors, service_kwargs
from surveys.collection.http import security_headers
from surveys.models import Answer, Response
from surveys.selectors import survey_snapshot
from surveys.serializers import IntegratorSubmissionSerializer, SubmissionSerializer

# (A number where a string belongs: the serializer takes it as text, the public check refuses it.)
BAD_VALUES = {
    "locale": ["x" * 17, ["en"]],
    "page_url": ["u" * 2001, ["a"]],
    "touchpoint": ["t" * 101, {"a": 1}],
    "idempotency_key": ["k" * 129, True],
    "channel": ["fax", ["widget"], 3],
    "hidden_fields": [[1, 2], "text"],
}


def test_the_serializers_have_the_field_table_s_fields_in_its_order():
    names = [spec.name for spec in SUBMISSION_FIELDS]
    assert list(SubmissionSerializer().fields) == names
    assert list(IntegratorSubmissionSerializer().fields) == [*names, "survey", "submitted_at"]


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in BAD_VALUES.items() for v in values])
def test_the_envelope_check_refuses_what_the_serializer_refuses_with_its_message(name, value):
    serializer = SubmissionSerializer(data={"answers": {}, name: value})
    assert not serializer.is_valid()
    assert envelope_errors({"answers": {}, name: value}) == {
        name: [str(message) for message in serializer.errors[name]]
    }


def test_a_valid_envelope_passes_both_and_maps_onto_the_service():
    data = {"answers": {"1": 3}, "locale": "zh-CN", "channel": "qr", "hidden_fields": {"order": "A1"}}
    assert SubmissionSerializer(data=data).is_valid() and envelope_errors(data) == {}
    assert envelope_errors({"locale": "en"}) == {"answers": ["This field is required."]}
    assert service_kwargs(data, idempotency_header="h-1", default_channel="widget") == {
        "locale": "zh-CN",
        "page_url": "",
        "touchpoint_key": None,
        "idempotency_key": "h-1",
        "channel": "qr",
        "hidden_fields": {"order": "A1"},
    }


@pytest.mark.django_db
def test_the_batch_statement_writes_every_column_a_pending_response_carries(nps_survey, questions):
    snapshot = survey_snapshot(public_id=nps_survey.public_id)
    prepared = rules.response_prepare(
        snapshot=snapshot, answers={str(questions["score"]): 9}, idempotency_key="k-1", locale="en"
    )
    pending, _visible = rules.response_pending(prepared=prepared)
    stored = {f.attname for f in Response._meta.concrete_fields if not f.primary_key} - {"updated_at"}
    assert set(pending.columns) == stored
    assert {a for answer in pending.answers for a in answer} == {
        f.attname for f in Answer._meta.concrete_fields if not f.primary_key
    } - {"organization_id", "response_id"}
    fresh, sql, params = batch.batch_statement([pending, pending])
    assert fresh == [pending]  # the same key twice: the second takes the ordinary path
    assert sql.count("%s") == len(params) and sql.startswith("WITH r AS (INSERT INTO surveys_response")
    assert "updated_at" in sql and "ON CONFLICT (organization_id, survey_id, idempotency_key)" in sql
    prepare, executes = batch.prepared_statements()
    assert executes[sql].count("%s") == len(params) and "varchar(" not in executes[sql]


class _Request(HttpRequest):
    def __init__(self, secure: bool) -> None:
        super().__init__()
        self._secure = secure

    def is_secure(self) -> bool:
        return self._secure


@pytest.mark.parametrize("secure", [False, True])
def test_the_asgi_lane_security_headers_are_the_middlewares_own(settings, secure):
    settings.SECURE_HSTS_SECONDS = 600
    settings.SECURE_REFERRER_POLICY = "same-origin, strict-origin"
    security_headers.cache_clear()
    try:
        response = SecurityMiddleware(lambda r: HttpResponse()).process_response(
            _Request(secure), HttpResponse()
        )
        response = ContentSecurityPolicyMiddleware(lambda r: response)(_Request(secure))
        expected = {name: value for name, value in response.headers.items() if name != "Content-Type"}
        assert dict(security_headers(secure)) == expected
        assert expected["Referrer-Policy"] == "same-origin,strict-origin"
        assert ("Strict-Transport-Security" in expected) is secure
    finally:
        security_headers.cache_clear()
