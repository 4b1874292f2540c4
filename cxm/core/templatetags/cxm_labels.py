from __future__ import annotations

from typing import Any

from django import template

from cxm.core import labels

register = template.Library()


@register.filter
def language_label(code: Any) -> str:
    return labels.language_label(code)


@register.filter
def language_label_local(code: Any) -> str:
    return labels.language_label_local(code)
