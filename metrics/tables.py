"""The tables of each dashboard, built from its snapshot payload: shown on the page and exported to
CSV/XLSX from the same rows, so the download always matches the screen."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

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
        result.append([str(label), *_score_cells(row)])
    return result


def _score_cells(row: dict[str, Any]) -> list[Any]:
    """NPS (n, score, interval), CSAT (n, %) and CES (n, mean) of one row, as the tables show them."""
    return [
        row["nps"]["n"],
        _r(row["nps"]["nps"]),
        _r(row["nps"]["ci_low"]),
        _r(row["nps"]["ci_high"]),
        row["csat"]["n"],
        _r(row["csat"]["csat"]),
        row["ces"]["n"],
        _r(row["ces"]["mean"], 2),
    ]


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
    from .dashboards import registry

    dashboard_entry = registry.get(dashboard)
    return dashboard_entry.tables(payload, currency) if dashboard_entry else []


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
