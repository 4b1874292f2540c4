from __future__ import annotations

from typing import Any

from django import template

from surveys.scoring import CES_AGREE_MIN, csat_top_min, nps_category

register = template.Library()


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def score_class(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "nps":
        return {"promoter": "ok", "passive": "warn"}.get(nps_category(value) or "", "bad")
    if kind == "ces":
        return "ok" if value >= CES_AGREE_MIN else ("warn" if value == CES_AGREE_MIN - 1 else "bad")
    top = csat_top_min()
    return "ok" if value >= top else ("warn" if value == top - 1 else "bad")
