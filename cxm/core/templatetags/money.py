"""`{% load money %}` then `{{ amount|money:organization }}` (or `|money:"CNY"`, `|money_whole:…`)."""

from __future__ import annotations

from typing import Any

from django import template

from cxm.core.money import money_format, organization_currency

register = template.Library()


def _currency(organization_or_code: Any) -> str:
    if isinstance(organization_or_code, str) and len(organization_or_code) == 3:
        return organization_or_code.upper()
    return organization_currency(organization_or_code)


@register.filter
def money(value: Any, organization_or_code: Any = None) -> str:
    """An amount with the organization's currency and two decimals."""
    return money_format(value, currency=_currency(organization_or_code))


@register.filter
def money_whole(value: Any, organization_or_code: Any = None) -> str:
    """An amount with the currency, rounded to whole units (KPI tiles)."""
    return money_format(value, currency=_currency(organization_or_code), decimals=0)


@register.inclusion_tag("includes/left_out.html", takes_context=True)
def left_out_note(context: Any, count: Any) -> dict[str, Any]:
    """`{% left_out_note n %}`: "n transactions in other currencies were left out (no exchange
    rate)" beside a sum of money when n > 0 (METRICS.md, Currency), with a link to the exchange
    rates for those who may set them."""
    from cxm.tenancy.tenant import request_tenant, tenant_allows

    try:
        n = int(count or 0)
    except (TypeError, ValueError):
        n = 0
    return {
        "count": n,
        "can_set_rates": tenant_allows(request_tenant(context.get("request")), "manage_organization"),
    }
