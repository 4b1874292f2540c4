"""The default CX taxonomy a new organization starts from: twelve themes, each with sub-themes, Chinese
and English phrases and exclusions (data/default_taxonomy.json).

Matching (engine.py): English phrases match whole words (an optional plural "s"/"es"), so "app" never
matches "happy"; Chinese phrases match where a word of the segmentation starts or ends, so the
organization's dictionary words count; an exclusion found in a clause silences its theme (or sub-theme)
in that clause; each clause gives at most one mention per theme, the sub-theme when one matched."""

from __future__ import annotations

import json
from functools import lru_cache

from .corpora import DATA
from .types import Taxonomy


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    return Taxonomy.from_dict(json.loads((DATA / "default_taxonomy.json").read_text(encoding="utf-8")))
