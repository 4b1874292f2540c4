"""Pages: the builder and response list for managers; the link survey and unsubscribe for customers."""

from __future__ import annotations

from ._common import _filtered_responses, _link_context
from .builder import (
    STATUS_BADGE,
    _count,
    question_action,
    question_edit,
    survey_create,
    survey_duplicate,
    survey_edit,
    survey_list,
    survey_preview,
    survey_status,
)
from .distribution import survey_qr, survey_share
from .public import _form_answers, survey_link, survey_thanks, survey_unsubscribe
from .response_export import _Echo, _safe_cell, response_export
from .responses import response_detail, response_list

__all__ = [
    "STATUS_BADGE",
    "_Echo",
    "_count",
    "_filtered_responses",
    "_form_answers",
    "_link_context",
    "_safe_cell",
    "question_action",
    "question_edit",
    "response_detail",
    "response_export",
    "response_list",
    "survey_create",
    "survey_duplicate",
    "survey_edit",
    "survey_link",
    "survey_list",
    "survey_preview",
    "survey_qr",
    "survey_share",
    "survey_status",
    "survey_thanks",
    "survey_unsubscribe",
]
