"""The analyser: language, tokens (jieba with the organization's dictionary for Chinese, words for
English), clause-level and comment-level sentiment from the shipped models (sentiment.py) plus an
organization's adaptation, and theme mentions carrying the sentiment of their clause.

Clauses: a comment is cut at punctuation and before contrast words (但是, 不过, but, however...). A clause
after a contrast word weighs more in the comment's sentiment, a concessive clause (虽然, although) less,
and a neutral clause barely at all, so "虽然贵但是好用" is positive and "物流很快但是东西坏了" negative."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from . import sentiment
from .features import detect_language as _detect_language
from .features import features as _features
from .types import (
    SENTIMENTS,
    Analysis,
    Clause,
    CorrectionExample,
    Language,
    Sentiment,
    Taxonomy,
    ThemeMention,
)

# Weight of the whole comment's probabilities against its clauses' (chosen on the validation split,
# bench/text_tune.py).
_WHOLE_WEIGHT = 0.5


def _model_version() -> str:
    """The weights' digest and the analyser's settings: changing either re-analyses stored comments."""
    settings = repr((sentiment.GUARD_WEIGHTS, sentiment.EN_NEUTRAL_BIAS, _WHOLE_WEIGHT)).encode()
    digest = hashlib.sha256(sentiment.MODEL_FILE.read_bytes() + settings).hexdigest()[:8]
    return f"cx-lr1-{digest}"


MODEL_VERSION = _model_version()

_CONTRAST_AFTER = ("但是", "可是", "不过", "然而", "只是", "就是", "但", "却")
_CONTRAST_BEFORE = ("虽然", "尽管", "虽说")
_BOUNDARY = re.compile(
    r"[,，.。!！?？;；:：\n、~～…|]+|\s+-\s+"
    r"|(?=但是|可是|不过|然而)"
    r"|(?<=[\u4e00-\u9fff])(?=但[\u4e00-\u9fff])"
    r"|(?=\b(?:but|however|although|though|whereas|except)\b)",
    re.I,
)
_EN_AFTER = re.compile(r"^\s*(?:but|however|yet|except)\b", re.I)
_EN_BEFORE = re.compile(r"^\s*(?:although|though|even though|while|whereas)\b", re.I)
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:\.\d+)?")
_HAS_WORD = re.compile(r"\w")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def detect_language(text: str) -> Language:
    return _detect_language(text)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------
# Adaptation


@dataclass
class Adaptation:
    """An organization's layer learnt from its corrections: per-feature offsets to the shipped model's
    three logits (negative, neutral, positive), fitted by L2-regularised logistic regression with the
    shipped model's output as a fixed offset. Features are the model's own (features.py). `bias` stays at
    zero when fitted (a few corrections of one kind must not tilt every comment); it is kept in the format."""

    weights: dict[str, list[float]] = field(default_factory=dict)
    bias: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    examples: int = 0

    FORMAT = 2

    @classmethod
    def fit(
        cls,
        examples: Sequence[CorrectionExample],
        *,
        l2: float = 0.1,
        iterations: int = 200,
    ) -> Adaptation:
        if not examples:
            return cls()
        texts = [example.text for example in examples]
        languages = [_language_of(example.text, example.language) for example in examples]
        base = np.log(np.clip(_comment_probabilities(texts, languages, None), 1e-6, 1.0))
        rows = [_normalised_features(text, language) for text, language in zip(texts, languages, strict=True)]
        vocabulary: dict[str, int] = {}
        for row in rows:
            for name in row:
                vocabulary.setdefault(name, len(vocabulary))
        matrix = np.zeros((len(rows), len(vocabulary)), dtype=np.float64)
        for index, row in enumerate(rows):
            for name, value in row.items():
                matrix[index, vocabulary[name]] = value
        target = np.zeros((len(rows), 3))
        for index, example in enumerate(examples):
            target[index, SENTIMENTS.index(example.sentiment)] = 1.0
        from scipy.optimize import minimize

        shape = (len(vocabulary), 3)

        def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
            weights = flat.reshape(shape)
            logits = base + matrix @ weights
            probabilities = sentiment.softmax(logits)
            value = -float((target * np.log(np.clip(probabilities, 1e-12, 1.0))).sum())
            value += 0.5 * l2 * float((weights * weights).sum())
            gradient = matrix.T @ (probabilities - target) + l2 * weights
            return value, gradient.ravel()

        fitted = minimize(
            loss, np.zeros(shape).ravel(), jac=True, method="L-BFGS-B", options={"maxiter": iterations}
        )
        weights = fitted.x.reshape(shape)
        bias = np.zeros(3)
        names = sorted(vocabulary, key=vocabulary.__getitem__)
        kept = {
            name: [round(float(value), 4) for value in weights[vocabulary[name]]]
            for name in names
            if np.abs(weights[vocabulary[name]]).max() >= 1e-3
        }
        return cls(weights=kept, bias=[round(float(value), 4) for value in bias], examples=len(rows))

    @property
    def version(self) -> str:
        if not self.weights and not any(self.bias):
            return "a0"
        digest = hashlib.sha256(self.to_json().encode()).hexdigest()[:10]
        return f"a{self.examples}-{digest}"

    def to_json(self) -> str:
        return json.dumps(
            {"format": self.FORMAT, "examples": self.examples, "bias": self.bias, "weights": self.weights},
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, data: str) -> Adaptation:
        loaded = json.loads(data)
        if not isinstance(loaded, dict):
            raise ValueError("an adaptation is a JSON object")
        if "format" not in loaded:  # the first format: {token: signed weight}
            return cls(weights={f"w:{k}": [-float(v), 0.0, float(v)] for k, v in loaded.items()})
        return cls(
            weights={str(k): [float(x) for x in v] for k, v in loaded.get("weights", {}).items()},
            bias=[float(x) for x in loaded.get("bias", [0.0, 0.0, 0.0])],
            examples=int(loaded.get("examples", 0)),
        )

    def offsets(self, text: str, language: str) -> np.ndarray:
        total = np.array(self.bias, dtype=np.float64)
        if self.weights:
            for name, value in _normalised_features(text, language).items():
                weight = self.weights.get(name)
                if weight is not None:
                    total += value * np.asarray(weight)
        return total


def measure_adaptation(examples: Sequence[CorrectionExample], *, folds: int = 5) -> dict[str, Any]:
    """An organization's own accuracy: k-fold over its corrections, the shipped model against the model
    with the layer fitted on the other folds. Accuracy = share of corrected comments labelled as corrected."""
    examples = list(examples)
    if len(examples) < folds:
        return {"examples": len(examples), "shipped": None, "adapted": None}
    shipped = adapted = 0
    texts = [example.text for example in examples]
    languages = [_language_of(example.text, example.language) for example in examples]
    base = _comment_probabilities(texts, languages, None)
    for fold in range(folds):
        test = [i for i in range(len(examples)) if i % folds == fold]
        train = [examples[i] for i in range(len(examples)) if i % folds != fold]
        layer = Adaptation.fit(train)
        probabilities = _comment_probabilities([texts[i] for i in test], [languages[i] for i in test], layer)
        for row, index in enumerate(test):
            wanted = examples[index].sentiment
            shipped += SENTIMENTS[int(base[index].argmax())] == wanted
            adapted += SENTIMENTS[int(probabilities[row].argmax())] == wanted
    return {
        "examples": len(examples),
        "shipped": round(shipped / len(examples), 4),
        "adapted": round(adapted / len(examples), 4),
    }


def _normalised_features(text: str, language: str) -> dict[str, float]:
    # Presence, unscaled: a word an organization corrected weighs the same in a short or a long comment.
    return dict.fromkeys(_features(text, "zh" if language == "zh" else "en"), 1.0)


# ---------------------------------------------------------------------------------------------------
# Sentiment of clauses and comments


class _LogitCache:
    """Shipped-model log-probabilities per (language, clause): comments repeat, and so do their clauses."""

    def __init__(self, size: int = 200_000) -> None:
        self.size = size
        self.items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def logits(self, keys: Sequence[tuple[str, str]]) -> list[np.ndarray]:
        missing: dict[str, list[str]] = {}
        for key in keys:
            if key not in self.items:
                missing.setdefault(key[0], []).append(key[1])
        for language, texts in missing.items():
            unique = list(dict.fromkeys(texts))
            rows = np.log(np.clip(sentiment.guarded_probabilities(unique, language), 1e-9, 1.0))
            for text, row in zip(unique, rows, strict=True):
                self.items[(language, text)] = row
        found = [self.items[key] for key in keys]
        while len(self.items) > self.size:
            self.items.popitem(last=False)
        return found


_CACHE = _LogitCache()


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    role: str  # "", "after" (but ...), "before" (although ...)
    language: str


def _language_of(text: str, hint: str | None) -> str:
    if hint in ("zh", "en"):
        return hint
    detected = _detect_language(text)
    return detected if detected != "other" else "en"


def _clause_spans(text: str, language: str) -> list[_Span]:
    spans: list[_Span] = []
    start = 0
    cuts = [(m.start(), m.end()) for m in _BOUNDARY.finditer(text)] + [(len(text), len(text))]
    for cut_start, cut_end in cuts:
        if cut_start > start:
            piece = text[start:cut_start]
            stripped = piece.strip()
            if stripped and _HAS_WORD.search(piece) or any(ch in piece for ch in sentiment_emoji()):
                lead = len(piece) - len(piece.lstrip())
                trail = len(piece) - len(piece.rstrip())
                role = ""
                if stripped.startswith(_CONTRAST_AFTER) or _EN_AFTER.match(stripped):
                    role = "after"
                elif stripped.startswith(_CONTRAST_BEFORE) or _EN_BEFORE.match(stripped):
                    role = "before"
                if _CJK.search(stripped):
                    clause_language = "zh"
                elif re.search(r"[A-Za-z]", stripped):
                    clause_language = "en"
                else:
                    clause_language = language
                spans.append(_Span(start + lead, cut_start - trail, role, clause_language))
        start = max(start, cut_end)
    if not spans:
        spans.append(_Span(0, len(text), "", language))
    # A concession ("虽然 A, B") makes the clause after it the point even without 但是.
    for index, span in enumerate(spans[:-1]):
        if span.role == "before" and spans[index + 1].role == "":
            spans[index + 1] = _Span(
                spans[index + 1].start, spans[index + 1].end, "after", spans[index + 1].language
            )
    return spans


@lru_cache(maxsize=1)
def sentiment_emoji() -> frozenset[str]:
    from .lexicon import EMOJI

    return frozenset(key for key in EMOJI if not key.isascii())


_ROLE_WEIGHT = {"": 1.0, "after": 2.0, "before": 0.5}


def _clause_probabilities(
    texts: Sequence[str], languages: Sequence[str], adaptation: Adaptation | None
) -> list[tuple[list[_Span], np.ndarray, np.ndarray | None]]:
    """Per text: its clauses, their probabilities and, for a text of several clauses, the probabilities
    of the whole text (the models were trained on whole comments; the clauses add contrast)."""
    spans_of = [_clause_spans(text, language) for text, language in zip(texts, languages, strict=True)]
    keys = [
        (span.language, text[span.start : span.end])
        for text, spans in zip(texts, spans_of, strict=True)
        for span in spans
    ]
    wholes = [
        (language, text)
        for text, language, spans in zip(texts, languages, spans_of, strict=True)
        if len(spans) > 1
    ]
    rows = _CACHE.logits(keys + wholes)
    whole_rows = iter(rows[len(keys) :])
    out: list[tuple[list[_Span], np.ndarray, np.ndarray | None]] = []
    position = 0
    for text, language, spans in zip(texts, languages, spans_of, strict=True):
        logits = np.array(rows[position : position + len(spans)], dtype=np.float64)
        if adaptation is not None:
            for index, span in enumerate(spans):
                logits[index] += adaptation.offsets(keys[position + index][1], span.language)
        position += len(spans)
        whole = None
        if len(spans) > 1:
            whole_logits = np.array(next(whole_rows), dtype=np.float64)
            if adaptation is not None:
                whole_logits = whole_logits + adaptation.offsets(text, language)
            whole = sentiment.softmax(whole_logits)
        out.append((spans, sentiment.softmax(logits), whole))
    return out


def _combine(
    spans: Sequence[_Span], probabilities: np.ndarray, whole: np.ndarray | None = None
) -> np.ndarray:
    weights = np.array(
        [
            _ROLE_WEIGHT[span.role] * (0.15 + 1.0 - row[1])
            for span, row in zip(spans, probabilities, strict=True)
        ]
    )
    combined = (probabilities * weights[:, None]).sum(axis=0) / weights.sum()
    if whole is not None:
        combined = (1 - _WHOLE_WEIGHT) * combined + _WHOLE_WEIGHT * whole
    return combined


def _comment_probabilities(
    texts: Sequence[str], languages: Sequence[str], adaptation: Adaptation | None
) -> np.ndarray:
    if not texts:
        return np.zeros((0, 3))
    return np.array(
        [
            _combine(spans, probs, whole)
            for spans, probs, whole in _clause_probabilities(texts, languages, adaptation)
        ]
    )


def _label(probabilities: np.ndarray, *, decisive: float = 1.0) -> tuple[Sentiment, float]:
    """The most probable label, except that a score at least `decisive` from zero keeps its sign: a
    comment's clauses pointing one way should not be outvoted by the neutral mass of the others."""
    score = float(probabilities[2] - probabilities[0])
    if abs(score) >= decisive:
        return ("positive" if score > 0 else "negative"), round(score, 4)
    return SENTIMENTS[int(probabilities.argmax())], round(score, 4)


# ---------------------------------------------------------------------------------------------------
# Tokens and themes


@lru_cache(maxsize=16)
def _tokenizer(dictionary: tuple[str, ...]) -> Any:
    import jieba

    jieba.setLogLevel(60)
    if not dictionary:
        jieba.initialize()
        return jieba.dt
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in dictionary:
        tokenizer.add_word(word, freq=max(tokenizer.suggest_freq(word, False), 10_000))
    return tokenizer


class _Segmenter:
    def __init__(self, dictionary: tuple[str, ...]) -> None:
        self.tokenizer = _tokenizer(dictionary)
        self.cut = lru_cache(maxsize=100_000)(self._cut)

    def _cut(self, text: str) -> tuple[str, ...]:
        return tuple(self.tokenizer.lcut(text))


def _pieces(text: str, language: str, segmenter: _Segmenter) -> tuple[str, ...]:
    """All pieces that cover the text (zh), to find token boundaries; words only for English."""
    if language == "zh" and _CJK.search(text):
        return segmenter.cut(text)
    return ()


_LATIN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class _PhraseIndex:
    """Phrases by their words (English: a tuple of lower-case words) or characters (Chinese)."""

    en: dict[tuple[str, ...], list[tuple[str, str]]]
    en_first: dict[str, int]  # a phrase's first word (or its singular) -> the longest phrase it starts
    zh: dict[str, list[tuple[str, str]]]
    zh_pattern: re.Pattern[str] | None

    @classmethod
    def build(cls, owners: dict[str, list[tuple[str, str]]]) -> _PhraseIndex:
        en: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        zh: dict[str, list[tuple[str, str]]] = {}
        for phrase, owned in owners.items():
            if _CJK.search(phrase):
                zh.setdefault(phrase.lower(), []).extend(owned)
            else:
                words = tuple(_LATIN_WORD.findall(phrase.lower()))
                if words:
                    en.setdefault(words, []).extend(owned)
        first: dict[str, int] = {}
        for words in en:
            first[words[0]] = max(first.get(words[0], 0), len(words))
        ordered = sorted(zh, key=len, reverse=True)
        return cls(
            en=en,
            en_first=first,
            zh=zh,
            zh_pattern=re.compile("|".join(map(re.escape, ordered))) if ordered else None,
        )

    def _english(self, key: tuple[str, ...]) -> list[tuple[str, str]] | None:
        owned = self.en.get(key)
        if owned is None and key[-1].endswith("s") and len(key[-1]) > 2:
            # An optional plural: "apps", "refunds"; "es" as in "boxes".
            owned = self.en.get((*key[:-1], key[-1][:-1]))
            if owned is None and key[-1].endswith("es"):
                owned = self.en.get((*key[:-1], key[-1][:-2]))
        return owned

    def find(self, lowered: str, pieces: tuple[str, ...]) -> list[tuple[int, int, tuple[str, str]]]:
        found: list[tuple[int, int, tuple[str, str]]] = []
        if self.en_first:
            words = _LATIN_WORD.findall(lowered)
            if words:
                spans = [(m.start(), m.end()) for m in _LATIN_WORD.finditer(lowered)]
                first = self.en_first
                for index, word in enumerate(words):
                    longest = first.get(word) or (first.get(word[:-1]) if word.endswith("s") else None)
                    if not longest:
                        continue
                    # The longest phrase of each theme starting here ("box was crushed" for one theme
                    # does not hide "box" of another).
                    seen: set[tuple[str, str]] = set()
                    for size in range(min(longest, len(words) - index), 0, -1):
                        owned = self._english(tuple(words[index : index + size]))
                        for owner in owned or ():
                            if owner[0] not in {theme for theme, _sub in seen}:
                                found.append((spans[index][0], spans[index + size - 1][1], owner))
                        seen.update(owned or ())
        if self.zh_pattern is not None and pieces:
            # A Chinese phrase starts or ends where a word of the segmentation does.
            boundaries = {0}
            offset = 0
            for piece in pieces:
                offset += len(piece)
                boundaries.add(offset)
            for match in self.zh_pattern.finditer(lowered):
                if match.start() in boundaries or match.end() in boundaries:
                    found.extend((match.start(), match.end(), owner) for owner in self.zh[match.group()])
        return found


@dataclass(frozen=True)
class _Matcher:
    phrases: _PhraseIndex
    exclusions: _PhraseIndex


def _normal(phrase: str) -> str:
    return " ".join(phrase.lower().split())


@lru_cache(maxsize=64)
def _matcher(taxonomy: Taxonomy) -> _Matcher:
    owners: dict[str, list[tuple[str, str]]] = {}
    excluded_by: dict[str, list[tuple[str, str]]] = {}
    for theme in taxonomy.themes:
        groups = [("", theme.phrases_en + theme.phrases_zh, theme.exclusions)] + [
            (sub.key, sub.phrases_en + sub.phrases_zh, sub.exclusions) for sub in theme.subthemes
        ]
        for subtheme, phrases, exclusions in groups:
            for phrase in phrases:
                if phrase.strip():
                    owners.setdefault(_normal(phrase), []).append((theme.key, subtheme))
            for exclusion in exclusions:
                if exclusion.strip():
                    excluded_by.setdefault(_normal(exclusion), []).append((theme.key, subtheme))
    return _Matcher(phrases=_PhraseIndex.build(owners), exclusions=_PhraseIndex.build(excluded_by))


# ---------------------------------------------------------------------------------------------------
# The analyser


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
        self.dictionary = tuple(sorted({word.strip() for word in dictionary if word.strip()}))
        self._segmenter = _Segmenter(self.dictionary)
        self._matcher = _matcher(taxonomy)

    @property
    def version(self) -> str:
        adaptation = self.adaptation.version if self.adaptation else "a0"
        version = f"{MODEL_VERSION}+{self.taxonomy.version}+{adaptation}"
        if self.dictionary:
            digest = hashlib.sha256("\n".join(self.dictionary).encode()).hexdigest()[:8]
            version += f"+d{digest}"
        return version

    def analyse(self, text: str, language: Language | None = None) -> Analysis:
        return self.analyse_many([text], [language])[0]

    def analyse_many(
        self, texts: Sequence[str], languages: Sequence[Language | None] | None = None
    ) -> list[Analysis]:
        hints = languages if languages is not None else [None] * len(texts)
        detected: list[Language] = [
            hint if hint in ("zh", "en", "other") else detect_language(text)  # type: ignore[misc]
            for text, hint in zip(texts, hints, strict=True)
        ]
        modelled = [_language_of(text, language) for text, language in zip(texts, detected, strict=True)]
        scored = _clause_probabilities(texts, modelled, self.adaptation)
        return [
            self._analysis(text, language, model_language, spans, probabilities, whole)
            for text, language, model_language, (spans, probabilities, whole) in zip(
                texts, detected, modelled, scored, strict=True
            )
        ]

    def _analysis(
        self,
        text: str,
        language: Language,
        model_language: str,
        spans: list[_Span],
        probabilities: np.ndarray,
        whole: np.ndarray | None,
    ) -> Analysis:
        clauses = []
        for span, row in zip(spans, probabilities, strict=True):
            label, score = _label(row)
            clauses.append(Clause(start=span.start, end=span.end, sentiment=label, score=score))
        label, score = (
            _label(_combine(spans, probabilities, whole), decisive=0.2) if text.strip() else ("neutral", 0.0)
        )
        pieces = _pieces(text, model_language, self._segmenter)
        if pieces:
            tokens = tuple(
                piece.lower() for piece in pieces if _HAS_WORD.search(piece) and not piece.isspace()
            )
        else:
            tokens = tuple(word.lower() for word in _WORD.findall(text))
        return Analysis(
            language=language,
            tokens=tokens,
            sentiment=label,
            score=score,
            clauses=tuple(clauses),
            themes=tuple(self._themes(text, pieces, clauses)),
        )

    def _themes(self, text: str, pieces: tuple[str, ...], clauses: list[Clause]) -> list[ThemeMention]:
        lowered = text.lower()
        if not pieces and _CJK.search(text):
            pieces = self._segmenter.cut(text)
        found = self._matcher.phrases.find(lowered, pieces)
        if not found:
            return []
        exclusions = self._matcher.exclusions.find(lowered, pieces)
        mentions: list[ThemeMention] = []
        for clause in clauses:
            excluded = {owner for start, _end, owner in exclusions if clause.start <= start < clause.end}
            best: dict[str, tuple[int, int, str, int, int]] = {}
            for start, end, (theme, subtheme) in found:
                if not clause.start <= start < clause.end:
                    continue
                if (theme, "") in excluded or (theme, subtheme) in excluded:
                    continue
                rank = (0 if subtheme else 1, start)
                if theme not in best or rank < best[theme][:2]:
                    best[theme] = (rank[0], start, subtheme, start, end)
            for theme, (_rank, _first, subtheme, start, end) in best.items():
                mentions.append(
                    ThemeMention(
                        theme=theme,
                        subtheme=subtheme,
                        phrase=text[start:end],
                        start=start,
                        end=end,
                        sentiment=clause.sentiment,
                        score=clause.score,
                    )
                )
        mentions.sort(key=lambda mention: (mention.start, mention.theme))
        return mentions


# ---------------------------------------------------------------------------------------------------
# Parallel analysis for backfills

_WORKER: Analyzer | None = None


def _init_worker(taxonomy: dict[str, Any], dictionary: tuple[str, ...], adaptation: str | None) -> None:
    global _WORKER
    _WORKER = Analyzer(
        taxonomy=Taxonomy.from_dict(taxonomy),
        dictionary=dictionary,
        adaptation=Adaptation.from_json(adaptation) if adaptation else None,
    )


def _work(batch: tuple[Sequence[str], Sequence[Language | None] | None]) -> list[Analysis]:
    assert _WORKER is not None
    return _WORKER.analyse_many(batch[0], batch[1])


def analyse_parallel_chunks(
    texts: Sequence[str],
    languages: Sequence[Language | None] | None = None,
    *,
    taxonomy: Taxonomy,
    dictionary: Sequence[str] = (),
    adaptation: Adaptation | None = None,
    processes: int | None = None,
    chunk_size: int = 2000,
) -> Iterator[list[Analysis]]:
    """Analyses in worker processes and yields the results chunk by chunk, in input order, so a backfill
    can write one chunk while the next is analysed. One process (or a small input) runs in this process."""
    processes = processes or os.cpu_count() or 1
    batches = [
        (texts[i : i + chunk_size], languages[i : i + chunk_size] if languages is not None else None)
        for i in range(0, len(texts), chunk_size)
    ]
    if processes <= 1 or len(batches) <= 1:
        analyzer = Analyzer(taxonomy=taxonomy, dictionary=dictionary, adaptation=adaptation)
        for batch_texts, batch_languages in batches:
            yield analyzer.analyse_many(batch_texts, batch_languages)
        return
    arguments = (taxonomy.as_dict(), tuple(dictionary), adaptation.to_json() if adaptation else None)
    with ProcessPoolExecutor(max_workers=processes, initializer=_init_worker, initargs=arguments) as pool:
        yield from pool.map(_work, batches)


def analyse_parallel(
    texts: Sequence[str], languages: Sequence[Language | None] | None = None, **options: Any
) -> list[Analysis]:
    """`analyse_parallel_chunks` (same keyword options) gathered into one list."""
    return [result for chunk in analyse_parallel_chunks(texts, languages, **options) for result in chunk]
