"""Money for people: one formatter for every page, export header and chart of an organization.

Amounts are in the organization's currency (METRICS.md: every sum of money is converted to it).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import translation

DEFAULT_CURRENCY = "USD"

# Symbols per language; a currency without one is written with its ISO code ("CHF 1,234.50").
# In English the yuan and the yen both need a prefix to be told apart, as in CLDR.
SYMBOLS: dict[str, dict[str, str]] = {
    "en": {"USD": "$", "CNY": "CN¥", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$", "TWD": "NT$"},
    "zh-hans": {"USD": "US$", "CNY": "¥", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$", "TWD": "NT$"},
}


def organization_currency(organization: Any) -> str:
    """The organization's ISO 4217 currency (Organization.currency), USD without an organization."""
    code = getattr(organization, "currency", "") if organization is not None else ""
    return str(code or DEFAULT_CURRENCY).upper()


def currency_symbol(currency: str, language: str | None = None) -> str:
    """The symbol to write before an amount ("¥"), or the code and a space ("CHF ")."""
    language = (language or translation.get_language() or "en").lower()
    table = SYMBOLS.get(language) or SYMBOLS.get(language.split("-")[0]) or SYMBOLS["en"]
    return table.get(currency.upper()) or f"{currency.upper()} "


def money_format(amount: Any, *, currency: str, decimals: int = 2, language: str | None = None) -> str:
    """`¥1,234.50`, `-$12.00`, `CHF 1,234.50`: the currency's symbol in the active language, digits
    grouped by thousands, `decimals` places. None or an empty value is an en dash."""
    if amount is None or amount == "":
        return "–"
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    if not value.is_finite():
        return "–"
    quantum = Decimal(1).scaleb(-decimals)
    value = value.quantize(quantum)
    # English and Simplified Chinese both group money by thousands with "," and use "." for decimals
    # (Django's zh_Hans number format does not group at all, which is wrong for money).
    digits = f"{abs(value):,.{decimals}f}"
    sign = "-" if value < 0 else ""
    return f"{sign}{currency_symbol(currency, language)}{digits}"


def money_label(label: str, *, currency: str) -> str:
    """A column header or chart axis title naming the currency: "Revenue (CNY)"."""
    return f"{label} ({currency.upper()})"
