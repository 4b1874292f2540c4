"""Offline text analysis of one comment at a time or in batches: language, tokens (Chinese word
segmentation with an organization dictionary, English tokenisation), sentiment for the whole comment and
per clause, theme mentions from a taxonomy with the sentiment of their clause, and emerging terms.

This package is pure computation: no models, no queries. The rest of the app stores and serves what it
returns. The contract:

- `Analyzer(taxonomy=..., dictionary=..., adaptation=...)` and its `analyse_many(texts, languages)`
  return one `Analysis` per text; `Analyzer.version` names the model, the taxonomy and the adaptation, so
  stored results can be told apart and re-analysed when it changes.
- `default_taxonomy()` is the taxonomy a new organization starts from; `Taxonomy.from_dict` /
  `as_dict` convert it to and from the JSON an organization stores.
- `Adaptation.fit(examples)` learns an organization's layer from its corrections.
- `emerging_terms(...)` compares term shares between two periods with a significance test.

Added since the first version (all optional for callers):
- `analyse_parallel(texts, languages, taxonomy=..., dictionary=..., adaptation=..., processes=...)` and
  `analyse_parallel_chunks(...)` (yields results chunk by chunk, in order) run the analysis in worker
  processes for backfills.
- `measure_adaptation(examples)` gives an organization's own accuracy from its corrections (k-fold:
  the shipped model against the model with its layer).
- `model_card()` returns the model card (models, data sources and licences, accuracy per language on
  held-out and cross-source data, throughput) that bench/text_accuracy.py and text_throughput.py write.
- `detect_language(text)`.

Models and data: see sentiment.py, lexicon.py, train.py and data/SOURCES.md. Nothing is downloaded or
trained at run time; the weights are loaded from data/sentiment.npz on first use.
"""

from .emerging import EmergingTerm, emerging_terms
from .engine import (
    MODEL_VERSION,
    Adaptation,
    Analyzer,
    analyse_parallel,
    analyse_parallel_chunks,
    detect_language,
    measure_adaptation,
)
from .model_card import model_card
from .taxonomy import default_taxonomy
from .types import Analysis, Clause, CorrectionExample, SubthemeSpec, Taxonomy, ThemeMention, ThemeSpec

__all__ = [
    "MODEL_VERSION",
    "Adaptation",
    "Analysis",
    "Analyzer",
    "Clause",
    "CorrectionExample",
    "EmergingTerm",
    "SubthemeSpec",
    "Taxonomy",
    "ThemeMention",
    "ThemeSpec",
    "analyse_parallel",
    "analyse_parallel_chunks",
    "default_taxonomy",
    "detect_language",
    "emerging_terms",
    "measure_adaptation",
    "model_card",
]
