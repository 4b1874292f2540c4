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
from django.db import connections
from django.db.models import Max, Q, QuerySet

from cxm.tenancy.models import Organization
from journeys.models import Touchpoint
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
    and kind (CSAT, CES, rating) in the window, from surveys other than the NPS answer's.

    The latest answers are picked in SQL (window functions, PostgreSQL and SQLite alike) and only the
    complete cases leave the database, with the count of customers per driver and of respondents."""
    tagged = _touchpoint_cases(organization, nps_responses, using, start, end, keep=None)
    counts = {(row[1], row[2]): row[3] for row in tagged if row[0] == "k"}
    if not counts:
        return None
    # The drivers answered by the most customers (ties by touchpoint and kind, so the pick is stable).
    keep = sorted(counts, key=lambda key: (-counts[key], key))[:MAX_DRIVERS]
    if len(keep) < len(counts):  # complete cases are then over the kept drivers only
        tagged = _touchpoint_cases(organization, nps_responses, using, start, end, keep=keep)
    respondents = next(row[3] for row in tagged if row[0] == "n")
    csat_scale = survey_csat_scales(organization=organization, using=using)
    names = dict(
        Touchpoint.objects.using(using)
        .for_organization(organization)
        .filter(pk__in={touchpoint_id for touchpoint_id, _kind in keep})
        .values_list("pk", "name")
    )

    def key_of(touchpoint_id: int, kind: str) -> str:
        return f"t{touchpoint_id}_{kind}"

    nps_of: dict[int, float] = {}
    values: dict[str, dict[int, float]] = {key_of(*key): {} for key in keep}
    for tag, touchpoint_id, kind, customer_id, survey_id, score, nps_score in tagged:
        if tag != "c":
            continue
        scale_max = csat_scale.get(survey_id, 5) if kind == "csat" else 7 if kind == "ces" else 5
        values[key_of(touchpoint_id, kind)][customer_id] = 100.0 * (float(score) - 1) / (scale_max - 1)
        nps_of[customer_id] = float(nps_score)
    cases = pd.DataFrame({"nps": rescale(pd.Series(nps_of, dtype=float), 0, 10)})
    for key, by_customer in values.items():
        cases[key] = pd.Series(by_customer, dtype=float)
    drivers = [
        {
            "key": key_of(touchpoint_id, kind),
            "source": "touchpoint",
            "kind": kind,
            "touchpoint": int(touchpoint_id),
            "label": f"{names.get(touchpoint_id, touchpoint_id)} ({kind.upper()})",
            "scale": None,  # each answer was rescaled on its own survey's scale
        }
        for touchpoint_id, kind in keep
    ]
    return {
        "key": "touchpoints",
        "kind": "touchpoint",
        "label": "touchpoints",
        "respondents": int(respondents),
        **driver_analysis(cases, drivers),
    }


def _touchpoint_cases(
    organization: Organization,
    nps_responses: QuerySet[Any],
    using: str,
    start: Any,
    end: Any,
    keep: list[tuple[int, str]] | None,
) -> list[tuple[Any, ...]]:
    """One statement, rows tagged by their first column: ("k", touchpoint, kind, customers) per driver;
    ("n", -, -, respondents); ("c", touchpoint, kind, customer, survey, score, NPS score) for each answer
    of a complete case (a customer with a latest answer for every driver, or every kept one)."""
    inner_sql, inner_params = (
        nps_responses.filter(customer__isnull=False)
        .order_by()
        .values("customer_id", "survey_id", "score", "submitted_at", "id")
        .query.get_compiler(using=using)
        .as_sql()
    )
    table = connections[using].ops.quote_name(Response._meta.db_table)
    kinds = ", ".join(["%s"] * len(DRIVER_KINDS))
    kept, kept_params = "", []
    if keep:
        kept = " AND (" + " OR ".join(["(touchpoint_id = %s AND score_kind = %s)"] * len(keep)) + ")"
        kept_params = [value for key in keep for value in key]
    if connections[using].vendor == "postgresql":
        # DISTINCT ON: the planner estimates one row per customer and hash-joins; the ROW_NUMBER form
        # below was estimated at a few rows and run as a nested loop (3× slower at 1M responses).
        nps = f"""SELECT DISTINCT ON (q.customer_id) q.customer_id, q.survey_id, q.score FROM ({inner_sql}) q
    ORDER BY q.customer_id, q.submitted_at DESC, q.id DESC"""  # noqa: S608 (compiled by the ORM)
        latest_head = "SELECT DISTINCT ON (r.customer_id, r.touchpoint_id, r.score_kind)"
        latest_tail = "ORDER BY r.customer_id, r.touchpoint_id, r.score_kind, r.submitted_at DESC, r.id DESC"
        ranked = ("", "")
    else:
        nps = f"""SELECT customer_id, survey_id, score FROM (
    SELECT q.customer_id, q.survey_id, q.score,
           ROW_NUMBER() OVER (PARTITION BY q.customer_id ORDER BY q.submitted_at DESC, q.id DESC) AS rn
    FROM ({inner_sql}) q) ranked_nps WHERE rn = 1"""  # noqa: S608 (compiled by the ORM)
        latest_head = "SELECT customer_id, touchpoint_id, score_kind, survey_id, score FROM (SELECT"
        latest_tail = ""
        ranked = (
            """, ROW_NUMBER() OVER (PARTITION BY r.customer_id, r.touchpoint_id, r.score_kind
                              ORDER BY r.submitted_at DESC, r.id DESC) AS rn""",
            ") ranked WHERE rn = 1",
        )
    null = "CAST(NULL AS BIGINT)"  # typed: PostgreSQL resolves a UNION's column types from its first branch
    sql = f"""
WITH nps AS ({nps}),
latest AS (
  {latest_head} r.customer_id, r.touchpoint_id, r.score_kind, r.survey_id, r.score{ranked[0]}
    FROM {table} r JOIN nps n ON n.customer_id = r.customer_id
    WHERE r.organization_id = %s AND r.score_kind IN ({kinds}) AND r.score IS NOT NULL
      AND r.touchpoint_id IS NOT NULL AND r.submitted_at >= %s AND r.submitted_at < %s
      AND r.survey_id <> n.survey_id {latest_tail}{ranked[1]}),
keys AS (SELECT touchpoint_id, score_kind, COUNT(*) AS customers FROM latest GROUP BY touchpoint_id, score_kind),
complete AS (
  SELECT customer_id FROM latest WHERE 1 = 1{kept} GROUP BY customer_id
  HAVING COUNT(*) = {len(keep) if keep else "(SELECT COUNT(*) FROM keys)"})
SELECT 'k', touchpoint_id, score_kind, customers, {null}, {null}, {null} FROM keys
UNION ALL SELECT 'n', {null}, NULL, COUNT(*), {null}, {null}, {null} FROM nps
UNION ALL
SELECT 'c', l.touchpoint_id, l.score_kind, l.customer_id, l.survey_id, l.score, n.score
FROM latest l JOIN complete c ON c.customer_id = l.customer_id JOIN nps n ON n.customer_id = l.customer_id
WHERE 1 = 1{kept.replace("touchpoint_id", "l.touchpoint_id").replace("score_kind", "l.score_kind")}"""  # noqa: S608 (names from the models, values as parameters)
    params = [
        *inner_params,
        organization.pk,
        *DRIVER_KINDS,
        start,
        end,
        *kept_params,
        *kept_params,
    ]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]
