"""The tables of each dashboard, built from its snapshot payload: shown on the page and exported to
CSV/XLSX from the same rows, so the download always matches the screen."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from cxm.core.labels import language_label
from cxm.core.money import money_label
from cxm.core.spreadsheet import formula_safe
from journeys.models import Channel

from .computations.segments import LIFECYCLE_STAGES, RFM_SEGMENTS, VALUE_TIERS

SEGMENT_LABELS = {
    "champions": pgettext_lazy("rfm segment", "Champions"),
    "loyal": pgettext_lazy("rfm segment", "Loyal"),
    "potential_loyalist": pgettext_lazy("rfm segment", "Potential loyalist"),
    "new": pgettext_lazy("rfm segment", "New"),
    "promising": pgettext_lazy("rfm segment", "Promising"),
    "need_attention": pgettext_lazy("rfm segment", "Need attention"),
    "about_to_sleep": pgettext_lazy("rfm segment", "About to sleep"),
    "at_risk": pgettext_lazy("rfm segment", "At risk"),
    "cannot_lose": pgettext_lazy("rfm segment", "Can't lose them"),
    "hibernating": pgettext_lazy("rfm segment", "Hibernating"),
    "lost": pgettext_lazy("rfm segment", "Lost"),
}
TIER_LABELS = {
    "high": pgettext_lazy("value tier", "High"),
    "medium": pgettext_lazy("value tier", "Medium"),
    "low": pgettext_lazy("value tier", "Low"),
}
LIFECYCLE_LABELS = {
    "potential": pgettext_lazy("lifecycle stage", "Potential"),
    "new": pgettext_lazy("lifecycle stage", "New"),
    "active": pgettext_lazy("lifecycle stage", "Active"),
    "at_risk": pgettext_lazy("lifecycle stage", "At risk"),
    "churned": pgettext_lazy("lifecycle stage", "Churned"),
}
CATEGORY_LABELS = {
    "promoter": gettext_lazy("Promoters"),
    "passive": gettext_lazy("Passives"),
    "detractor": gettext_lazy("Detractors"),
}


def channel_label(code: Any) -> str:
    """A touchpoint channel's name in the active language (codes never reach the page)."""
    return str(dict(Channel.choices).get(code, code)) if code else "—"


@dataclass
class Table:
    name: str
    title: str
    headers: list[str]
    rows: list[list[Any]]
    # Columns holding amounts in `currency`: the page formats them as money, exports keep numbers
    # and name the currency in the header.
    money_columns: tuple[int, ...] = ()
    currency: str = ""
    # Transactions left out of those amounts for lack of an exchange rate (said under the table).
    left_out: int = 0


def _money_header(label: str, currency: str) -> str:
    return money_label(label, currency=currency) if currency else label


def _r(value: Any, digits: int = 1) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, digits)
    return value


def _pct(value: Any) -> Any:
    return "" if value is None else round(100 * value, 1)


def _score_rows(rows: list[dict[str, Any]], label_of: Any = None) -> list[list[Any]]:
    result = []
    for row in rows:
        label = (
            row.get("label")
            if row.get("label") is not None
            else (row.get("key") if row.get("key") not in (None, "") else "—")
        )
        if label_of:
            label = label_of(label)
        result.append(
            [
                str(label),
                row["nps"]["n"],
                _r(row["nps"]["nps"]),
                _r(row["nps"]["ci_low"]),
                _r(row["nps"]["ci_high"]),
                row["csat"]["n"],
                _r(row["csat"]["csat"]),
                row["ces"]["n"],
                _r(row["ces"]["mean"], 2),
            ]
        )
    return result


def _score_headers(first: str) -> list[str]:
    return [
        first,
        _("NPS n"),
        "NPS",
        _("NPS low (95%)"),
        _("NPS high (95%)"),
        _("CSAT n"),
        "CSAT %",
        _("CES n"),
        _("CES mean"),
    ]


def tables_for(dashboard: str, payload: dict[str, Any], currency: str = "") -> list[Table]:
    """The dashboard's tables; amounts are in `currency` (the organization's)."""
    if not payload:
        return []
    if dashboard == "overview":
        trend = [
            [
                row["period"],
                row["nps"]["n"],
                _r(row["nps"]["nps"]),
                _r(row["nps"]["ci_low"]),
                _r(row["nps"]["ci_high"]),
                row["csat"]["n"],
                _r(row["csat"]["csat"]),
                row["ces"]["n"],
                _r(row["ces"]["mean"], 2),
            ]
            for row in payload["trend"]
        ]
        return [
            Table("trend", _("Scores over time"), _score_headers(_("Period")), trend),
            Table(
                "by_survey", _("By survey"), _score_headers(_("Survey")), _score_rows(payload["by_survey"])
            ),
            Table(
                "by_locale",
                _("By language"),
                _score_headers(_("Language")),
                _score_rows(payload["by_locale"], language_label),
            ),
            Table(
                "comments",
                _("Latest comments"),
                [_("Submitted"), _("Survey"), _("Score type"), _("Score"), _("Comment")],
                [
                    [c["submitted_at"], c["survey__name"], c["score_kind"].upper(), c["score"], c["comment"]]
                    for c in payload["comments"]
                ],
            ),
        ]
    if dashboard == "journey":
        rows = []
        for stage in payload["stages"]:
            for tp in stage["touchpoints"]:
                scores = tp["scores"] or {}
                nps = scores.get("nps") or {}
                csat = scores.get("csat") or {}
                ces = scores.get("ces") or {}
                rows.append(
                    [
                        stage["name"],
                        tp["name"],
                        channel_label(tp["channel"]),
                        tp["interactions"],
                        tp["customers"],
                        nps.get("n", 0),
                        _r(nps.get("nps")),
                        csat.get("n", 0),
                        _r(csat.get("csat")),
                        ces.get("n", 0),
                        _r(ces.get("mean"), 2),
                    ]
                )
        return [
            Table(
                "touchpoints",
                _("Stages and touchpoints"),
                [
                    _("Stage"),
                    _("Touchpoint"),
                    _("Channel"),
                    _("Interactions"),
                    _("Customers"),
                    _("NPS n"),
                    "NPS",
                    _("CSAT n"),
                    "CSAT %",
                    _("CES n"),
                    _("CES mean"),
                ],
                rows,
            ),
            Table(
                "by_channel",
                _("By channel"),
                _score_headers(_("Channel")),
                _score_rows(payload["by_channel"], channel_label),
            ),
        ]
    if dashboard == "retention":
        offsets = max((len(c["retention"]) for c in payload["cohorts"]), default=0)
        cohort_rows = [
            [
                c["cohort"],
                c["size"],
                *[_pct(cell["rate"]) for cell in c["retention"]],
                *[""] * (offsets - len(c["retention"])),
            ]
            for c in payload["cohorts"]
        ]
        return [
            Table(
                "cohorts",
                _("Cohort retention (%)"),
                [_("Cohort"), _("Customers"), *[f"M{k}" for k in range(offsets)]],
                cohort_rows,
            ),
            Table(
                "retention_trend",
                _("Retention and churn by month"),
                [
                    _("From"),
                    _("To"),
                    _("Active at start"),
                    _("Active at end"),
                    _("Retained"),
                    _("Churned"),
                    _("New"),
                    _("Reactivated"),
                    _("Retention %"),
                    _("Churn %"),
                ],
                [
                    [
                        r["start"],
                        r["end"],
                        r["active_at_start"],
                        r["active_at_end"],
                        r.get("retained"),
                        r["churned"],
                        r["new"],
                        r.get("reactivated"),
                        _pct(r["retention_rate"]),
                        _pct(r["churn_rate"]),
                    ]
                    for r in payload["trend"]
                ],
            ),
        ]
    if dashboard == "value":
        money = payload["monetized_nps"]
        return [
            Table(
                "tiers",
                _("Value tiers"),
                [
                    _("Tier"),
                    _("Customers"),
                    _money_header(_("Historical value"), currency),
                    _money_header(_("Predicted CLV"), currency),
                ],
                [
                    [
                        str(TIER_LABELS.get(t["tier"], t["tier"])),
                        t["customers"],
                        _r(t["historical_value"], 2),
                        _r(t["predicted_clv"], 2),
                    ]
                    for t in payload["tiers"]
                ],
                money_columns=(2, 3),
                currency=currency,
                left_out=int(payload.get("transactions_left_out") or 0),
            ),
            Table(
                "segments",
                _("RFM segments"),
                [_("Segment"), _("Customers"), _money_header(_("Historical value"), currency)],
                [
                    [
                        str(SEGMENT_LABELS.get(s["segment"], s["segment"])),
                        s["customers"],
                        _r(s["historical_value"], 2),
                    ]
                    for s in payload["segments"]
                ],
                money_columns=(2,),
                currency=currency,
                left_out=int(payload.get("transactions_left_out") or 0),
            ),
            Table(
                "monetized_nps",
                _("Monetized NPS (%(days)s days after the response)") % {"days": money["days"]},
                [
                    _("Category"),
                    _("Customers"),
                    _money_header(_("Revenue per customer"), currency),
                    _("Repeat purchase %"),
                ],
                [
                    [
                        str(CATEGORY_LABELS[r["category"]]),
                        r["customers"],
                        _r(r["revenue_per_customer"], 2),
                        _pct(r["repeat_purchase_rate"]),
                    ]
                    for r in money["table"]
                ],
                money_columns=(2,),
                currency=currency,
                left_out=int(money.get("transactions_left_out") or 0),
            ),
            Table(
                "lifecycle",
                _("Lifecycle stages by month end"),
                [_("Date"), *[str(LIFECYCLE_LABELS[s]) for s in ("new", "active", "at_risk", "churned")]],
                [
                    [r["date"], r["new"], r["active"], r["at_risk"], r["churned"]]
                    for r in payload["lifecycle_history"]
                ],
            ),
        ]
    if dashboard == "drivers":
        labels = {a["key"]: a["label"] for a in payload.get("analyses", [])}
        if "touchpoints" in labels:
            labels["touchpoints"] = str(
                _("Touchpoint scores from other surveys (per customer, latest answers)")
            )
        return [
            Table(
                "drivers",
                _("Key drivers"),
                [
                    _("Analysis"),
                    _("Driver"),
                    _("Relative weight"),
                    _("Importance %"),
                    _("Correlation"),
                    _("Performance (0–100)"),
                    "n",
                ],
                [
                    [
                        labels.get(d.get("analysis"), ""),
                        d["label"],
                        _r(d.get("relative_weight"), 4),
                        _r(d["importance"]),
                        _r(d["correlation"], 2),
                        _r(d["performance_pct"]),
                        d["n"],
                    ]
                    for d in payload["drivers"]
                ],
            )
        ]
    return []


def table_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_safe_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


_safe_cell = formula_safe  # spreadsheets never run a cell as a formula


def table_xlsx(table: Table) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.name[:31])
    sheet.append(table.headers)
    for row in table.rows:
        sheet.append([_safe_cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


__all__ = [
    "LIFECYCLE_STAGES",
    "RFM_SEGMENTS",
    "VALUE_TIERS",
    "Table",
    "tables_for",
    "table_csv",
    "table_xlsx",
]
