"""Emerging terms: a significant rise is found, noise and falls are not."""

from __future__ import annotations

from feedback.text import emerging_terms


def test_real_rise_is_found() -> None:
    found = emerging_terms(
        current={"退款": 120, "物流": 200},
        current_documents=1000,
        previous={"退款": 30, "物流": 205},
        previous_documents=1000,
    )
    assert [term.term for term in found] == ["退款"]
    assert found[0].p_value < 0.001
    assert found[0].current_share == 0.12 and found[0].previous_share == 0.03


def test_no_rise_or_small_counts_are_not_found() -> None:
    assert (
        emerging_terms(
            current={"app": 52, "rare": 4, "fell": 10},
            current_documents=1000,
            previous={"app": 50, "rare": 0, "fell": 40},
            previous_documents=1000,
        )
        == []
    )


def test_shares_not_counts() -> None:
    # Twice the count in twice the documents is no rise.
    assert (
        emerging_terms(
            current={"wait": 100}, current_documents=2000, previous={"wait": 50}, previous_documents=1000
        )
        == []
    )
    assert emerging_terms(current={"x": 10}, current_documents=0, previous={}, previous_documents=10) == []
