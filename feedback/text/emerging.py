"""Emerging terms: words whose share of comments rises this period against the previous one, kept only
when a two-proportion z-test says the rise is significant."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EmergingTerm:
    term: str
    current_count: int
    previous_count: int
    current_share: float
    previous_share: float
    z: float
    p_value: float


def emerging_terms(
    *,
    current: Mapping[str, int],
    current_documents: int,
    previous: Mapping[str, int],
    previous_documents: int,
    min_count: int = 5,
    alpha: float = 0.05,
    limit: int = 50,
) -> list[EmergingTerm]:
    """`current`/`previous`: documents containing each term in each period (each comment counted once)."""
    if current_documents <= 0 or previous_documents <= 0:
        return []
    found: list[EmergingTerm] = []
    for term, count in current.items():
        if count < min_count:
            continue
        before = previous.get(term, 0)
        share_now = count / current_documents
        share_before = before / previous_documents
        pooled = (count + before) / (current_documents + previous_documents)
        spread = math.sqrt(pooled * (1 - pooled) * (1 / current_documents + 1 / previous_documents))
        if spread == 0 or share_now <= share_before:
            continue
        z = (share_now - share_before) / spread
        p_value = 0.5 * math.erfc(z / math.sqrt(2))  # one-sided: a rise
        if p_value < alpha:
            found.append(EmergingTerm(term, count, before, share_now, share_before, z, p_value))
    found.sort(key=lambda item: (-item.z, item.term))
    return found[:limit]
