"""What drives the score (METRICS.md, "Key drivers").

Per survey: the complete cases are the responses that answered the survey's overall NPS question and
every driver question of that survey (rating, CSAT, CES), each rescaled to 0–100 as
100 × (x − min) / (max − min) on its own scale. Importance = Johnson's (2000) relative weight of each
driver in the regression of the NPS score on the drivers (the weights sum to the model's R², shown
too); the correlation with the NPS score beside it; performance = the driver's rescaled mean. With
fewer than 10 complete cases per driver, correlations only, and how many more complete answers the
relative weights need. Touchpoint scores from other surveys form a second, separate analysis per
customer: their latest NPS answer and their latest answer per touchpoint score in the window,
complete cases too.

SQL pivots one row per case (response, or customer); numpy works on that frame only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Max, Q, QuerySet

from cxm.tenancy.models import Organization
from surveys.models import Answer, Question, Response

from .aggregates import survey_csat_scales

DRIVER_KINDS = ("rating", "csat", "ces")
MIN_CASES_PER_DRIVER = 10
MAX_DRIVERS = 30


def relative_weights(corr: np.ndarray, r_xy: np.ndarray) -> tuple[np.ndarray, float]:
    """Johnson's relative weights: with R_xx = V Λ V' and Λ½ = V Λ^½ V', β = Λ½⁻¹ r_xy and the raw
    weight of driver j is Σ_k (Λ½_jk)² β_k²; they sum to R². Returns (raw weights, R²)."""
    values, vectors = np.linalg.eigh(corr)
    values = np.clip(values, 1e-12, None)  # a constant or duplicated driver leaves R_xx singular
    half = vectors @ np.diag(np.sqrt(values)) @ vectors.T
    beta = np.linalg.solve(half, r_xy)
    raw = (half**2) @ (beta**2)
    return raw, float(raw.sum())


def rescale(values: pd.Series | np.ndarray, low: float, high: float) -> Any:
    """100 × (x − min) / (max − min): answers on different scales become comparable 0–100 scores."""
    return 100.0 * (values - low) / (high - low)


def driver_analysis(cases: pd.DataFrame, drivers: list[dict[str, Any]]) -> dict[str, Any]:
    """Relative weights, correlations and performance on complete cases.

    `cases` holds the rescaled outcome in column "nps" and one rescaled column per driver key;
    rows with any missing value are not complete cases and are dropped here."""
    keys = [d["key"] for d in drivers]
    complete = cases[["nps", *keys]].dropna().astype(float) if keys else pd.DataFrame()
    n = int(len(complete))
    needed = MIN_CASES_PER_DRIVER * len(keys)
    results = []
    for driver in drivers:
        column = complete[driver["key"]] if n else pd.Series(dtype=float)
        corr = None
        if n >= 3 and column.std() > 0 and complete["nps"].std() > 0:
            corr = float(np.corrcoef(complete["nps"], column)[0, 1])
        results.append(
            {
                "key": driver["key"],
                "label": driver["label"],
                "source": driver["source"],
                "kind": driver["kind"],
                "scale": list(driver["scale"]) if driver.get("scale") else None,
                "n": n,
                "performance_pct": float(column.mean()) if n else None,
                "correlation": corr,
                "relative_weight": None,
                "importance": None,
            }
        )
    r_squared = None
    weights_available = bool(keys) and n >= needed
    if weights_available:
        data = complete.to_numpy()
        std = data.std(axis=0)
        usable = [i for i, key in enumerate(keys) if std[i + 1] > 0]
        if std[0] > 0 and usable:
            corr_matrix = np.corrcoef(data[:, [0, *(i + 1 for i in usable)]], rowvar=False)
            raw, r_squared = relative_weights(corr_matrix[1:, 1:], corr_matrix[1:, 0])
            for position, index in enumerate(usable):
                results[index]["relative_weight"] = float(raw[position])
                results[index]["importance"] = (
                    float(100 * raw[position] / r_squared) if r_squared > 0 else 0.0
                )
            for index in set(range(len(keys))) - set(usable):
                results[index]["relative_weight"] = 0.0  # a constant driver explains nothing
                results[index]["importance"] = 0.0
        else:
            r_squared = 0.0
    results.sort(key=lambda r: (r["relative_weight"] is None, -(r["relative_weight"] or 0), r["label"]))
    return {
        "complete_cases": n,
        "r_squared": r_squared,
        "weights_available": weights_available,
        "cases_needed": needed,
        "more_answers_needed": max(0, needed - n) if keys else 0,
        "drivers": results,
    }


def _label(text: Any, fallback: str) -> str:
    if isinstance(text, dict) and text:
        return str(text.get("en") or next(iter(text.values())))
    return fallback


def key_drivers(
    *,
    organization: Organization,
    responses: QuerySet[Any],
    using: str,
    start: Any,
    end: Any,
    reuse: Any = None,
) -> dict[str, Any]:
    """One analysis per survey (its own questions) and one of touchpoint scores from other surveys
    (per customer); see the module docstring. `drivers` lists every driver of every analysis
    (for the importance × performance quadrant), each with its analysis' key.

    `reuse(key, inputs, compute)` (the recompute of the default view passes one) returns the
    analysis of a survey stored with the same inputs (the window, the survey's questions and
    responses) instead of computing it again."""
    nps_responses = responses.filter(score_kind="nps")
    survey_ids = sorted(set(nps_responses.values_list("survey_id", flat=True).order_by().distinct()))
    questions = (
        Question.objects.using(using)
        .for_organization(organization)
        .filter(survey_id__in=survey_ids, kind__in=["nps", *DRIVER_KINDS])
        .select_related("survey")
        .order_by("survey_id", "position", "id")
    )
    by_survey: dict[int, list[Any]] = {}
    for question in questions:
        by_survey.setdefault(question.survey_id, []).append(question)
    analyses = []
    for survey_id, survey_questions in by_survey.items():
        if reuse is None:
            analysis = _survey_analysis(organization, nps_responses, using, survey_questions)
        else:
            analysis = reuse(
                f"drivers:survey-{survey_id}",
                {
                    "window": [start, end],
                    "survey": survey_id,
                    "questions": [
                        [q.pk, q.kind, q.position, q.text, q.scale_max, q.survey.name]
                        for q in survey_questions
                    ],
                },
                lambda survey_questions=survey_questions: _survey_analysis(
                    organization, nps_responses, using, survey_questions
                ),
            )
        if analysis is not None:
            analyses.append(analysis)
    touchpoints = _touchpoint_analysis(organization, nps_responses, using, start, end)
    if touchpoints is not None:
        analyses.append(touchpoints)
    drivers = [{**driver, "analysis": a["key"]} for a in analyses for driver in a["drivers"]]
    first = analyses[0] if analyses else None
    return {
        "analyses": analyses,
        "drivers": drivers,
        "respondents": nps_responses.count(),
        "r_squared": first["r_squared"] if first else None,
    }


def _survey_analysis(
    organization: Organization, nps_responses: QuerySet[Any], using: str, questions: list[Any]
) -> dict[str, Any] | None:
    nps_question = next((q for q in questions if q.kind == "nps"), None)
    driver_questions = [q for q in questions if q.kind in DRIVER_KINDS][:MAX_DRIVERS]
    if nps_question is None or not driver_questions:
        return None
    drivers = []
    for question in driver_questions:
        low, high = question.score_range()
        drivers.append(
            {
                "key": f"q{question.pk}",
                "question": question.pk,
                "source": "question",
                "kind": question.kind,
                "label": _label(question.text, question.kind),
                "scale": (low, high),
            }
        )
    ids = [nps_question.pk, *(q.pk for q in driver_questions)]
    pivot = (
        Answer.objects.using(using)
        .for_organization(organization)
        .filter(
            response__in=nps_responses.filter(survey_id=nps_question.survey_id).values("id"),
            question_id__in=ids,
            number__isnull=False,
        )
        .values("response_id")
        .annotate(**{f"q{qid}": Max("number", filter=Q(question_id=qid)) for qid in ids})
        .order_by()
        .values_list("response_id", *(f"q{qid}" for qid in ids))
    )
    frame = pd.DataFrame.from_records(list(pivot), columns=["response_id", *(f"q{qid}" for qid in ids)])
    cases = pd.DataFrame({"nps": rescale(frame[f"q{nps_question.pk}"].astype(float), 0, 10)})
    for driver in drivers:
        cases[driver["key"]] = rescale(frame[driver["key"]].astype(float), *driver["scale"])
    survey = nps_question.survey
    return {
        "key": f"survey-{survey.pk}",
        "kind": "survey",
        "label": survey.name,
        "survey": survey.pk,
        "respondents": int(cases["nps"].notna().sum()),
        **driver_analysis(cases, drivers),
    }


def _touchpoint_analysis(
    organization: Organization, nps_responses: QuerySet[Any], using: str, start: Any, end: Any
) -> dict[str, Any] | None:
    """Per customer with an NPS answer: their latest NPS answer and their latest score per touchpoint
    and kind (CSAT, CES, rating) in the window, from surveys other than the NPS answer's."""
    latest_nps = pd.DataFrame.from_records(
        list(
            nps_responses.filter(customer__isnull=False)
            .order_by()
            .values_list("customer_id", "survey_id", "score", "submitted_at", "id")
        ),
        columns=["customer_id", "survey_id", "score", "submitted_at", "id"],
    )
    if latest_nps.empty:
        return None
    latest_nps = latest_nps.sort_values(["submitted_at", "id"]).drop_duplicates("customer_id", keep="last")
    rows = pd.DataFrame.from_records(
        list(
            Response.objects.using(using)
            .for_organization(organization)
            .filter(
                score_kind__in=list(DRIVER_KINDS),
                score__isnull=False,
                touchpoint__isnull=False,
                customer__isnull=False,
                submitted_at__gte=start,
                submitted_at__lt=end,
            )
            .order_by()
            .values_list(
                "customer_id",
                "survey_id",
                "touchpoint_id",
                "touchpoint__name",
                "score_kind",
                "score",
                "submitted_at",
                "id",
            )
        ),
        columns=["customer_id", "survey_id", "touchpoint_id", "name", "kind", "score", "submitted_at", "id"],
    )
    # Only customers with an NPS answer (filtered here: an IN (subquery) on responses was planned as a
    # nested loop and took seconds on a few thousand customers).
    rows = rows[rows["customer_id"].isin(latest_nps["customer_id"])]
    if rows.empty:
        return None
    nps_survey = latest_nps.set_index("customer_id")["survey_id"]
    rows = rows[rows["survey_id"].to_numpy() != nps_survey.reindex(rows["customer_id"]).to_numpy()]
    if rows.empty:
        return None
    csat_scale = survey_csat_scales(organization=organization, using=using)
    scale_max = np.where(
        rows["kind"] == "csat",
        rows["survey_id"].map(csat_scale).fillna(5),
        np.where(rows["kind"] == "ces", 7, 5),
    ).astype(float)
    rows = rows.assign(value=100.0 * (rows["score"].astype(float) - 1) / (scale_max - 1))
    rows["key"] = "t" + rows["touchpoint_id"].astype(str) + "_" + rows["kind"]
    counts = rows.groupby("key")["customer_id"].nunique().sort_values(ascending=False)
    keep = list(counts.index[:MAX_DRIVERS])
    rows = rows[rows["key"].isin(keep)]
    latest = rows.sort_values(["submitted_at", "id"]).drop_duplicates(["customer_id", "key"], keep="last")
    wide = latest.pivot(index="customer_id", columns="key", values="value")
    cases = pd.DataFrame({"nps": rescale(latest_nps.set_index("customer_id")["score"].astype(float), 0, 10)})
    cases = cases.join(wide, how="left")
    names = rows.drop_duplicates("key").set_index("key")
    drivers = [
        {
            "key": key,
            "source": "touchpoint",
            "kind": names.loc[key, "kind"],
            "touchpoint": int(names.loc[key, "touchpoint_id"]),
            "label": f"{names.loc[key, 'name']} ({str(names.loc[key, 'kind']).upper()})",
            "scale": None,  # each answer was rescaled on its own survey's scale
        }
        for key in keep
    ]
    return {
        "key": "touchpoints",
        "kind": "touchpoint",
        "label": "touchpoints",
        "respondents": int(len(cases)),
        **driver_analysis(cases, drivers),
    }
