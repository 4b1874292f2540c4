"""Group commit on PostgreSQL: concurrent submissions share transactions; each returns after commit.
Without the event loop (runserver, WSGI) concurrent submissions are written by the ORM, once each."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from django.db import connection, connections

from cxm.tenancy.identity import customer_signature
from surveys import services
from surveys.collection import write
from surveys.collection.committer import loop_committer
from surveys.models import Answer, Response
from surveys.selectors import survey_snapshot
from tests.waiting import GENEROUS

ORIGIN = "https://shop.example.com"


def _widget_survey(organization):
    """An active NPS survey the widget may post to from ORIGIN: the survey, its score and detractor
    question ids, the public submission path and the ASGI request headers."""
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_update(survey=survey, allowed_origins=[ORIGIN])
    services.survey_set_status(survey=survey, action="activate")
    score, detractor = [q.id for q in survey.questions.order_by("position")][:2]
    path = f"/api/v1/public/surveys/{survey.public_id}/responses"
    headers = [("host", "testserver"), ("content-type", "application/json"), ("origin", ORIGIN)]
    return survey, score, detractor, path, headers


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_are_committed_once_each(postgres, organization, monkeypatch):
    monkeypatch.setenv("CXM_SURVEYS_GROUP_COMMIT", "1")
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_set_status(survey=survey, action="activate")
    snapshot = survey_snapshot(public_id=survey.public_id)
    first = snapshot.questions[0].id
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            for i in range(10):
                result = write.response_submit(
                    snapshot=snapshot, answers={str(first): (n + i) % 11}, idempotency_key=f"t{n}-{i}"
                )
                # Acknowledged means committed: another connection sees it now.
                with lock:
                    results.append(result.response_id)
            # The same key again goes the ordinary way and stores nothing twice.
            again = write.response_submit(
                snapshot=snapshot, answers={str(first): 1}, idempotency_key=f"t{n}-0"
            )
            assert not again.created
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(GENEROUS)
    assert not [t for t in threads if t.is_alive()], f"submissions still running after {GENEROUS} s"
    assert errors == []
    assert len(results) == len(set(results)) == 80
    assert Response.objects.unscoped().filter(survey=survey).count() == 80
    assert Answer.objects.unscoped().filter(response__survey=survey).count() == 80
    assert connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
def test_asgi_lane_commits_concurrent_submissions_in_shared_batches(
    postgres, organization, monkeypatch, caplog
):
    """The production path: cxm.asgi's handler, the event loop's committer on its own asynchronous
    connection, the ordinary path in the thread pool for a key already stored. Committed data only."""
    from cxm.asgi import application
    from surveys.signals import response_recorded
    from tests.asgi import call

    monkeypatch.setenv("CXM_SURVEYS_GROUP_COMMIT", "1")
    survey, score, detractor, path, headers = _widget_survey(organization)
    recorded: list[int] = []
    receiver_threads: set[int] = set()

    def receiver(sender, response_ids, **kw):
        receiver_threads.add(threading.get_ident())
        recorded.extend(response_ids)

    response_recorded.connect(receiver, weak=False, dispatch_uid="test-asgi-recorded")

    def body(n: int, **answers: object) -> bytes:
        return json.dumps({"answers": {str(score): n % 11, **answers}, "idempotency_key": f"a{n}"}).encode()

    async def scenario() -> tuple[list, list]:
        loop = asyncio.get_running_loop()
        first = await asyncio.gather(*(call(application, "POST", path, body(n), headers) for n in range(40)))
        # The comment after the score, same key: the ordinary path (a thread) merges it.
        later = await asyncio.gather(
            call(application, "POST", path, body(3, **{str(detractor): "Late"}), headers),
            call(application, "POST", path, body(5), headers),
        )
        # A customer is resolved (created) in a thread, then the response joins a batch as usual.
        with_customer = json.dumps(
            {
                "answers": {str(score): 10},
                "idempotency_key": "c1",
                "customer": {
                    "id": "C-9",
                    "name": "Li",
                    "signature": customer_signature(secret=organization.widget_secret, external_id="C-9"),
                },
            }
        ).encode()
        later.append(await call(application, "POST", path, with_customer, headers))
        # Listeners run in their thread, a moment after the commit: wait until they have seen them all.
        expected = {r.json()["id"] for r in first}
        deadline = loop.time() + GENEROUS
        while not expected <= set(recorded) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        loop_committer().close()
        return first, later

    try:
        with caplog.at_level("ERROR", logger="cxm.surveys"):
            first, later = asyncio.run(scenario())
    finally:
        response_recorded.disconnect(dispatch_uid="test-asgi-recorded")
    assert [r.status_code for r in first] == [201] * 40
    assert [r.status_code for r in later] == [200, 200, 201] and later[0].json()["comment"] == "Late"
    customer_response = Response.objects.unscoped().get(pk=later[2].json()["id"])
    assert (customer_response.customer.external_id, customer_response.customer.name) == ("C-9", "Li")
    assert not [r for r in caplog.records if "group commit failed" in r.getMessage()]
    assert Response.objects.unscoped().filter(survey=survey).count() == 41
    assert Answer.objects.unscoped().filter(response__survey=survey).count() == 42
    # Responses that shared a batch share a transaction id: fewer transactions than responses.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT xmin::text) FROM surveys_response WHERE survey_id = %s", [survey.id]
        )
        transactions = cursor.fetchone()[0]
    assert 1 <= transactions < 41
    ids = {r.json()["id"] for r in first}
    assert len(ids) == 40 and ids <= set(recorded)
    # Receivers never run on the event loop (here the test's own thread): a thread sends them.
    assert receiver_threads and threading.get_ident() not in receiver_threads


@pytest.mark.django_db(transaction=True)
def test_one_poisoned_submission_never_fails_the_others_in_its_batch(postgres, organization, monkeypatch):
    """A row the database refuses (here a NUL the request checks were made to miss) fails alone: the
    batch is retried member by member, and the others are committed and answered 201."""
    from cxm.asgi import application
    from surveys.collection import committer, http
    from tests.asgi import call

    monkeypatch.setenv("CXM_SURVEYS_GROUP_COMMIT", "1")
    monkeypatch.setattr(http, "loads_strict", json.loads)  # let the poison through the checks
    survey, score, detractor, path, headers = _widget_survey(organization)
    batches: list[int] = []
    real_execute = committer._execute

    async def counting_execute(connection_, sql, params):
        batches.append(len(params[0]))
        return await real_execute(connection_, sql, params)

    monkeypatch.setattr(committer, "_execute", counting_execute)
    ordinary: list[str] = []
    real_write = write.response_write

    def counting_write(*, prepared, **kwargs):
        ordinary.append(prepared.key)
        return real_write(prepared=prepared, **kwargs)

    monkeypatch.setattr(write, "response_write", counting_write)

    def body(n: int) -> bytes:
        comment = "bad\u0000" if n == 4 else "late"
        return json.dumps(
            {"answers": {str(score): 2, str(detractor): comment}, "idempotency_key": f"p{n}"}
        ).encode()

    async def scenario() -> list:
        results = await asyncio.gather(
            *(call(application, "POST", path, body(n), headers) for n in range(12))
        )
        loop_committer().close()
        return results

    results = asyncio.run(scenario())
    codes = [r.status_code for r in results]
    assert codes[4] >= 400 and [c for n, c in enumerate(codes) if n != 4] == [201] * 11
    stored = set(Response.objects.unscoped().filter(survey=survey).values_list("idempotency_key", flat=True))
    assert stored == {f"p{n}" for n in range(12) if n != 4}
    assert max(batches) > 1  # they did share a batch
    assert ordinary == ["p4"]  # only the refused one left the committer for the ordinary path


@pytest.mark.django_db(transaction=True)
def test_the_committer_commits_the_others_of_a_batch_with_a_refused_row(postgres, organization, monkeypatch):
    from surveys.collection import rules

    monkeypatch.setenv("CXM_SURVEYS_GROUP_COMMIT", "1")
    survey = services.survey_create_from_template(organization=organization, template="nps")
    services.survey_set_status(survey=survey, action="activate")
    snapshot = survey_snapshot(public_id=survey.public_id)
    first = snapshot.questions[0].id
    pending = []
    for n in range(5):
        prepared = rules.response_prepare(
            snapshot=snapshot, answers={str(first): 5}, idempotency_key=f"q{n}", hidden_fields={"n": n}
        )
        item = rules.response_pending(prepared=prepared)[0]
        if n == 2:
            item.columns["comment"] = "bad\u0000"  # what no check let through
        pending.append(item)

    async def scenario() -> list[int | None]:
        results = await asyncio.gather(*(loop_committer().submit(item) for item in pending))
        loop_committer().close()
        return list(results)

    results = asyncio.run(scenario())
    assert results[2] is None and all(results[n] for n in (0, 1, 3, 4))
    assert set(
        Response.objects.unscoped().filter(survey=survey).values_list("idempotency_key", flat=True)
    ) == {
        "q0",
        "q1",
        "q3",
        "q4",
    }
