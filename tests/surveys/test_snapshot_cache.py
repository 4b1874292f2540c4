"""The per-process snapshot cache is bounded, whatever ids strangers ask for."""

from __future__ import annotations

import secrets

import pytest

from surveys import selectors

pytestmark = pytest.mark.django_db


def test_ten_thousand_unknown_ids_leave_the_cache_within_its_bound(nps_survey):
    assert selectors.survey_snapshot(public_id=nps_survey.public_id) is not None
    for _ in range(10_000):
        assert selectors.survey_snapshot(public_id=secrets.token_urlsafe(9)) is None
    bound = selectors.SNAPSHOT_CACHE_MAX + selectors.MISSING_CACHE_MAX
    assert selectors.snapshot_cache_size() <= bound
    assert len(selectors._missing) == selectors.MISSING_CACHE_MAX
    # Unknown ids never push out a survey customers are answering (its entry may only expire).
    assert nps_survey.public_id in selectors._snapshots._items


def test_ids_of_the_wrong_form_are_never_looked_up_nor_cached(django_assert_num_queries):
    with django_assert_num_queries(0):
        for public_id in ["", "a", "x" * 33, "bad id", "ab\x00cdefgh", "abcdefgh\n", "../../etc"]:
            assert selectors.survey_snapshot(public_id=public_id) is None
    assert selectors.snapshot_cache_size() == 0


def test_touchpoint_cache_is_bounded(organization, monkeypatch):
    monkeypatch.setattr(selectors, "_touchpoints", selectors._Lru(20))
    for n in range(100):
        assert selectors.touchpoint_id_for_key(organization_id=organization.id, key=f"k{n}") is None
    assert len(selectors._touchpoints) == 20
