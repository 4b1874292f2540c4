"""Template helpers of the text pages: highlighted search matches, sentiment and theme labels."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from feedback.models import SentimentLabel

register = template.Library()


def match_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Where the terms occur in the text (case-insensitive), overlapping matches merged."""
    lowered = text.lower()
    spans: list[tuple[int, int]] = []
    for term in {t.lower() for t in terms if t}:
        start = lowered.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = lowered.find(term, start + len(term))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@register.simple_tag
def highlight(text: Any, terms: list[str] | None) -> SafeString:
    """The text, HTML-escaped, with every match of the terms in <mark>."""
    text = str(text or "")
    parts: list[str] = []
    position = 0
    for start, end in match_spans(text, list(terms or [])):
        parts.append(escape(text[position:start]))
        parts.append(f"<mark>{escape(text[start:end])}</mark>")
        position = end
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308  (every piece escaped above)


@register.filter
def sentiment_label(value: str) -> str:
    return str(dict(SentimentLabel.choices).get(value, value or "—"))


@register.filter
def theme_label(key: str, names: dict[str, tuple[str, str]]) -> str:
    """A theme key's name in the active language (the key itself when the taxonomy lost it)."""
    pair = names.get(key)
    if not pair:
        return key
    return pair[1] if (get_language() or "").startswith("zh") else pair[0]


@register.filter
def percent(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.0f}%"


@register.filter
def signed(value: Any, digits: int = 2) -> str:
    return "—" if value is None else f"{float(value):+.{digits}f}"


@register.filter
def name_of(names: tuple[str, str] | list[str]) -> str:
    """(English, Chinese) → the name in the active language."""
    return names[1] if (get_language() or "").startswith("zh") else names[0]
