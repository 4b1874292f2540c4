"""A notification's words: rendered from its kind and facts in one language (the reader's, or the chat
channel's), with gettext under `translation.override`. Every channel (inbox, email, each chat robot)
formats the same `Message`, so the wording is written once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from ..models import NotificationKind

SCORE_KINDS = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
COMMENT_LIMIT = 500


@dataclass(frozen=True)
class Message:
    title: str
    summary: str
    details: list[tuple[str, str]] = field(default_factory=list)  # (label, value), in order
    comment: str = ""
    url: str = ""  # absolute, or "" when the facts have no path
    link_text: str = ""
    language: str = "en"


def _text(facts: dict[str, Any], key: str, limit: int = 200) -> str:
    value = facts.get(key)
    if value is None:
        return ""
    return str(value).strip()[:limit]


def _priority(value: str) -> str:
    names = {
        "low": pgettext("case priority", "Low"),
        "normal": pgettext("case priority", "Normal"),
        "medium": pgettext("case priority", "Normal"),
        "high": pgettext("case priority", "High"),
        "urgent": pgettext("case priority", "Urgent"),
    }
    return names.get(value.lower(), value)


def _when(value: str, time_zone: str) -> str:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value
    if at.tzinfo is not None:
        at = at.astimezone(ZoneInfo(time_zone))
    return at.strftime("%Y-%m-%d %H:%M") + (f" ({time_zone})" if at.tzinfo is not None else "")


def absolute_url(path: str) -> str:
    """An absolute link for a relative path of this site; anything else is not linked."""
    if not path or not path.startswith("/") or path.startswith("//"):
        return ""
    return settings.SITE_URL + path


def _title(kind: str, facts: dict[str, Any]) -> str:
    number = _text(facts, "case_number") or _text(facts, "case_id")
    case = f"#{number}" if number else ""
    actor = _text(facts, "actor_name")
    if kind == NotificationKind.CASE_CREATED:
        return _("New case %(case)s") % {"case": case}
    if kind == NotificationKind.CASE_ASSIGNED:
        assignee = _text(facts, "assignee_name")
        if assignee:
            return _("Case %(case)s assigned to %(assignee)s") % {"case": case, "assignee": assignee}
        return _("Case %(case)s assigned") % {"case": case}
    if kind == NotificationKind.CASE_ESCALATED:
        return _("Case %(case)s is overdue and was escalated") % {"case": case}
    if kind == NotificationKind.CASE_MENTIONED:
        if actor:
            return _("%(actor)s mentioned you in case %(case)s") % {"actor": actor, "case": case}
        return _("You were mentioned in case %(case)s") % {"case": case}
    if kind == NotificationKind.CASE_CLOSED:
        return _("Case %(case)s closed") % {"case": case}
    if kind == NotificationKind.ALERT_MATCHED:
        rule = _text(facts, "rule_name")
        if rule:
            return _("Alert: %(rule)s") % {"rule": rule}
        return _("An alert rule matched a response")
    if kind == "test":
        return _("Test message from cxm")
    return _("Notification")


def _summary(kind: str, facts: dict[str, Any]) -> str:
    customer = _text(facts, "customer_label")
    score = _score(facts)
    if kind == "test":
        return _("This channel is connected: notifications will arrive here.")
    if customer and score:
        return _("%(customer)s answered %(score)s.") % {"customer": customer, "score": score}
    if customer:
        return _("Customer: %(customer)s") % {"customer": customer}
    return ""


def _score(facts: dict[str, Any]) -> str:
    if facts.get("score") is None:
        return ""
    kind = SCORE_KINDS.get(_text(facts, "score_kind").lower(), _text(facts, "score_kind").upper())
    return f"{kind} {facts['score']}".strip()


def message_render(*, kind: str, facts: dict[str, Any], language: str, time_zone: str = "UTC") -> Message:
    """The message for `kind` and `facts`, written in `language` ("en" or "zh-hans")."""
    with translation.override(language):
        details: list[tuple[str, str]] = []
        for key, label in (
            ("customer_label", _("Customer")),
            ("score", _("Score")),
            ("priority", _("Priority")),
            ("due_at", _("Due")),
            ("survey_name", _("Survey")),
            ("touchpoint_name", _("Touchpoint")),
            ("value", _("Customer value")),
            ("actor_name", _("By")),
            ("note_excerpt", _("Note")),
        ):
            if key == "score":
                value = _score(facts)
            elif key == "priority":
                value = _priority(_text(facts, key))
            elif key == "due_at":
                value = _when(_text(facts, key), time_zone) if _text(facts, key) else ""
            else:
                value = _text(facts, key, 300)
            if value:
                details.append((label, value))
        url = absolute_url(_text(facts, "path", 500))
        return Message(
            title=_title(kind, facts),
            summary=_summary(kind, facts),
            details=details,
            comment=_text(facts, "comment", COMMENT_LIMIT),
            url=url,
            link_text=_("Open in cxm") if url else "",
            language=language,
        )


def message_plain_text(message: Message) -> str:
    """The message as plain text (email bodies, chat fallbacks)."""
    lines = [message.title]
    if message.summary:
        lines += ["", message.summary]
    if message.details:
        lines += [""] + [f"{label}: {value}" for label, value in message.details]
    if message.comment:
        lines += ["", f"“{message.comment}”"]
    if message.url:
        lines += ["", f"{message.link_text}: {message.url}"]
    return "\n".join(lines)
