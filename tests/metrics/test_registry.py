"""Dashboards are a registry: a dashboard declared in one module (its builder, tables, template and
charts) is served with its tab, computed by the recompute and on demand, polled and exported, with no
other code changed. The five shipped dashboards declare charts their templates and script draw."""

from __future__ import annotations

import csv
import importlib
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import clear_url_caches, reverse
from django.utils import timezone

from metrics import services
from metrics.dashboards import Dashboard, registry
from metrics.models import Snapshot
from metrics.tables import Table

from .data import response, survey

ROOT = Path(__file__).resolve().parents[2]


def _build(*, organization: Any, filters: Any, using: str, context: dict[str, Any]) -> dict[str, Any]:
    from metrics.computations.aggregates import responses_for
    from metrics.dashboards.common import _window_payload

    rows = responses_for(organization=organization, filters=filters, using=using)
    return {
        "window": _window_payload(organization, filters),
        "answers": rows.count(),
        "trend": [],
        "by_kind": [
            {"kind": kind, "n": rows.filter(score_kind=kind).count()} for kind in ("nps", "csat", "ces")
        ],
    }


def _tables(payload: dict[str, Any], currency: str = "") -> list[Table]:
    return [
        Table(
            "by_kind",
            "Answers by kind",
            ["Kind", "Answers"],
            [[r["kind"], r["n"]] for r in payload["by_kind"]],
        )
    ]


def _reload_urls() -> None:
    import cxm.urls
    import metrics.urls

    importlib.reload(metrics.urls)
    importlib.reload(cxm.urls)
    clear_url_caches()


@pytest.fixture
def throwaway(settings):
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "DIRS": [*settings.TEMPLATES[0]["DIRS"], Path(__file__).parent / "templates"],
        }
    ]
    dashboard = registry.register(
        Dashboard(
            key="throwaway",
            title="Throwaway",
            order=35,
            builder=_build,
            tables=_tables,
            charts=("volume",),
        )
    )
    _reload_urls()
    yield dashboard
    registry.unregister("throwaway")
    _reload_urls()


@pytest.mark.django_db
def test_a_registered_dashboard_is_served_recomputed_polled_and_exported(
    throwaway, organization, owner_client
):
    nps = survey(organization)
    for score in (10, 9, 3):
        response(organization, nps, "nps", score, timezone.now() - timedelta(days=2))
    response(organization, survey(organization, "CSAT"), "csat", 5, timezone.now() - timedelta(days=2))

    # the recompute computes it with the others
    services.dashboards_recompute(organization=organization)
    snapshot = Snapshot.objects.unscoped().get(
        organization=organization, dashboard="throwaway", filters_key="default"
    )
    assert snapshot.payload["answers"] == 4
    assert {r["kind"]: r["n"] for r in snapshot.payload["by_kind"]} == {"nps": 3, "csat": 1, "ces": 0}

    # its page: its URL name, its template, its table; a tab on every dashboard, in its order
    assert reverse("dashboard-throwaway") == "/dashboards/throwaway/"
    html = owner_client.get("/dashboards/throwaway/").content.decode()
    assert '<div class="value" data-kpi="answers">4</div>' in html
    assert 'data-chart="volume"' in html and 'id="table-by_kind"' in html
    assert re.search(r'<a href="/dashboards/throwaway/"\s+aria-current="page">Throwaway</a>', html)
    overview = owner_client.get("/dashboards/").content.decode()
    nav = re.search(r'<nav class="tabs".*?</nav>', overview, flags=re.DOTALL)
    assert nav is not None
    assert re.findall(r'<a href="([^"]+)"', nav.group(0)) == [
        "/dashboards/",
        "/dashboards/journey/",
        "/dashboards/retention/",
        "/dashboards/throwaway/",
        "/dashboards/value/",
        "/dashboards/drivers/",
        "/dashboards/text/",
    ]

    # the status poll knows it
    status = owner_client.get("/dashboards/status/?dashboard=throwaway").json()
    assert status["ready"] is True and status["computed_at"] == snapshot.computed_at.isoformat()

    # its table exports as the page shows it
    export = owner_client.get("/dashboards/export/?dashboard=throwaway&table=by_kind&format=csv")
    assert export.status_code == 200
    assert export["Content-Disposition"].startswith('attachment; filename="acme-throwaway-by_kind-')
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows == [["Kind", "Answers"], ["nps", "3"], ["csat", "1"], ["ces", "0"]]
    xlsx = owner_client.get("/dashboards/export/?dashboard=throwaway&table=by_kind&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

    # filters no snapshot covers are computed on demand, for it alone
    html = owner_client.get(f"/dashboards/throwaway/?survey={nps.pk}").content.decode()
    assert '<div class="value" data-kpi="answers">3</div>' in html
    on_demand = Snapshot.objects.unscoped().filter(organization=organization).exclude(filters_key="default")
    assert [s.dashboard for s in on_demand] == ["throwaway"]


@pytest.mark.django_db
def test_an_unregistered_dashboard_has_no_page_status_or_export(organization, owner_client):
    assert registry.get("throwaway") is None
    assert owner_client.get("/dashboards/throwaway/").status_code == 404
    assert owner_client.get("/dashboards/status/?dashboard=throwaway").status_code == 400
    assert owner_client.get("/dashboards/export/?dashboard=throwaway&table=by_kind").status_code == 404


def test_dashboard_keys_that_would_clash_are_refused():
    for key in ("status", "export", "recompute", "Overview", "a" * 33, ""):
        with pytest.raises(Exception, match="invalid dashboard key"):
            Dashboard(key=key, title="x", builder=_build, tables=_tables, order=1)
    with pytest.raises(Exception, match="registered twice"):
        registry.register(registry.require("overview"))


def test_the_shipped_dashboards_in_tab_order_with_the_charts_their_templates_and_script_draw():
    assert [(d.key, d.url_name, d.path) for d in registry.all_dashboards()] == [
        ("overview", "dashboard-overview", ""),
        ("journey", "dashboard-journey", "journey/"),
        ("retention", "dashboard-retention", "retention/"),
        ("value", "dashboard-value", "value/"),
        ("drivers", "dashboard-drivers", "drivers/"),
        ("text", "dashboard-text", "text/"),
    ]
    script = (ROOT / "static" / "metrics" / "dashboards.js").read_text()
    drawn = set(re.findall(r'^    "([a-z-]+)": function', script, flags=re.MULTILINE))
    for dashboard in registry.all_dashboards():
        for own in dashboard.scripts:  # chart kinds a dashboard's own script registers
            own_script = (ROOT / "static" / own).read_text()
            drawn |= set(re.findall(r'register\("([a-z-]+)"', own_script))
        template = (ROOT / "metrics" / "templates" / dashboard.template).read_text()
        assert tuple(re.findall(r'data-chart="([a-z-]+)"', template)) == dashboard.charts
        assert set(dashboard.charts) <= drawn
