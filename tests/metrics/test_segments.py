"""RFM quintiles (with ties), named segments, value tiers and lifecycle stages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics.computations.segments import (
    lifecycle_stages,
    quintile_scores,
    rfm_scores,
    rfm_segment,
    value_tiers,
)


def test_quintiles_of_ten_distinct_values():
    scores = quintile_scores(pd.Series(range(1, 11), dtype=float))
    assert scores.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_ties_at_a_quintile_boundary_share_the_lower_score():
    # values 1,2,2,2,5: ranks (min) 1,2,2,2,5 → 1 + ⌊5(rank−1)/5⌋ = 1,2,2,2,5
    scores = quintile_scores(pd.Series([1, 2, 2, 2, 5], dtype=float))
    assert scores.tolist() == [1, 2, 2, 2, 5]
    # all equal: everyone scores 1
    assert quintile_scores(pd.Series([3, 3, 3], dtype=float)).tolist() == [1, 1, 1]


def test_recency_fewer_days_is_better_and_missing_values_get_no_score():
    scores = quintile_scores(pd.Series([1, 10, 100, np.nan, 1000, 5], dtype=float), higher_is_better=False)
    assert scores.iloc[0] == 5 and scores.iloc[4] == 1
    assert np.isnan(scores.iloc[3])


def test_one_customer_one_order():
    frame = rfm_scores(pd.Series([3.0]), pd.Series([1.0]), pd.Series([50.0]))
    assert frame.iloc[0][["r_score", "f_score", "m_score"]].tolist() == [1, 1, 1]
    assert frame.iloc[0]["rfm_segment"] == "lost"


def test_named_segments():
    assert rfm_segment(5, 5) == "champions"
    assert rfm_segment(4, 4) == "loyal"
    assert rfm_segment(5, 2) == "potential_loyalist"
    assert rfm_segment(5, 1) == "new"
    assert rfm_segment(4, 1) == "promising"
    assert rfm_segment(3, 3) == "need_attention"
    assert rfm_segment(3, 1) == "about_to_sleep"
    assert rfm_segment(2, 3) == "at_risk"
    assert rfm_segment(1, 5) == "cannot_lose"
    assert rfm_segment(2, 1) == "hibernating"
    assert rfm_segment(1, 2) == "lost"
    assert rfm_segment(None, 3) == ""


def test_value_tiers_top_20_next_30():
    values = pd.Series([100, 90, 80, 70, 60, 50, 40, 30, 20, 10], dtype=float)
    assert value_tiers(values).tolist() == ["high"] * 2 + ["medium"] * 3 + ["low"] * 5
    # a tie across the boundary joins the higher tier
    tied = value_tiers(pd.Series([100, 90, 90, 70, 60, 50, 40, 30, 20, 10], dtype=float))
    assert tied.tolist()[:3] == ["high", "high", "high"]
    assert value_tiers(pd.Series([np.nan, 5.0])).tolist() == ["", "high"]


def test_lifecycle_rules_in_order():
    index = range(6)
    stages = lifecycle_stages(
        has_purchase=pd.Series([False, True, True, True, True, True], index=index),
        days_since_first_purchase=pd.Series([np.nan, 10, 300, 300, 300, 400], index=index),
        days_since_last_purchase=pd.Series([np.nan, 10, 20, 100, 20, 200], index=index),
        days_since_last_activity=pd.Series([5, 10, 20, 100, 20, 200], index=index),
        typical_gap_days=pd.Series([np.nan, np.nan, 30, 30, 30, 30], index=index),
        p_alive=pd.Series([np.nan, np.nan, 0.9, 0.9, 0.3, 0.9], index=index),
    )
    # potential, new, active, at risk (gap 100 > 2×30), at risk (P(alive) 0.3), churned (200 > 180)
    assert stages.tolist() == ["potential", "new", "active", "at_risk", "at_risk", "churned"]
