"""Dashboard pages: served from snapshots, filters in the URL, exports, permissions, query counts."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from cxm.tenancy.roles import Role
from metrics import services
from metrics.models import Snapshot
from tests.factories import OrganizationFactory
from tests.seeding import seeded_once

from .data import response, seed_dataset, survey

PAGES = [
    "/dashboards/",
    "/dashboards/journey/",
    "/dashboards/retention/",
    "/dashboards/value/",
    "/dashboards/drivers/",
]


@pytest.fixture(scope="module")
def _seeded_once(django_db_setup, django_db_blocker):
    """A year of data and its snapshots, seeded once for the module (tests/seeding.py)."""
    with seeded_once(django_db_blocker):
        organization = OrganizationFactory(slug="acme-seeded", name="Acme")
        data = seed_dataset(organization, customers=60)
        services.dashboards_recompute(organization=organization)
        yield organization, data


@pytest.fixture
def organization(request, db):
    """Acme; in the tests that use `seeded`, the Acme seeded once for the module."""
    if "seeded" in request.fixturenames:
        return request.getfixturevalue("_seeded_once")[0]
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def seeded(_seeded_once, organization):
    return _seeded_once[1]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_each_dashboard_renders_its_snapshot(seeded, owner_client, url, organization):
    page = owner_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="dashboard-data" type="application/json"' in html
    assert "vendor/plotly.min.js" in html and "metrics/dashboards.js" in html
    assert "<script>" not in html  # CSP: no inline executable script
    assert "Computed" in html and "data-chart=" in html
    assert "format=csv" in html and "format=xlsx" in html


@pytest.mark.django_db
def test_overview_shows_the_numbers(organization, owner_client):
    s = survey(organization)
    now = timezone.now()
    for score in (10, 9, 7, 2):
        response(
            organization, s, "nps", score, now - timedelta(days=1), comment="Fast 送货" if score == 2 else ""
        )
    services.dashboards_recompute(organization=organization)
    html = owner_client.get("/dashboards/").content.decode()
    assert '<div class="value" data-kpi="nps">25.0</div>' in html  # (2 − 1) / 4
    assert "n = 4" in html and "Fast 送货" in html
    assert "No earlier data to compare with" in html  # nothing in the previous window


@pytest.mark.django_db
def test_overview_says_how_many_answers_a_comparison_lacks(organization, owner_client):
    s = survey(organization)
    now = timezone.now()
    for days in (1, 2, 3):
        response(organization, s, "nps", 9, now - timedelta(days=days))
    for days in (400, 401):
        response(organization, s, "nps", 3, now - timedelta(days=days))
    services.dashboards_recompute(organization=organization)
    html = owner_client.get("/dashboards/").content.decode()
    assert "No detectable change (n = 3 vs 2; 30 needed on each side)" in html


@pytest.mark.django_db
def test_the_first_visit_computes_the_default_view(
    organization, owner_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        html = owner_client.get("/dashboards/").content.decode()
    html = owner_client.get("/dashboards/").content.decode()
    assert Snapshot.objects.unscoped().filter(organization=organization, filters_key="default").exists()
    assert "No responses yet" in html


@pytest.mark.django_db
def test_filters_not_covered_by_a_snapshot_are_computed_on_demand(seeded, organization, owner_client):
    survey_id = seeded["nps_survey"].pk
    page = owner_client.get(f"/dashboards/?survey={survey_id}&bucket=month")
    assert page.status_code == 200
    snapshot = Snapshot.objects.unscoped().exclude(filters_key="default").get(organization=organization)
    assert snapshot.filters["survey"] == survey_id and snapshot.filters["bucket"] == "month"
    assert snapshot.payload["summary"]["csat"]["n"] == 0  # only the NPS survey
    html = page.content.decode()
    assert f'<option value="{survey_id}" selected>' in html


@pytest.mark.django_db
@override_settings(METRICS_ON_DEMAND_MAX_ROWS=0, CELERY_TASK_ALWAYS_EAGER=False)
def test_large_uncovered_views_are_queued_with_progress(seeded, organization, owner_client, monkeypatch):
    queued = []
    monkeypatch.setattr("metrics.tasks.compute_snapshot.delay", lambda *args: queued.append(args))
    html = owner_client.get("/dashboards/?bucket=day").content.decode()
    assert queued and queued[0][1] == "overview" and queued[0][2]["bucket"] == "day"
    assert 'role="progressbar"' in html and "data-poll" in html
    status = owner_client.get("/dashboards/status/?dashboard=overview&bucket=day").json()
    assert status["ready"] is False and status["progress"] == 0.0
    # the worker runs the task
    from metrics.tasks import compute_snapshot

    compute_snapshot.run(*queued[0])
    status = owner_client.get("/dashboards/status/?dashboard=overview&bucket=day").json()
    assert status["ready"] is True and status["progress"] == 1.0
    assert "data-chart" in owner_client.get("/dashboards/?bucket=day").content.decode()


@pytest.mark.django_db
def test_bad_filters_are_reported_and_the_default_view_is_shown(seeded, owner_client):
    html = owner_client.get("/dashboards/?start=not-a-date&bucket=year").content.decode()
    assert "form-errors" in html and "Enter a date as YYYY-MM-DD." in html
    assert owner_client.get("/dashboards/status/?dashboard=nope").status_code == 400


@pytest.mark.django_db
def test_csv_and_xlsx_exports_match_the_table(seeded, owner_client):
    csv = owner_client.get("/dashboards/export/?dashboard=value&table=tiers&format=csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0] == "Tier,Customers,Historical value (USD),Predicted CLV (USD)"
    assert [line.split(",")[0] for line in lines[1:]] == ["High", "Medium", "Low"]
    xlsx = owner_client.get("/dashboards/export/?dashboard=overview&table=trend&format=xlsx")
    assert xlsx.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.cell(1, 1).value == "Period" and sheet.max_row > 1
    for bad in (
        "dashboard=x&table=tiers&format=csv",
        "dashboard=value&table=x&format=csv",
        "dashboard=value&table=tiers&format=pdf",
    ):
        assert owner_client.get(f"/dashboards/export/?{bad}").status_code == 404


@pytest.mark.django_db
def test_export_cells_never_run_as_formulas(organization, owner_client):
    s = survey(organization)
    response(organization, s, "nps", 5, timezone.now(), comment='=HYPERLINK("http://x")')
    services.dashboards_recompute(organization=organization)
    body = owner_client.get(
        "/dashboards/export/?dashboard=overview&table=comments&format=csv"
    ).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body


@pytest.mark.django_db
def test_viewers_see_but_cannot_export_or_recompute(seeded, organization, make_member, client):
    client.force_login(make_member(organization, Role.VIEWER))
    html = client.get("/dashboards/value/").content.decode()
    assert "format=csv" not in html and "Recompute now" not in html
    assert client.get("/dashboards/export/?dashboard=value&table=tiers&format=csv").status_code == 403
    assert client.post("/dashboards/recompute/").status_code == 403


@pytest.mark.django_db
def test_recompute_now(seeded, organization, owner_client, django_capture_on_commit_callbacks):
    before = (
        Snapshot.objects.unscoped()
        .get(organization=organization, dashboard="overview", filters_key="default")
        .computed_at
    )
    with django_capture_on_commit_callbacks(execute=True):
        page = owner_client.post("/dashboards/recompute/", {"next": "/dashboards/value/"})
    assert page.status_code == 302 and page["Location"] == "/dashboards/value/"
    after = (
        Snapshot.objects.unscoped()
        .get(organization=organization, dashboard="overview", filters_key="default")
        .computed_at
    )
    assert after > before
    assert (
        owner_client.post("/dashboards/recompute/", {"next": "https://evil.test/"})["Location"]
        == "/dashboards/"
    )


@pytest.mark.django_db
def test_another_organization_never_sees_our_numbers(
    organization, other_organization, make_member, client, django_capture_on_commit_callbacks
):
    s = survey(organization)
    for _ in range(3):
        response(organization, s, "nps", 10, timezone.now(), comment="Acme secret comment")
    services.dashboards_recompute(organization=organization)
    client.force_login(make_member(other_organization, Role.OWNER))
    with django_capture_on_commit_callbacks(execute=True):
        client.get("/dashboards/")
    for url in PAGES:
        html = client.get(url).content.decode()
        assert "Acme secret comment" not in html
    overview = client.get("/dashboards/").content.decode()
    assert '<div class="value" data-kpi="nps">–</div>' in overview
    body = client.get("/dashboards/export/?dashboard=overview&table=comments&format=csv").content.decode(
        "utf-8-sig"
    )
    assert "Acme" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_dashboard_query_counts_are_fixed(seeded, owner_client, url, django_assert_num_queries):
    owner_client.get(url)  # warm the session
    with django_assert_num_queries(9):
        assert owner_client.get(url).status_code == 200


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get("/dashboards/value/").status_code == 302


@pytest.mark.django_db
def test_pages_in_chinese(seeded, owner_client):
    html = owner_client.get("/dashboards/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'lang="zh-hans"' in html
