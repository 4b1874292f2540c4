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
"""

from .emerging import EmergingTerm, emerging_terms
from .engine import MODEL_VERSION, Adaptation, Analyzer
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
    "default_taxonomy",
    "emerging_terms",
]
