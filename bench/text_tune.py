"""Chooses the sentiment analyser's settings on the validation split, never on the held-out split.

For each language and each candidate regularisation C, trains the model on the training corpus minus the
held-out and the validation splits (corpora.is_held_out, corpora.is_validation), then measures the
analyser on the validation split with each candidate weighting of the rule guard
(sentiment.GUARD_WEIGHTS) English neutral bias (sentiment.EN_NEUTRAL_BIAS) and weight of the whole comment against its
clauses (engine._WHOLE_WEIGHT), the way bench/text_accuracy.py measures (positive vs negative accuracy,
3-class macro-F1 where the corpus has neutral labels). The chosen values are then written into
train.C, sentiment.GUARD_WEIGHTS and sentiment.EN_NEUTRAL_BIAS, engine._WHOLE_WEIGHT by hand, and the shipped model trained with
`python -m feedback.text.train` (everything but the held-out split).

Usage:
  nice -n 5 .venv/bin/python bench/text_tune.py [--languages en zh] [--c 2 4 8]
      [--guards 0.7,0.45,0.2 0.5,0.25,0] [--neutral-bias -0.3 0 0.3] [--whole-weight 0.5 0.7]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from text_accuracy import measure  # noqa: E402

from feedback.text import Analyzer, default_taxonomy, engine, sentiment  # noqa: E402
from feedback.text.corpora import is_held_out, is_validation, training_corpus  # noqa: E402
from feedback.text.train import train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--languages", nargs="+", default=["en", "zh"])
    parser.add_argument("--c", nargs="+", type=float, default=[2.0, 4.0, 8.0])
    parser.add_argument("--guards", nargs="+", default=["0.7,0.45,0.2", "0.5,0.25,0", "0.3,0.1,0", "0,0,0"])
    parser.add_argument(
        "--whole-weight",
        nargs="+",
        type=float,
        default=[engine._WHOLE_WEIGHT],
        help="weight of the whole comment against its clauses (engine._WHOLE_WEIGHT)",
    )
    parser.add_argument(
        "--neutral-bias", nargs="+", type=float, default=[0.0], help="English neutral logit offsets"
    )
    options = parser.parse_args()
    shipped = sentiment.load()
    analyzer = Analyzer(taxonomy=default_taxonomy())
    print(
        "| language | C | guard weights | neutral bias | whole weight | positive vs negative | 3-class macro-F1 |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for language in options.languages:
        validation = [e for e in training_corpus(language) if is_validation(e)]
        for c in options.c:
            coef, intercept, classes = train(
                language, c=c, exclude=lambda e: is_held_out(e) or is_validation(e)
            )
            models = dict(shipped)
            models[language] = sentiment.LinearModel(coef=coef, intercept=intercept, classes=tuple(classes))
            sentiment.load = lambda path=None, models=models: models  # type: ignore[assignment,misc]
            for guard in options.guards:
                for bias, whole in [
                    (b, w)
                    for b in (options.neutral_bias if language == "en" else [0.0])
                    for w in options.whole_weight
                ]:
                    engine._WHOLE_WEIGHT = whole
                    sentiment.GUARD_WEIGHTS = tuple(float(x) for x in guard.split(","))  # type: ignore[assignment]
                    sentiment.EN_NEUTRAL_BIAS = bias
                    engine._CACHE.items.clear()
                    figures = measure(analyzer, validation, language)
                    print(
                        f"| {language} | {c:g} | {guard} | {bias:g} | {whole:g} | {figures['positive_vs_negative']} "
                        f"| {figures['macro_f1_3class']} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
