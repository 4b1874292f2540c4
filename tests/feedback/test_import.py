"""CSV import kind `feedback`: the same cleaner and writer as the bulk API, bad rows reported by line."""

from __future__ import annotations

import pytest

from feedback.models import FeedbackRecord
from journeys.imports import import_job_create, import_job_run
from journeys.models import ImportStatus, Touchpoint

pytestmark = pytest.mark.django_db

CSV = """id,text,channel,occurred_at,source,customer_external_id,touchpoint,rating,rating_scale,language,properties
f1,物流很快但是东西坏了,app_store,2026-11-01T10:00:00Z,App Store,C1,web,2,5,zh,"{""v"": 1}"
f2,,chat,2026-11-01,,,,,,,
f3,Support was slow,ticket,2026-11-02,Helpdesk,,,,,en,
f4,fine,fax,2026-11-02,,,,,,,
"""


def test_a_feedback_csv_imports_the_good_rows_and_names_the_bad_lines(organization, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    Touchpoint.objects.create(organization=organization, name="Web", key="web")
    job = import_job_create(
        organization=organization, kind="feedback", chunks=[CSV.encode()], skip_bad_rows=True, enqueue=False
    )
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE, job.message
    assert (job.total, job.error_count, job.created_count) == (4, 2, 2)
    assert {(e["line"], e["field"]) for e in job.errors} == {(3, "text"), (5, "channel")}
    stored = FeedbackRecord.objects.for_organization(organization).get(external_id="f1")
    assert stored.customer.external_id == "C1" and stored.touchpoint.key == "web"
    assert stored.properties == {"v": 1} and stored.rating_scale == 5
    again = import_job_run(
        job_id=import_job_create(
            organization=organization,
            kind="feedback",
            chunks=[CSV.encode()],
            skip_bad_rows=True,
            enqueue=False,
        ).pk
    )
    assert "0 new, 2 already stored" in again.message
    assert FeedbackRecord.objects.for_organization(organization).count() == 2
