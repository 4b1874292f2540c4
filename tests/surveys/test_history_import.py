"""Historical answers with their own submitted_at: the integrator API and the `responses` CSV import."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from rest_framework.test import APIClient

from journeys.imports import import_job_create, import_job_run
from journeys.models import Customer, ImportStatus
from metrics.models import RecomputeState
from surveys import services
from surveys.models import Answer, Response

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.METRICS_RECOMPUTE_ON_SIGNAL = False  # only mark stale: the test reads the mark
    return tmp_path


def _post(client, body):
    return client.post("/api/v1/responses", data=json.dumps(body), content_type="application/json")


# --- API -----------------------------------------------------------------------------------------


def test_api_records_a_historical_answer_at_its_own_time(api_client, nps_survey, questions):
    body = {
        "survey": nps_survey.public_id,
        "answers": {str(questions["score"]): 9, str(questions["promoter"]): "Great"},
        "submitted_at": "2019-03-04T05:06:07+08:00",
        "customer": "H1",
        "idempotency_key": "hist-1",
    }
    r = _post(api_client, body)
    assert r.status_code == 201, r.content
    response = Response.objects.unscoped().get(pk=r.json()["id"])
    assert response.submitted_at == datetime(2019, 3, 3, 21, 6, 7, tzinfo=UTC)
    assert (response.score, response.comment, response.customer.external_id) == (9, "Great", "H1")
    again = _post(api_client, body)
    assert again.status_code == 200 and Response.objects.unscoped().count() == 1


def test_api_history_reaches_a_closed_survey_but_now_does_not(api_client, nps_survey, questions):
    services.survey_set_status(survey=nps_survey, action="close")
    answers = {str(questions["score"]): 3, str(questions["detractor"]): "slow"}
    now_answer = _post(api_client, {"survey": nps_survey.public_id, "answers": answers})
    assert now_answer.status_code == 409
    old = _post(
        api_client,
        {"survey": nps_survey.public_id, "answers": answers, "submitted_at": "2024-01-01T00:00:00Z"},
    )
    assert old.status_code == 201, old.content
    assert Response.objects.unscoped().get().submitted_at == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("1999-12-31T23:59:59Z", "before 2000"),
        ("an hour from now", "in the future"),
        ("yesterday", "Datetime has wrong format"),
    ],
)
def test_api_bad_submitted_at_is_a_400_naming_the_field(api_client, nps_survey, questions, value, fragment):
    if value == "an hour from now":
        value = (timezone.now() + timedelta(hours=1)).isoformat()
    r = _post(
        api_client,
        {"survey": nps_survey.public_id, "answers": {str(questions["score"]): 9}, "submitted_at": value},
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert fragment in " ".join(error["fields"]["submitted_at"])
    assert not Response.objects.unscoped().exists()


def test_api_small_clock_skew_is_accepted(api_client, nps_survey, questions):
    ahead = timezone.now() + timedelta(minutes=2)
    r = _post(
        api_client,
        {
            "survey": nps_survey.public_id,
            "answers": {str(questions["score"]): 9},
            "submitted_at": ahead.isoformat(),
        },
    )
    assert r.status_code == 201
    assert abs(Response.objects.unscoped().get().submitted_at - ahead) < timedelta(seconds=1)


def test_read_only_key_cannot_import(read_only_api_client, nps_survey, questions):
    r = _post(
        read_only_api_client,
        {
            "survey": nps_survey.public_id,
            "answers": {str(questions["score"]): 9},
            "submitted_at": "2020-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 403 and not Response.objects.unscoped().exists()


def test_public_endpoint_ignores_submitted_at(nps_survey, questions):
    before = timezone.now()
    r = APIClient().post(
        f"/api/v1/public/surveys/{nps_survey.public_id}/responses",
        data=json.dumps({"answers": {str(questions["score"]): 9}, "submitted_at": "2019-01-01T00:00:00Z"}),
        content_type="application/json",
        HTTP_ORIGIN="https://shop.example.com",
    )
    assert r.status_code == 201, r.content
    assert Response.objects.unscoped().get().submitted_at >= before


# --- CSV -----------------------------------------------------------------------------------------


def _job(organization, text, **kwargs):
    job = import_job_create(
        organization=organization,
        kind="responses",
        chunks=[text.encode()],
        original_name="history.csv",
        enqueue=False,
        **kwargs,
    )
    return import_job_run(job_id=job.pk)


def _csv(nps_survey, questions):
    q = questions
    return (
        f"survey,submitted_at,customer_external_id,channel,q_{q['score']},q_{q['detractor']},q_{q['promoter']}\n"
        f"{nps_survey.public_id},2018-06-30T20:00:00Z,C1,email,10,,Love it\n"
        f"{nps_survey.pk},2020-01-02 09:30,C2,,2,Too slow,\n"
        f"{nps_survey.public_id},2021-05-05,,link,7,,\n"
    )


def test_csv_imports_history_at_its_own_times_and_reimports_nothing(organization, nps_survey, questions):
    organization.time_zone = "Asia/Shanghai"
    organization.save()
    job = _job(organization, _csv(nps_survey, questions))
    assert job.status == ImportStatus.DONE, (job.message, job.errors)
    assert job.message.startswith("3 row(s) imported, 3 new, 0 already stored")
    rows = list(Response.objects.unscoped().order_by("submitted_at"))
    assert [r.submitted_at for r in rows] == [
        datetime(2018, 6, 30, 20, 0, tzinfo=UTC),
        datetime(2020, 1, 2, 1, 30, tzinfo=UTC),  # no offset: the organization's zone (UTC+8)
        datetime(2021, 5, 4, 16, 0, tzinfo=UTC),
    ]
    assert [(r.score, r.comment, r.channel) for r in rows] == [
        (10, "Love it", "email"),
        (2, "Too slow", "api"),
        (7, "", "link"),
    ]
    assert [r.customer.external_id if r.customer else None for r in rows] == ["C1", "C2", None]
    assert Customer.objects.unscoped().filter(organization=organization).count() == 2
    assert Answer.objects.unscoped().count() == 5
    again = _job(organization, _csv(nps_survey, questions))
    assert again.status == ImportStatus.DONE
    assert again.message.startswith("3 row(s) imported, 0 new, 3 already stored")
    assert Response.objects.unscoped().count() == 3


def test_csv_bad_rows_are_reported_with_line_numbers(organization, nps_survey, questions):
    q = questions
    text = (
        f"survey,submitted_at,q_{q['score']},comment,idempotency_key\n"
        f"{nps_survey.public_id},2020-01-01T00:00:00Z,9,fine,k1\n"  # line 2: good
        f"nope,2020-01-01T00:00:00Z,9,,k2\n"  # 3: unknown survey
        f"{nps_survey.public_id},1999-01-01T00:00:00Z,9,,k3\n"  # 4: before 2000
        f"{nps_survey.public_id},2020-01-01T00:00:00Z,11,,k4\n"  # 5: out of range
        f"{nps_survey.public_id},,9,,k5\n"  # 6: no time
        f"{nps_survey.public_id},2020-01-01T00:00:00Z,,,k6\n"  # 7: required score missing
        f"{nps_survey.public_id},2020-01-01T00:00:00Z,ten,,k7\n"  # 8: not a number
    )
    job = _job(organization, text)
    assert job.status == ImportStatus.FAILED
    assert job.message == "6 bad row(s); nothing was imported."
    assert [(e["line"], e["field"]) for e in job.errors] == [
        (3, "survey"),
        (4, "submitted_at"),
        (5, f"q_{q['score']}"),
        (6, "submitted_at"),
        (7, f"q_{q['score']}"),
        (8, f"q_{q['score']}"),
    ]
    assert "between 0 and 10" in job.errors[2]["reason"]
    assert not Response.objects.unscoped().exists()
    skipped = _job(organization, text, skip_bad_rows=True)
    assert skipped.status == ImportStatus.DONE
    response = Response.objects.unscoped().get()
    assert (response.score, response.comment, response.idempotency_key) == (9, "fine", "k1")


def test_csv_unknown_column_fails_before_reading(organization, nps_survey):
    job = _job(organization, f"survey,submitted_at,color\n{nps_survey.public_id},2020-01-01,red\n")
    assert job.status == ImportStatus.FAILED
    assert "Unknown column(s): color" in job.message


def test_csv_import_marks_dashboards_stale(
    organization, nps_survey, questions, django_capture_on_commit_callbacks
):
    RecomputeState.objects.unscoped().filter(organization=organization).delete()
    with django_capture_on_commit_callbacks(execute=True):
        job = _job(organization, _csv(nps_survey, questions))
    assert job.status == ImportStatus.DONE
    state = RecomputeState.objects.unscoped().get(organization=organization)
    assert state.stale_since is not None


def test_import_csv_command_and_page_know_the_kind(
    organization, nps_survey, questions, tmp_path, owner_client
):
    path = tmp_path / "history.csv"
    path.write_text(_csv(nps_survey, questions))
    call_command("import_csv", "--org", organization.slug, "--kind", "responses", str(path))
    assert Response.objects.unscoped().count() == 3
    page = owner_client.get("/imports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="responses"' in html
    assert "<strong>Survey responses</strong>: survey* (public id or id), submitted_at*" in html
    owner_client.cookies["django_language"] = "zh-hans"
    try:
        zh = owner_client.get("/imports/").content.decode()
    finally:
        translation.activate("en")  # the request left its language active on this thread
    assert "<strong>调查回复</strong>: survey*（公开 ID 或 ID）" in zh


def test_csv_same_key_twice_in_a_file_merges_like_a_resubmission(organization, nps_survey, questions):
    q = questions
    text = (
        f"survey,submitted_at,customer_external_id,idempotency_key,q_{q['score']},q_{q['promoter']}\n"
        f"{nps_survey.public_id},2022-01-01T00:00:00Z,C9,same,9,\n"
        f"{nps_survey.public_id},2022-01-01T00:00:00Z,C9,same,10,Better than ever\n"
        f"{nps_survey.public_id},2022-02-01T00:00:00Z,C9,other,8,\n"
    )
    job = _job(organization, text)
    assert job.status == ImportStatus.DONE, job.errors
    assert job.message == "3 row(s) imported, 2 new, 1 already stored, 1 new customer(s)."
    merged = Response.objects.unscoped().get(idempotency_key="same")
    assert (merged.score, merged.comment) == (10, "Better than ever")
    assert Response.objects.unscoped().count() == 2
    assert Customer.objects.unscoped().filter(organization=organization, external_id="C9").count() == 1
    assert set(Response.objects.unscoped().values_list("customer__external_id", flat=True)) == {"C9"}


def test_csv_batch_writes_with_a_fixed_number_of_queries(
    organization, nps_survey, questions, django_assert_num_queries
):
    from journeys.ingest import IngestResult
    from surveys.imports import _context, clean_response, write_responses

    ctx = _context(organization)
    rows = [
        clean_response(
            {
                "survey": nps_survey.public_id,
                "submitted_at": f"2021-01-{day:02d}T08:00:00Z",
                "customer_external_id": f"K{day % 3}",
                f"q_{questions['score']}": str(day % 11),
            },
            ctx,
        )
        for day in range(1, 29)
    ]
    Customer.objects.create(organization=organization, external_id="K0")
    # 8 for the batch (savepoints, known customers, stored keys, responses, answers) and 4 per new
    # customer (K1, K2: lookup, savepoint, insert, release): never a query per response
    with django_assert_num_queries(8 + 2 * 4):
        write_responses(organization, rows, IngestResult())
    assert Response.objects.unscoped().count() == 28 and Answer.objects.unscoped().count() == 28
