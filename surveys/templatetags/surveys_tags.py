from __future__ import annotations

from typing import Any

from django import template

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
        return "ok" if value >= 9 else ("warn" if value >= 7 else "bad")
    if kind == "ces":
        return "ok" if value >= 5 else ("warn" if value == 4 else "bad")
    return "ok" if value >= 4 else ("warn" if value == 3 else "bad")
