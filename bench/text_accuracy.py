"""Benchmark: accuracy of the shipped sentiment analysis, per language, on data it never trained on.

  held-out      the fixed 15 % of each training corpus that training never sees (corpora.is_held_out)
  cross-source  labelled comments from another source than the training data (corpora.cross_source_corpus):
                English product-review sentences, Chinese food-delivery reviews

Measured through the analyser itself (Analyzer.analyse_many with the default taxonomy), so clause
splitting, contrast weighting and the rule layer are part of what is measured. Figures:
  positive vs negative  comments labelled positive or negative (neutral left out): the share where the
                        score's sign (P(positive) - P(negative)) matches the label
  3-class macro-F1      negative / neutral / positive labels against the analyser's label, where the
                        corpus has neutral labels (English only; the Chinese corpora are two-class)

Writes the figures into feedback/text/model_card.json (the model card the pages show) unless --no-card.

Usage:
  .venv/bin/python bench/text_accuracy.py [--no-card]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feedback.text import MODEL_VERSION, Analyzer, default_taxonomy  # noqa: E402
from feedback.text.corpora import Example, cross_source_corpus, is_held_out, training_corpus  # noqa: E402
from feedback.text.model_card import update_model_card  # noqa: E402
from feedback.text.types import Language  # noqa: E402

LABELS = ("negative", "neutral", "positive")


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    scores = []
    for label in LABELS:
        true_positive = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        predicted_count = sum(p == label for p in predicted)
        gold_count = sum(g == label for g in gold)
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / gold_count if gold_count else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def measure(analyzer: Analyzer, examples: list[Example], language: str) -> dict[str, Any]:
    started = time.perf_counter()
    hints = cast("list[Language | None]", [language] * len(examples))
    results = analyzer.analyse_many([e.text for e in examples], hints)
    elapsed = time.perf_counter() - started
    polar = [(e, r) for e, r in zip(examples, results, strict=True) if e.label != "neutral"]
    correct = sum((r.score > 0) == (e.label == "positive") and r.score != 0 for e, r in polar)
    figures: dict[str, object] = {
        "comments": len(examples),
        "sources": sorted({e.source for e in examples}),
        "positive_vs_negative": round(correct / len(polar), 4) if polar else None,
        "polar_comments": len(polar),
    }
    if any(e.label == "neutral" for e in examples):
        figures["macro_f1_3class"] = round(
            macro_f1([e.label for e in examples], [r.sentiment for r in results]), 4
        )
    else:
        figures["macro_f1_3class"] = None
    figures["comments_per_second_single_process"] = round(len(examples) / elapsed)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-card", action="store_true", help="do not write feedback/text/model_card.json")
    options = parser.parse_args()
    analyzer = Analyzer(taxonomy=default_taxonomy())
    accuracy: dict[str, dict[str, dict[str, Any]]] = {}
    for language in ("en", "zh"):
        held_out = [e for e in training_corpus(language) if is_held_out(e)]
        accuracy[language] = {
            "held_out": measure(analyzer, held_out, language),
            "cross_source": measure(analyzer, cross_source_corpus(language), language),
        }
    print(json.dumps({"model_version": MODEL_VERSION, "accuracy": accuracy}, indent=2, ensure_ascii=False))
    print()
    print("| language | data | comments | positive vs negative | 3-class macro-F1 |")
    print("| --- | --- | ---: | ---: | ---: |")
    for language, parts in accuracy.items():
        for part, figures in parts.items():
            f1 = figures["macro_f1_3class"]
            print(
                f"| {language} | {part} ({', '.join(figures['sources'])}) | {figures['comments']} "
                f"| {figures['positive_vs_negative']} | {f1 if f1 is not None else 'n/a (two-class data)'} |"
            )
    if not options.no_card:
        update_model_card(accuracy=accuracy)


if __name__ == "__main__":
    main()
