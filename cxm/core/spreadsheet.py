"""Cells written to CSV and XLSX exports: text a spreadsheet must never run as a formula."""

from __future__ import annotations

import unicodedata
from typing import Any

# Spreadsheet apps run a cell starting with one of these as a formula (tab and CR: some apps strip
# them first and then see the next character).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: Any) -> Any:
    """`value`, or a text prefixed with ' when it would start a formula. Compatibility forms count
    (a full-width ＝ or ＋ is normalised to = or + by some spreadsheet apps), as does leading
    whitespace before one of them."""
    if not isinstance(value, str) or not value:
        return value
    head = unicodedata.normalize("NFKC", value[:8]).lstrip(" \u00a0\n")
    if value[:1] in FORMULA_STARTS or head[:1] in FORMULA_STARTS:
        return "'" + value
    return value
