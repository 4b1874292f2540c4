"""Survey content in several languages: picking a language, and the one-click templates."""

from __future__ import annotations

from typing import Any

from .models import QuestionKind

SUPPORTED_LANGUAGES = ("en", "zh-hans")


def normalise_language(code: str | None) -> str:
    code = (code or "").strip().lower().replace("_", "-")
    if code in {"zh", "zh-cn", "zh-sg", "zh-hans", "zh-hans-cn"}:
        return "zh-hans"
    if code.startswith("zh"):
        return "zh-hans"
    return code.split("-")[0] if code else ""


def pick_language(candidates: list[str], languages: list[str], default: str) -> str:
    """The first candidate the survey speaks, else its default language."""
    spoken = languages or [default]
    for candidate in candidates:
        lang = normalise_language(candidate)
        if lang in spoken:
            return lang
    return default if default in spoken else spoken[0]


def localised(content: dict[str, str] | str | None, language: str, default: str = "en") -> str:
    if not content:
        return ""
    if isinstance(content, str):
        return content
    return content.get(language) or content.get(default) or next(iter(content.values()), "")


# One-click templates: the standard wording, and a "why?" follow-up that depends on the score.
TEMPLATES: dict[str, dict[str, Any]] = {
    "nps": {
        "name": {"en": "Net Promoter Score", "zh-hans": "净推荐值调查"},
        "questions": [
            {
                "kind": QuestionKind.NPS,
                "required": True,
                "text": {
                    "en": "How likely are you to recommend us to a friend or colleague?",
                    "zh-hans": "您有多大可能向朋友或同事推荐我们？",
                },
            },
            {
                "kind": QuestionKind.TEXT,
                "show_if": {"min": 0, "max": 6},
                "text": {
                    "en": "Sorry to hear that. What went wrong?",
                    "zh-hans": "很抱歉。哪些地方让您不满意？",
                },
            },
            {
                "kind": QuestionKind.TEXT,
                "show_if": {"min": 7, "max": 8},
                "text": {
                    "en": "What would make it a 10 for you?",
                    "zh-hans": "我们怎样做才能让您打 10 分？",
                },
            },
            {
                "kind": QuestionKind.TEXT,
                "show_if": {"min": 9, "max": 10},
                "text": {"en": "Great! What did you like most?", "zh-hans": "太好了！您最喜欢哪一点？"},
            },
        ],
        "thank_you": {"en": "Thank you for your feedback!", "zh-hans": "感谢您的反馈！"},
    },
    "csat": {
        "name": {"en": "Customer satisfaction", "zh-hans": "客户满意度调查"},
        "questions": [
            {
                "kind": QuestionKind.CSAT,
                "required": True,
                "text": {
                    "en": "How satisfied were you with your experience?",
                    "zh-hans": "您对本次体验的满意程度如何？",
                },
            },
            {
                "kind": QuestionKind.TEXT,
                "text": {"en": "Why did you give this score?", "zh-hans": "您为什么给出这个评分？"},
            },
        ],
        "thank_you": {"en": "Thank you for your feedback!", "zh-hans": "感谢您的反馈！"},
    },
    "ces": {
        "name": {"en": "Customer effort", "zh-hans": "客户费力度调查"},
        "questions": [
            {
                "kind": QuestionKind.CES,
                "required": True,
                "text": {
                    "en": "The company made it easy for me to handle my issue.",
                    "zh-hans": "公司让我能够轻松地解决我的问题。",
                },
            },
            {
                "kind": QuestionKind.TEXT,
                "text": {"en": "Why did you give this score?", "zh-hans": "您为什么给出这个评分？"},
            },
        ],
        "thank_you": {"en": "Thank you for your feedback!", "zh-hans": "感谢您的反馈！"},
    },
}

# Scale end labels shown under a score row, per kind.
SCALE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "nps": {"en": ("Not at all likely", "Extremely likely"), "zh-hans": ("完全不可能", "极有可能")},
    "csat": {"en": ("Very dissatisfied", "Very satisfied"), "zh-hans": ("非常不满意", "非常满意")},
    "ces": {"en": ("Strongly disagree", "Strongly agree"), "zh-hans": ("非常不同意", "非常同意")},
    "rating": {"en": ("Poor", "Excellent"), "zh-hans": ("很差", "极好")},
}


def scale_labels(kind: str, language: str) -> tuple[str, str]:
    labels = SCALE_LABELS.get(kind, {})
    return labels.get(language) or labels.get("en") or ("", "")
