"""The analyser. This first version is a small lexicon model with negation and contrast handling; it
keeps the contract of the package docstring so a better model can replace it without touching callers."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .types import (
    Analysis,
    Clause,
    CorrectionExample,
    Language,
    Sentiment,
    Taxonomy,
    ThemeMention,
)

MODEL_VERSION = "lexicon-0"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:\.\d+)?")
# Clause boundaries: punctuation, and contrast words that start a new clause.
_BOUNDARY = re.compile(
    r"[,，.。!！?？;；:：\n]+|(?=但是|可是|不过|然而)|(?=\bbut\b|\bhowever\b|\balthough\b)", re.I
)

_POSITIVE = {
    "en": {
        "good",
        "great",
        "fast",
        "quick",
        "love",
        "excellent",
        "friendly",
        "helpful",
        "easy",
        "nice",
        "happy",
    },
    "zh": {"好", "快", "很快", "满意", "喜欢", "不错", "热情", "方便", "专业", "棒", "好用"},
}
_NEGATIVE = {
    "en": {
        "bad",
        "slow",
        "broken",
        "rude",
        "terrible",
        "late",
        "expensive",
        "poor",
        "hate",
        "awful",
        "wrong",
    },
    "zh": {"坏", "坏了", "慢", "差", "贵", "失望", "糟糕", "破损", "不满", "麻烦", "太慢"},
}
_NEGATORS = {
    "en": {"not", "no", "never", "n't", "dont", "don't", "isn't", "wasn't"},
    "zh": {"不", "没", "没有", "别"},
}


def detect_language(text: str) -> Language:
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    if cjk == 0 and latin == 0:
        return "other"
    return "zh" if cjk >= latin / 4 else "en"


@dataclass
class Adaptation:
    """An organization's layer learnt from its corrections: token weights added to the shipped model's."""

    weights: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(cls, examples: Sequence[CorrectionExample]) -> Adaptation:
        weights: dict[str, float] = {}
        target = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
        for example in examples:
            for token in set(_tokens(example.text, example.language, None)):
                weights[token] = weights.get(token, 0.0) + target[example.sentiment]
        return cls(weights={token: max(-1.0, min(1.0, value)) for token, value in weights.items() if value})

    @property
    def version(self) -> str:
        return f"a{len(self.weights)}"

    def to_json(self) -> str:
        return json.dumps(self.weights, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, data: str) -> Adaptation:
        return cls(weights=json.loads(data))


def _tokens(text: str, language: Language, tokenizer: object | None) -> list[str]:
    if language == "zh" and _CJK.search(text):
        import jieba

        cutter = tokenizer if tokenizer is not None else jieba.dt
        return [token for token in cutter.lcut(text) if token.strip()]  # type: ignore[union-attr]
    return [token.lower() for token in _WORD.findall(text)]


class Analyzer:
    def __init__(
        self,
        *,
        taxonomy: Taxonomy,
        dictionary: Sequence[str] = (),
        adaptation: Adaptation | None = None,
    ) -> None:
        self.taxonomy = taxonomy
        self.adaptation = adaptation
        self.dictionary = tuple(dictionary)
        self._tokenizer: object | None = None
        if self.dictionary:
            import jieba

            tokenizer = jieba.Tokenizer()
            for word in self.dictionary:
                tokenizer.add_word(word)
            self._tokenizer = tokenizer

    @property
    def version(self) -> str:
        adaptation = self.adaptation.version if self.adaptation else "a0"
        return f"{MODEL_VERSION}+{self.taxonomy.version}+{adaptation}"

    def analyse(self, text: str, language: Language | None = None) -> Analysis:
        language = language or detect_language(text)
        clauses = [self._clause(text, start, end, language) for start, end in _clause_spans(text)]
        tokens = tuple(_tokens(text, language, self._tokenizer))
        scored = [clause for clause in clauses if clause.sentiment != "neutral"]
        score = sum(clause.score for clause in scored) / len(scored) if scored else 0.0
        return Analysis(
            language=language,
            tokens=tokens,
            sentiment=_label(score),
            score=round(score, 4),
            clauses=tuple(clauses),
            themes=tuple(self._themes(text, clauses)),
        )

    def analyse_many(
        self, texts: Sequence[str], languages: Sequence[Language | None] | None = None
    ) -> list[Analysis]:
        hints = languages if languages is not None else [None] * len(texts)
        return [self.analyse(text, hint) for text, hint in zip(texts, hints, strict=True)]

    def _clause(self, text: str, start: int, end: int, language: Language) -> Clause:
        tokens = _tokens(text[start:end], language, self._tokenizer)
        lexicon = "zh" if language == "zh" else "en"
        total = 0.0
        negate = False
        for token in tokens:
            value = 0.0
            if token in _POSITIVE[lexicon]:
                value = 1.0
            elif token in _NEGATIVE[lexicon]:
                value = -1.0
            if self.adaptation is not None:
                value += self.adaptation.weights.get(token, 0.0)
            if token in _NEGATORS[lexicon]:
                negate = True
                continue
            if value:
                total += -value if negate else value
                negate = False
        score = max(-1.0, min(1.0, total / 2))
        return Clause(start=start, end=end, sentiment=_label(score), score=round(score, 4))

    def _themes(self, text: str, clauses: list[Clause]) -> list[ThemeMention]:
        lowered = text.lower()
        mentions: list[ThemeMention] = []
        for theme in self.taxonomy.themes:
            groups = [("", theme.phrases_en + theme.phrases_zh, theme.exclusions)] + [
                (sub.key, sub.phrases_en + sub.phrases_zh, theme.exclusions + sub.exclusions)
                for sub in theme.subthemes
            ]
            for subtheme, phrases, exclusions in groups:
                if any(exclusion.lower() in lowered for exclusion in exclusions):
                    continue
                for phrase in phrases:
                    position = lowered.find(phrase.lower())
                    if position < 0:
                        continue
                    clause = next((c for c in clauses if c.start <= position < c.end), None)
                    mentions.append(
                        ThemeMention(
                            theme=theme.key,
                            subtheme=subtheme,
                            phrase=phrase,
                            start=position,
                            end=position + len(phrase),
                            sentiment=clause.sentiment if clause else "neutral",
                            score=clause.score if clause else 0.0,
                        )
                    )
                    break
        return mentions


def _clause_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.start() > start and text[start : match.start()].strip():
            spans.append((start, match.start()))
        start = max(start, match.end())
    if start < len(text) and text[start:].strip():
        spans.append((start, len(text)))
    return spans or [(0, len(text))]


def _label(score: float) -> Sentiment:
    if score > 0.05:
        return "positive"
    if score < -0.05:
        return "negative"
    return "neutral"
