"""The test helpers themselves: the pinned clock and waiting on conditions."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from tests.clock import Clock
from tests.waiting import WaitTimeout, wait_until

NEW_YEAR = datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC)


@pytest.mark.now(NEW_YEAR)
@pytest.mark.django_db
def test_the_marker_pins_now_for_the_code_and_for_model_defaults(organization):
    from surveys.models import Survey

    assert NEW_YEAR <= timezone.now() < NEW_YEAR + timedelta(minutes=5)
    assert timezone.localdate() == NEW_YEAR.date()
    assert timezone.localdate(timezone=ZoneInfo("America/New_York")).isoformat() == "2026-12-31"
    assert NEW_YEAR <= organization.created_at < NEW_YEAR + timedelta(minutes=5)  # default=timezone.now
    survey = Survey.objects.create(organization=organization, name="x")
    assert survey.created_at.year == 2027
    # Templates still convert datetimes to local time (they check isinstance(value, datetime)).
    with timezone.override(ZoneInfo("Asia/Shanghai")):
        rendered = Template("{{ at|date:'Y-m-d H:i' }}").render(Context({"at": NEW_YEAR}))
    assert rendered == "2027-01-01 08:00"


def test_the_clock_fixture_moves_only_when_told(clock):
    clock.freeze()
    clock.set(datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    assert timezone.now() == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    clock.tick(timedelta(days=-1))
    assert timezone.now() == datetime(2026, 2, 28, 0, 0, tzinfo=UTC)
    assert Clock(NEW_YEAR, advance=False).now(ZoneInfo("Asia/Shanghai")).hour == 8


@pytest.mark.skipif(bool(os.environ.get("CXM_TEST_NOW")), reason="CXM_TEST_NOW pins every test")
def test_without_a_pin_now_is_real():
    assert abs(timezone.now() - datetime.now(UTC)) < timedelta(minutes=1)


def test_wait_until_returns_the_value_or_fails_with_the_message():
    calls = []

    def third_time() -> int:
        calls.append(1)
        return len(calls) if len(calls) >= 3 else 0

    assert wait_until(third_time, interval=0.001) == 3
    with pytest.raises(WaitTimeout, match="never true"):
        wait_until(lambda: False, timeout=0.05, interval=0.01, message="never true")
