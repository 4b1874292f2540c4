"""Trains the shipped sentiment models offline and writes data/sentiment.npz.

    python -m feedback.text.train

One logistic regression per language over hashed features (features.py): three classes for English
(the VADER corpora carry neutral ratings), two for Chinese (the Chinese corpus is positive/negative; the
analyser derives neutral from a margin, see sentiment.py). The held-out 15 % and the cross-source corpora
are never seen here."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from .corpora import DATA, Example, training_corpus
from .corpora import is_held_out as held_out
from .sentiment import design

OUTPUT = DATA / "sentiment.npz"
C = {"en": 8.0, "zh": 8.0}  # chosen on the validation split (bench/text_tune.py)


def train(
    language: str, *, c: float | None = None, exclude: Callable[[Example], bool] = held_out
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Fits one language's model on its training corpus minus the examples `exclude` picks (the held-out
    split; bench/text_tune.py also leaves out the validation split it measures on)."""
    examples = [example for example in training_corpus(language) if not exclude(example)]
    matrix = design([example.text for example in examples], language)
    labels = np.array([example.label for example in examples])
    model = LogisticRegression(C=c or C[language], max_iter=2000, class_weight="balanced")
    model.fit(matrix, labels)
    coef = model.coef_.astype(np.float32)
    intercept = model.intercept_.astype(np.float32)
    classes = [str(label) for label in model.classes_]
    print(f"{language}: {len(examples)} examples, classes {classes}", file=sys.stderr)
    return coef, intercept, classes


def main(output: Path = OUTPUT) -> None:
    started = time.perf_counter()
    arrays: dict[str, np.ndarray] = {}
    for language in ("en", "zh"):
        coef, intercept, classes = train(language)
        arrays[f"{language}_coef"] = coef.astype(np.float16)
        arrays[f"{language}_intercept"] = intercept
        arrays[f"{language}_classes"] = np.array(classes)
    np.savez_compressed(output, **arrays)  # type: ignore[arg-type]
    print(f"wrote {output} in {time.perf_counter() - started:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)
