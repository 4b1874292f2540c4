from __future__ import annotations

from typing import Any

from django import template

from cxm.core.money import money_format
from cxm.core.templatetags.money import money as money_filter

register = template.Library()


@register.filter
def score(value: Any, digits: int = 1) -> str:
    """A number for a KPI tile: rounded, or an en dash when there is none."""
    if value is None or value == "":
        return "–"
    try:
        return f"{float(value):.{int(digits)}f}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def money(value: Any, organization_or_code: Any = None) -> str:
    """The one money format (cxm.core.money): `{{ amount|money:current_organization }}`."""

    return money_filter(value, organization_or_code)


@register.filter
def pct(value: Any) -> str:
    if value is None or value == "":
        return "–"
    return f"{100 * float(value):.1f}%"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.simple_tag
def table_html(table: Any) -> str:
    """A dashboard table as HTML in one pass (nested template loops were most of a page's time)."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    def cell_text(index: int, cell: Any) -> Any:
        if index in table.money_columns and table.currency:
            return money_format(cell, currency=table.currency)
        return cell

    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell_text(i, cell))}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return mark_safe(f'<table class="table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')  # noqa: S308
