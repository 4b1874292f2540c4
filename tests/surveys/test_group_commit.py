"""Group commit on PostgreSQL: concurrent submissions share transactions; each returns after commit."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from surveys import services
from surveys.committer import committer
from surveys.models import Answer, Response
from surveys.selectors import survey_snapshot


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
                result = services.response_submit(
                    snapshot=snapshot, answers={str(first): (n + i) % 11}, idempotency_key=f"t{n}-{i}"
                )
                # Acknowledged means committed: another connection sees it now.
                with lock:
                    results.append(result.response_id)
            # The same key again goes the ordinary way and stores nothing twice.
            again = services.response_submit(
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
        t.join(30)
    assert errors == []
    assert len(results) == len(set(results)) == 80
    assert Response.objects.filter(survey=survey).count() == 80
    assert Answer.objects.filter(response__survey=survey).count() == 80
    assert connection.vendor == "postgresql"
    # The committer's own connection must not outlive the test database.
    committer.close()
