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


def test_lifecycle_precedence_when_rules_overlap():
    index = range(3)
    stages = lifecycle_stages(
        has_purchase=pd.Series([True, True, True], index=index),
        # 0: new (first purchase 20 days ago) and churned (no activity for 200 days): churned first
        days_since_first_purchase=pd.Series([20, 10, 400], index=index),
        days_since_last_purchase=pd.Series([200, 10, 20], index=index),
        days_since_last_activity=pd.Series([200, 10, 20], index=index),
        typical_gap_days=pd.Series([1, 1, np.nan], index=index),
        # 1: new and at risk (P(alive) 0.1, gap 10 > 2×1): new first; 2: no gap rule, P(alive) 0.5 → active
        p_alive=pd.Series([np.nan, 0.1, 0.5], index=index),
        new_days=30,
        churn_days=180,
    )
    assert stages.tolist() == ["churned", "new", "active"]


def test_typical_gap_is_the_median_and_one_time_buyers_use_the_organizations(db):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from cxm.tenancy.selectors import organization_settings
    from metrics.computations.customers import customer_values
    from tests.factories import OrganizationFactory

    from .data import customer, order

    sh = ZoneInfo("Asia/Shanghai")
    org = OrganizationFactory(slug="gaps", time_zone="Asia/Shanghai")
    now = datetime(2026, 6, 1, 12, tzinfo=sh)

    def at(days_ago: int) -> datetime:
        return (now - timedelta(days=days_ago)).replace(
            hour=0, minute=30
        )  # 00:30 local: the day before in UTC

    a, b, c, d, e = (customer(org) for _ in range(5))
    for days_ago in (100, 90, 80, 40):  # gaps 10, 10, 40: median 10 (mean 20); 40 > 2 × 10
        order(org, a, at(days_ago), "10")
    order(org, b, at(55), "10")  # one-time buyer: organization median gap 25 → 55 > 50
    for days_ago in (60, 35, 10):  # gaps 25, 25
        order(org, c, at(days_ago), "10")
    order(org, d, at(10), "10")
    frame = customer_values(
        organization=org,
        using="default",
        now=now,
        model=None,
        settings=organization_settings(organization=org),
    ).set_index("customer_id")
    # organization gaps 10, 10, 40, 25, 25 → median 25
    stages = frame["lifecycle_stage"].to_dict()
    assert [stages[x.pk] for x in (a, b, c, d, e)] == ["at_risk", "at_risk", "active", "new", "potential"]
    assert frame.loc[a.pk, "recency_days"] == 40


def test_lifecycle_windows_count_n_local_days_including_today():
    index = range(4)
    stages = lifecycle_stages(
        has_purchase=pd.Series([True] * 4, index=index),
        days_since_first_purchase=pd.Series([29, 30, 400, 400], index=index),
        days_since_last_purchase=pd.Series([29, 30, 179, 180], index=index),
        days_since_last_activity=pd.Series([29, 30, 179, 180], index=index),
        typical_gap_days=pd.Series([np.nan] * 4, index=index),
        p_alive=pd.Series([np.nan] * 4, index=index),
        new_days=30,
        churn_days=180,
    )
    # 30-day "new" window: offsets 0 … 29; 180-day churn window: activity at offset 179 still counts
    assert stages.tolist() == ["new", "active", "active", "churned"]
