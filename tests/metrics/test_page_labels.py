"""What a new user reads on the dashboards: channel and language names (not codes) in Chinese, and the
window on screen in the date inputs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from metrics import services
from metrics.tables import channel_label, tables_for

from .data import seed_dataset

pytestmark = pytest.mark.django_db
MIDDAY = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)


@pytest.fixture
def seeded(organization):
    data = seed_dataset(organization, customers=40)
    # answers in both languages, for the "By language" table
    from surveys.models import Response

    ids = list(Response.objects.unscoped().filter(organization=organization).values_list("id", flat=True))
    Response.objects.unscoped().filter(id__in=ids[::2]).update(locale="zh-hans")
    Response.objects.unscoped().filter(id__in=ids[1::2]).update(locale="en")
    services.dashboards_recompute(organization=organization)
    return data


def _cells(html):
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


def test_breakdown_tables_name_channels_and_languages_in_chinese(seeded, owner_client):
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    journey = _cells(owner_client.get("/dashboards/journey/", **zh).content.decode())
    assert "网站" in journey and "门店" in journey and "电话" in journey
    assert not {"website", "store", "phone", "mobile_app", "chat"} & set(journey)
    overview = _cells(owner_client.get("/dashboards/", **zh).content.decode())
    assert "简体中文" in overview and "英语" in overview
    assert not {"zh-hans", "en"} & set(overview)
    english = _cells(owner_client.get("/dashboards/journey/").content.decode())
    assert "Website" in english and "website" not in english


def test_channel_label_of_unknown_and_missing_codes():
    assert channel_label("website") == "Website"
    assert channel_label("") == "—" and channel_label("fax") == "fax"
    assert tables_for("journey", {}) == []


@pytest.mark.now(MIDDAY)  # the page and the test agree on "today", even at midnight
def test_date_inputs_show_the_default_window(seeded, owner_client, organization):
    html = owner_client.get("/dashboards/").content.decode()
    today = timezone.localdate(timezone=organization.tzinfo)
    start = today - timedelta(days=364)
    assert f'name="start" value="{start.isoformat()}"' in html
    assert f'name="end" value="{today.isoformat()}"' in html
    assert "Showing the default window: the last 365 days." in html
    zh = owner_client.get("/dashboards/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f'name="start" value="{start.isoformat()}"' in zh and "当前为默认时间范围：最近 365 天。" in zh
    chosen = owner_client.get("/dashboards/?start=2026-01-01&end=2026-03-31").content.decode()
    assert 'name="start" value="2026-01-01"' in chosen and 'name="end" value="2026-03-31"' in chosen
    assert "Showing the default window" not in chosen
    only_end = owner_client.get("/dashboards/?end=2026-03-31").content.decode()
    assert 'name="start" value="2025-04-01"' in only_end  # 365 days ending on the chosen day


def test_clv_model_period_is_named_in_chinese(seeded, owner_client, organization):
    from metrics.models import Snapshot

    owner_client.get("/dashboards/value/")
    snapshot = Snapshot.objects.unscoped().get(
        organization=organization, dashboard="value", filters_key="default"
    )
    numbers = {"r": 1.0, "alpha": 2.0, "a": 3.0, "b": 4.0, "log_likelihood": -5.0}
    snapshot.payload["model"] = {
        "calibration_end": "2026-09-02",
        "period": "week",
        "bgnbd": numbers,
        "gamma_gamma": {"p": 1.0, "q": 2.0, "gamma": 3.0, "log_likelihood": -4.0},
    }
    snapshot.save(update_fields=["payload"])
    zh = owner_client.get("/dashboards/value/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "校准截止 2026-09-02，周期单位 周。" in zh
    en = owner_client.get("/dashboards/value/").content.decode()
    assert "Calibration end 2026-09-02, period week." in en


@pytest.mark.now(MIDDAY)  # the page and the test agree on "today", even at midnight
def test_applying_the_shown_default_window_keeps_the_precomputed_snapshot(seeded, owner_client, organization):
    from metrics.models import Snapshot

    owner_client.get("/dashboards/")
    before = Snapshot.objects.unscoped().filter(organization=organization).count()
    today = timezone.localdate(timezone=organization.tzinfo)
    start = today - timedelta(days=364)
    html = owner_client.get(f"/dashboards/?start={start}&end={today}&bucket=week").content.decode()
    assert "Showing the default window: the last 365 days." in html
    assert Snapshot.objects.unscoped().filter(organization=organization).count() == before
    other = owner_client.get(f"/dashboards/?start={start + timedelta(days=1)}&end={today}").content.decode()
    assert "Showing the default window" not in other
    assert f'name="start" value="{start + timedelta(days=1)}"' in other
