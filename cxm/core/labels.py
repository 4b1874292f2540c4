"""Names of codes shown to people: a page says "Simplified Chinese" / "简体中文", never "zh-hans"."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import get_language_info


def language_label(code: Any) -> str:
    """The language's name in the active language; an unknown code is shown as it is, none as "—"."""
    if not code:
        return "—"
    names = dict(settings.LANGUAGES)
    return str(names[code]) if code in names else str(code)


def language_label_local(code: Any) -> str:
    """The language's name in itself (English, 简体中文): for switchers customers read."""
    try:
        return str(get_language_info(code)["name_local"])
    except KeyError:
        return str(code)
