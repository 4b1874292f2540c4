"""RFM quintiles (with ties), named segments, value tiers and lifecycle stages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics.computations.segments import (
    RFM_SEGMENTS,
    lifecycle_stages,
    quintile_scores,
    rfm_scores,
    rfm_segment,
    value_tiers,
)


def test_quintiles_of_ten_distinct_values():
    scores = quintile_scores(pd.Series(range(1, 11), dtype=float))
    assert scores.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_ties_share_the_score_of_their_mid_percentile():
    # METRICS.md: percentile = (strictly worse + ½ × equal, itself included) / n,
    # score = min(5, 1 + ⌊5 × percentile⌋). Values 1,2,2,2,5 (n = 5):
    # 1 → (0 + ½·1)/5 = 0.1 → 1; each 2 → (1 + ½·3)/5 = 0.5 → 3; 5 → (4 + ½)/5 = 0.9 → 5.
    scores = quintile_scores(pd.Series([1, 2, 2, 2, 5], dtype=float))
    assert scores.tolist() == [1, 3, 3, 3, 5]
    # all equal: (0 + ½·3)/3 = 0.5 → 3 for everyone
    assert quintile_scores(pd.Series([3, 3, 3], dtype=float)).tolist() == [3, 3, 3]
    # 1,1,2,3 (n = 4): 1s → (0 + 1)/4 = 0.25 → 2; 2 → (2 + ½)/4 = 0.625 → 4; 3 → (3 + ½)/4 = 0.875 → 5
    assert quintile_scores(pd.Series([1, 1, 2, 3], dtype=float)).tolist() == [2, 2, 4, 5]


def test_quintile_scores_match_an_independent_percentile_rank():
    from scipy import stats

    rng = np.random.default_rng(7)
    values = pd.Series(rng.integers(0, 12, size=97).astype(float))
    # scipy's "mean" percentile rank is (strictly below + ½ × equal incl. itself) / n × 100
    expected = [
        min(5, 1 + int(np.floor(5 * stats.percentileofscore(values, v, kind="mean") / 100))) for v in values
    ]
    assert quintile_scores(values).astype(int).tolist() == expected


def test_recency_fewer_days_is_better_and_missing_values_get_no_score():
    scores = quintile_scores(pd.Series([1, 10, 100, np.nan, 1000, 5], dtype=float), higher_is_better=False)
    assert scores.iloc[0] == 5 and scores.iloc[4] == 1
    assert np.isnan(scores.iloc[3])


def test_one_customer_one_order():
    # a single customer sits at percentile ½ on each dimension → 3, 3, 3
    frame = rfm_scores(pd.Series([3.0]), pd.Series([1.0]), pd.Series([50.0]))
    assert frame.iloc[0][["r_score", "f_score", "m_score"]].tolist() == [3, 3, 3]
    assert frame.iloc[0]["rfm_segment"] == "need_attention"


def test_named_segments_follow_the_grid_cell_by_cell():
    grid = {
        5: ["new", "potential_loyalist", "potential_loyalist", "champions", "champions"],
        4: ["promising", "potential_loyalist", "potential_loyalist", "loyal", "champions"],
        3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
        2: ["hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"],
        1: ["lost", "lost", "at_risk", "at_risk", "cannot_lose"],
    }
    for r, row in grid.items():
        for f, name in enumerate(row, start=1):
            assert rfm_segment(r, f) == name, (r, f)
            assert rfm_segment(float(r), float(f)) == name
    assert {rfm_segment(r, f) for r in range(1, 6) for f in range(1, 6)} == set(RFM_SEGMENTS)
    assert rfm_segment(None, 3) == "" and rfm_segment(np.nan, 3) == ""


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
