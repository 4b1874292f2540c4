"""Signals inside the loop app: cases and alerts tell the notification side what happened, and the
notification side renders and delivers it (inbox, email, chat robots) in each recipient's or
channel's language. Senders pass ids and facts, never rendered text.

`notification_requested` kwargs:
- organization_id: int
- kind: str, one of NOTIFICATION_KINDS
- user_ids: list[int], members to notify personally (inbox and email); may be empty
- facts: dict of JSON-safe values the message is rendered from, for example case_id, case_number,
  priority, due_at (ISO), customer_label, score, score_kind ("nps"/"csat"/"ces"), comment,
  survey_name, touchpoint_name, actor_name, note_excerpt, value (a string with its currency), and
  `path`: the page it links to (relative, e.g. "/cases/12/")
- channels: bool, whether the organization's chat channels subscribed to `kind` also get it
"""

from django.dispatch import Signal

NOTIFICATION_KINDS = (
    "case.created",
    "case.assigned",
    "case.escalated",
    "case.mentioned",
    "case.closed",
    "alert.matched",
)

notification_requested = Signal()
