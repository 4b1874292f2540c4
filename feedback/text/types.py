"""The values the analyser returns and the taxonomy it matches against (plain, frozen, JSON-friendly)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Sentiment = Literal["negative", "neutral", "positive"]
Language = Literal["zh", "en", "other"]
SENTIMENTS: tuple[Sentiment, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class Clause:
    """A clause of the comment: character offsets into the original text, its sentiment and score in [-1, 1]."""

    start: int
    end: int
    sentiment: Sentiment
    score: float


@dataclass(frozen=True, slots=True)
class ThemeMention:
    """A phrase of the taxonomy found in the comment, with the sentiment of the clause it is in."""

    theme: str
    subtheme: str  # "" when the phrase belongs to the theme itself
    phrase: str
    start: int
    end: int
    sentiment: Sentiment
    score: float


@dataclass(frozen=True, slots=True)
class Analysis:
    language: Language
    tokens: tuple[str, ...]
    sentiment: Sentiment
    score: float
    clauses: tuple[Clause, ...]
    themes: tuple[ThemeMention, ...]

    @property
    def search_text(self) -> str:
        """Tokens joined by spaces: what full-text search indexes (Chinese arrives segmented)."""
        return " ".join(self.tokens)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SubthemeSpec:
    key: str
    name_en: str
    name_zh: str
    phrases_en: tuple[str, ...] = ()
    phrases_zh: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ThemeSpec:
    key: str
    name_en: str
    name_zh: str
    phrases_en: tuple[str, ...] = ()
    phrases_zh: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    subthemes: tuple[SubthemeSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Taxonomy:
    themes: tuple[ThemeSpec, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"themes": [asdict(theme) for theme in self.themes]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Taxonomy:
        def subtheme(item: dict[str, Any]) -> SubthemeSpec:
            return SubthemeSpec(
                key=item["key"],
                name_en=item.get("name_en", item["key"]),
                name_zh=item.get("name_zh", item.get("name_en", item["key"])),
                phrases_en=tuple(item.get("phrases_en", ())),
                phrases_zh=tuple(item.get("phrases_zh", ())),
                exclusions=tuple(item.get("exclusions", ())),
            )

        return cls(
            themes=tuple(
                ThemeSpec(
                    key=item["key"],
                    name_en=item.get("name_en", item["key"]),
                    name_zh=item.get("name_zh", item.get("name_en", item["key"])),
                    phrases_en=tuple(item.get("phrases_en", ())),
                    phrases_zh=tuple(item.get("phrases_zh", ())),
                    exclusions=tuple(item.get("exclusions", ())),
                    subthemes=tuple(subtheme(sub) for sub in item.get("subthemes", ())),
                )
                for item in data.get("themes", ())
            )
        )

    @property
    def version(self) -> str:
        """A content hash: equal taxonomies share a version, any edit gives a new one."""
        canonical = json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class CorrectionExample:
    """A manager's correction of a comment's sentiment: the text and the label the model should have given."""

    text: str
    language: Language
    sentiment: Sentiment
