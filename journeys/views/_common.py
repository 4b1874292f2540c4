"""Helpers shared by the journey pages: scores on cards and permission checks."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cxm.tenancy.tenant import request_tenant, tenant_allows

MIN_N_FOR_COLOUR = 5


MIN_N_FOR_TREND = 30


def _tone(kind: str, value: float | None, n: int) -> str:
    """good / fair / poor colour of a card from its score (neutral below MIN_N_FOR_COLOUR answers)."""
    if value is None or n < MIN_N_FOR_COLOUR:
        return "neutral"
    good, fair = {"nps": (30, 0), "csat": (80, 60), "ces": (5.5, 4.5)}[kind]
    return "good" if value >= good else "fair" if value >= fair else "poor"


def _metric_rows(current: dict[str, Any] | None, previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not current:
        return rows
    previous = previous or {}
    specs = [
        ("nps", "NPS", current["nps"]["nps"], current["nps"]["n"], previous.get("nps") or {}, "nps"),
        (
            "csat",
            "CSAT",
            current["csat"]["top2_pct"],
            current["csat"]["n"],
            previous.get("csat") or {},
            "top2_pct",
        ),
        ("ces", "CES", current["ces"]["mean"], current["ces"]["n"], previous.get("ces") or {}, "mean"),
    ]
    for kind, label, value, n, before_scores, key in specs:
        if not n:
            continue
        before = before_scores.get(key) if before_scores.get("n") else None
        value = float(value) if value is not None else None
        delta = value - float(before) if value is not None and before is not None else None
        row: dict[str, Any] = {"kind": kind, "label": label, "value": value, "n": n, "delta": delta}
        # METRICS.md: with fewer than MIN_N_FOR_TREND answers on either side a change is not detectable.
        row["trend_reliable"] = n >= MIN_N_FOR_TREND and (before_scores.get("n") or 0) >= MIN_N_FOR_TREND
        row["tone"] = _tone(kind, value, n)
        if kind == "nps":
            ci_low, ci_high = current["nps"]["ci_low"], current["nps"]["ci_high"]
            row["margin"] = (ci_high - ci_low) / 2 if ci_low is not None and ci_high is not None else None
        row["display"] = f"{value:.1f}" if kind == "ces" else f"{value:.0f}" + ("%" if kind == "csat" else "")
        if delta is not None:
            row["delta_display"] = f"{delta:+.1f}" if kind == "ces" else f"{delta:+.0f}"
        rows.append(row)
    return rows


def _can(request: HttpRequest, permission: str) -> bool:
    return tenant_allows(request_tenant(request), permission)
